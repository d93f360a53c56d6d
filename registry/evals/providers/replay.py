"""The ``replay`` provider: recorded answers keyed by (bundle fingerprint, case hash), for
deterministic offline CI. A case without a recording raises
:class:`promptctl.errors.MissingRecording`: the run fails, it never passes silently.

Recordings are JSONL, one answer a line, written by ``promptctl eval run --record FILE``:
``{"fingerprint": ..., "case_hash": ..., "case": ..., "response": {...}}``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any

from promptctl.atomic_file import write_atomically
from promptctl.errors import MissingRecording, UsageError
from promptctl.evals.providers.base import ProviderRequest, ProviderResponse


def _key(fingerprint: str, case_hash: str) -> str:
    return f"{fingerprint}:{case_hash}"


def read_recordings(path: Path) -> tuple[dict[str, dict[str, Any]], str]:
    """The recordings in ``path`` by key, and the file's SHA-256."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read recordings {path}: {exc.strerror}") from None
    out: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out[_key(row["fingerprint"], row["case_hash"])] = row["response"]
        except (ValueError, KeyError, TypeError):
            raise UsageError(f"{path} line {number} is not a recording "
                             "({fingerprint, case_hash, response})") from None
    return out, hashlib.sha256(data).hexdigest()


class ReplayProvider:
    type = "replay"
    cacheable = False

    def __init__(self, target: str, settings: dict[str, Any] | None = None,
                 base: Path | None = None) -> None:
        path = Path(target)
        self.path = path if path.is_absolute() or base is None else base / path
        self.target = target
        self.settings = dict(settings or {})
        self.recordings, self.sha256 = read_recordings(self.path)

    def identity(self) -> dict[str, Any]:
        return {"type": self.type, "target": self.target, "recordings_sha256": self.sha256}

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        found = self.recordings.get(_key(request.fingerprint, request.case_hash))
        if found is None:
            raise MissingRecording(
                f"no recording of case {request.case!r} for fingerprint "
                f"{request.fingerprint[:12]} in {self.target}: record it from a real provider "
                "(`promptctl eval run` can write recordings)")
        return ProviderResponse.from_dict(found)


class Recorder:
    """Collects a run's answers and writes them as a recordings file (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._rows: dict[str, str] = {}
        self._lock = threading.Lock()

    def add(self, request: ProviderRequest, response: ProviderResponse) -> None:
        row = {"fingerprint": request.fingerprint, "case_hash": request.case_hash,
               "case": request.case, "response": response.to_dict() | {"raw": None}}
        with self._lock:
            self._rows[_key(request.fingerprint, request.case_hash)] = json.dumps(
                row, sort_keys=True)

    def save(self) -> None:
        existing: dict[str, str] = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                    existing[_key(row["fingerprint"], row["case_hash"])] = line
                except (ValueError, KeyError, TypeError):
                    continue
        merged = existing | self._rows
        write_atomically(self.path, ("\n".join(merged[k] for k in sorted(merged)) + "\n").encode())
