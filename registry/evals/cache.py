"""The response cache: an unchanged bundle (and the baseline) costs nothing to re-run.

Answers are keyed by (bundle fingerprint, case hash, provider identity): a new template,
model parameter, tool or provider setting is a new key, and changing only assertions
reuses the answers. One small JSON file per answer under ``.promptctl/eval-cache/``,
written to a temp file and renamed, so concurrent runs never read half an entry.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from promptctl.canonical import sha256_hex
from promptctl.evals.providers.base import ProviderResponse


def cache_key(fingerprint: str, case_hash: str, provider: dict[str, Any]) -> str:
    return sha256_hex({"fingerprint": fingerprint, "case": case_hash, "provider": provider})


class ResponseCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> ProviderResponse | None:
        try:
            data = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        try:
            return ProviderResponse.from_dict(data)
        except (TypeError, ValueError, KeyError):
            return None

    def put(self, key: str, response: ProviderResponse) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(response.to_dict() | {"raw": None}).encode()
        fd, tmp = tempfile.mkstemp(prefix=".", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
