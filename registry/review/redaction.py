"""Redact every secret from a review report before any renderer sees it.

The report is plain data; this walks all of it (template diff lines, changed
values and keys, reasons, findings, and any field added later) and replaces
each secret with its redacted form, so text, markdown and JSON, and so the PR
comment and the job summary, never repeat a secret. It is the single point
where changed text enters the output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, is_dataclass, replace
from typing import Any, TypeVar

from promptctl.loader import Located
from promptctl.review.secrets import find_secrets, redact

T = TypeVar("T")
# Hex digests and commit ids: never secrets, and their exact text is the schema.
_VERBATIM = frozenset({"content_hash", "fingerprint", "old_fingerprint", "new_fingerprint",
                       "commit"})


def secret_parts(items: list[Located]) -> list[str]:
    """Every secret (and each line of a multi-line one) found in ``items``."""
    return [part for item in items for secret in find_secrets(item) for part in secret.parts()]


def redact_report(report: T, known: list[str]) -> T:
    """A copy of ``report`` with every string redacted (``known``: secrets found in context)."""
    cache: dict[str, str] = {}

    def text(value: str) -> str:
        if value not in cache:
            cache[value] = redact(value, known)
        return cache[value]

    redacted: T = _walk(report, text)
    return redacted


def _walk(value: Any, text: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return text(value)
    if isinstance(value, list):
        return [_walk(v, text) for v in value]
    if isinstance(value, tuple):
        return tuple(_walk(v, text) for v in value)
    if isinstance(value, dict):
        return {_walk(k, text): _walk(v, text) for k, v in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _walk(getattr(value, f.name), text) for f in fields(value)
                   if f.init and f.name not in _VERBATIM}
        return replace(value, **changes)
    return value
