"""Canonical JSON and hashing: the same content gives the same bytes everywhere.

Fingerprints and content hashes are compared across machines and Python
versions, so the encoding is fixed: sorted keys, no insignificant whitespace,
UTF-8, and no NaN/Infinity (which JSON cannot carry portably).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    """Encode ``value`` as canonical JSON bytes."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_hex(value: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``value``."""
    return hashlib.sha256(canonical_json(value)).hexdigest()
