"""Released bundles by fingerprint: verified bytes, in memory and in a pack file on disk.

A released bundle never changes, and its fingerprint is the SHA-256 of its canonical JSON,
so the fingerprint is both its name and its checksum. Every bundle that comes in, from the
server or from disk, is hashed before use: bytes that do not match the fingerprint they are
supposed to have are refused (and the SDK fetches them again), so a corrupted file, a torn
write or a tampering proxy can never make an app render the wrong prompt.

On disk the bundles live in one append-only *pack* file (each bundle's bytes and a newline);
a state entry records where its bundles are (``"at": {fingerprint: [offset, length]}``), so
a process started from its files reads a bundle on the prompt's first ``get()`` and no
index has to be loaded first. In memory, the store keeps the bundles in use (``ReleasedBundle``
objects holding their bytes) and, for bundles not on disk, their bytes; ``retain()`` drops
what the current state no longer serves once the store holds more than ``budget_bytes``, and
never a bundle that is still served.

Pure standard library: the SDK imports it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from promptctl.errors import NotFoundError, ValidationError
from promptctl.snapshot import ReleasedBundle

__all__ = ["DEFAULT_BUDGET_BYTES", "BundleStore", "Pack", "ServerPack", "fingerprint_of"]

DEFAULT_BUDGET_BYTES = 64 * 1024 * 1024


def fingerprint_of(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


class Pack:
    """An append-only file of bundles (several processes may append to one)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)

    def append(self, raws: list[bytes], sync: bool = True) -> list[tuple[int, int]]:
        """Write ``raws`` at the end (one write, fsynced with ``sync``); their
        ``(offset, length)``.

        The file is opened ``O_APPEND``, so one ``write`` lands whole at the end even when
        another process appends too; where it landed is read back from the descriptor's
        position after it, so no lock is needed.
        """
        out, spans = bytearray(), []
        for raw in raws:
            spans.append((len(out), len(raw)))
            out += raw + b"\n"
        written = os.write(self._fd, out)
        if written != len(out):
            raise OSError(f"short write to {self.path}")
        start = os.lseek(self._fd, 0, os.SEEK_CUR) - len(out)
        if sync:
            os.fsync(self._fd)
        return [(start + offset, length) for offset, length in spans]

    def read(self, offset: int, length: int) -> bytes:
        return os.pread(self._fd, length, offset)

    @property
    def size(self) -> int:
        return os.fstat(self._fd).st_size

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


class ServerPack:
    """The server's bundle bytes on disk: a :class:`Pack` plus an offset index beside it.

    The server computes each bundle once (releases are immutable) and keeps its bytes here
    rather than in memory, so its memory does not grow with the prompts it serves; a
    small in-memory cache sits in front (``promptctl.api.states``). The index
    (``<pack>.idx``, one ``fingerprint offset length`` line per bundle, appended after the
    bundle) is read at start, so the bundles survive a restart. Nothing here is trusted:
    :meth:`get` hashes what it reads and forgets an entry that does not match (a torn
    write, a damaged disk), and the caller computes that bundle again. Each replica keeps
    its own pack (bundles are content-addressed: nothing to coordinate); two processes
    appending to one pack only duplicate an entry.
    """

    def __init__(self, path: Path) -> None:
        self.pack = Pack(path)
        self.index_path = path.with_name(path.name + ".idx")
        self._at: dict[str, tuple[int, int]] = {}
        self._read_index()
        self._index_fd = os.open(self.index_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                                 0o644)
        self.refused = 0  # entries whose bytes did not match their fingerprint

    def _read_index(self) -> None:
        try:
            lines = self.index_path.read_bytes().split(b"\n")
        except OSError:
            return
        size = self.pack.size
        for line in lines:
            parts = line.split()
            if len(parts) != 3 or len(parts[0]) != 64:
                continue  # a torn last line
            with contextlib.suppress(ValueError):
                offset, length = int(parts[1]), int(parts[2])
                if offset >= 0 and length > 0 and offset + length <= size:
                    self._at[parts[0].decode()] = (offset, length)

    def __contains__(self, fingerprint: str) -> bool:
        return fingerprint in self._at

    def __len__(self) -> int:
        return len(self._at)

    def put(self, items: dict[str, bytes]) -> None:
        """Append the bundles not in the pack yet (one write each for pack and index;
        not fsynced: every read is verified, and a lost one is computed again)."""
        todo = [(fp, raw) for fp, raw in items.items() if fp not in self._at]
        if not todo:
            return
        spans = self.pack.append([raw for _, raw in todo], sync=False)
        lines = b"".join(f"{fp} {offset} {length}\n".encode()
                         for (fp, _), (offset, length) in zip(todo, spans, strict=True))
        os.write(self._index_fd, lines)
        for (fp, _), span in zip(todo, spans, strict=True):
            self._at[fp] = span

    def get(self, fingerprint: str) -> bytes | None:
        """The verified bytes of ``fingerprint``, or None (not here, or damaged)."""
        span = self._at.get(fingerprint)
        if span is None:
            return None
        try:
            raw = self.pack.read(*span)
        except OSError:
            raw = b""
        if fingerprint_of(raw) != fingerprint:
            self.refused += 1
            del self._at[fingerprint]  # computed again, appended anew
            return None
        return raw

    def close(self) -> None:
        self.pack.close()
        with contextlib.suppress(OSError):
            os.close(self._index_fd)


class BundleStore:
    """Bundles by fingerprint, each verified against it before anyone uses it."""

    def __init__(self, pack: Pack | None = None, *,
                 budget_bytes: int = DEFAULT_BUDGET_BYTES) -> None:
        self.pack = pack
        self.budget_bytes = budget_bytes
        self._raw: dict[str, bytes] = {}  # bytes not (yet) in the pack
        self._where: dict[str, tuple[int, int]] = {}  # appended to the pack by this process
        self._bundles: dict[str, ReleasedBundle] = {}  # handed out to a state
        self._docs: dict[str, dict[str, Any]] = {}  # inline bundles not verified yet
        self.refused = 0  # bundles whose bytes did not match their fingerprint

    # -- putting bundles in -------------------------------------------------------------------

    def add(self, raws: Iterable[bytes], wanted: Iterable[str] | None = None) -> list[str]:
        """Keep each of ``raws`` under its own fingerprint; returns the fingerprints kept.

        With ``wanted``, bytes whose fingerprint is not one of them are refused: that is
        how a tampered bundle shows (its hash names nothing that was asked for).
        """
        allowed = set(wanted) if wanted is not None else None
        kept = []
        for raw in raws:
            fp = fingerprint_of(raw)
            if allowed is not None and fp not in allowed:
                self.refused += 1
                continue
            self._raw.setdefault(fp, raw)
            kept.append(fp)
        return kept

    def add_dict(self, fingerprint: str, data: dict[str, Any]) -> None:
        """Keep a bundle given as a document (a format-1 snapshot carries them inline),
        verified against ``fingerprint`` when it is first used."""
        if not self.has(fingerprint):
            self._docs[fingerprint] = data

    def _from_doc(self, fingerprint: str) -> bytes | None:
        data = self._docs.pop(fingerprint, None)
        if data is None:
            return None
        from promptctl.canonical import canonical_json

        try:
            raw = canonical_json(data)
        except (TypeError, ValueError):
            raw = b""
        if fingerprint_of(raw) != fingerprint:
            self.refused += 1
            raise ValidationError(f"bundle {fingerprint[:12]} does not match its "
                                  "fingerprint: refused")
        self._raw[fingerprint] = raw
        return raw

    def persist(self, sync: bool = True) -> None:
        """Append the bundles held only in memory to the pack (one write, fsynced with
        ``sync``: a change's new bundle is not, see ``state_files``)."""
        if self.pack is None:
            return
        for fp in list(self._docs):
            with contextlib.suppress(ValidationError):
                self._from_doc(fp)
        todo = [(fp, raw) for fp, raw in self._raw.items() if fp not in self._where]
        if not todo:
            return
        for (fp, _), where in zip(todo, self.pack.append([raw for _, raw in todo], sync),
                                  strict=True):
            self._where[fp] = where
        for fp, _ in todo:  # on disk now: the bytes in use live on in their ReleasedBundle
            self._raw.pop(fp, None)

    def where(self, fingerprint: str) -> tuple[int, int] | None:
        """Where this process put ``fingerprint`` in the pack, if it did."""
        return self._where.get(fingerprint)

    # -- getting bundles out ------------------------------------------------------------------

    def has(self, fingerprint: str) -> bool:
        """Held in memory or appended by this process (a file's bundles: see verify())."""
        return (fingerprint in self._bundles or fingerprint in self._raw
                or fingerprint in self._where or fingerprint in self._docs)

    def verify(self, fingerprint: str, where: Any) -> bool:
        """Whether the pack holds ``fingerprint``'s bytes at ``where``; if so, note it."""
        raw = self._read(where)
        if raw is None or fingerprint_of(raw) != fingerprint:
            return False
        self._where[fingerprint] = (int(where[0]), int(where[1]))
        return True

    def bundle(self, fingerprint: str, where: Any = None) -> ReleasedBundle:
        """The verified bundle ``fingerprint`` names, from memory or from the pack."""
        bundle = self._bundles.get(fingerprint)
        if bundle is not None:
            return bundle
        raw = self._raw.get(fingerprint) or self._from_doc(fingerprint)
        if raw is None:
            raw = self._read(self._where.get(fingerprint) or where)
            if raw is None:
                raise NotFoundError(f"bundle {fingerprint[:12]} is not in the bundle store")
            if fingerprint_of(raw) != fingerprint:
                self.refused += 1
                self._where.pop(fingerprint, None)
                raise ValidationError(f"bundle {fingerprint[:12]} on disk does not match its "
                                      "fingerprint: refused")
        bundle = self._bundles.setdefault(fingerprint, ReleasedBundle(fingerprint, raw=raw))
        return bundle

    def raw(self, fingerprint: str) -> bytes | None:
        """The verified bytes of ``fingerprint`` (the server sends these), or None."""
        bundle = self._bundles.get(fingerprint)
        if bundle is not None and bundle.raw is not None:
            return bundle.raw
        raw = self._raw.get(fingerprint)
        if raw is None:
            raw = self._read(self._where.get(fingerprint))
            if raw is not None and fingerprint_of(raw) != fingerprint:
                return None
        return raw

    def _read(self, where: Any) -> bytes | None:
        if self.pack is None or not where:
            return None
        try:
            offset, length = int(where[0]), int(where[1])
            return self.pack.read(offset, length) if offset >= 0 and length > 0 else None
        except (OSError, TypeError, ValueError, IndexError):
            return None

    # -- bounding memory ----------------------------------------------------------------------

    @property
    def bytes_in_memory(self) -> int:
        held = {fp: len(b.raw or b"") for fp, b in self._bundles.items()}
        held.update((fp, len(raw)) for fp, raw in self._raw.items())
        return sum(held.values())

    def retain(self, served: set[str]) -> int:
        """Drop bundles no longer ``served`` while the store holds more than its budget.

        Served bundles are never dropped, so a swap never recompiles (or refetches) a
        bundle the current state uses. Returns how many bundles were dropped.
        """
        dropped = 0
        total = self.bytes_in_memory
        for fp in [fp for fp in {*self._bundles, *self._raw} if fp not in served]:
            if total <= self.budget_bytes:
                break
            bundle, raw = self._bundles.pop(fp, None), self._raw.pop(fp, None)
            total -= len(raw or (bundle.raw if bundle else None) or b"")
            dropped += 1  # still in the pack if it was there; else fetched again if needed
        return dropped

    def close(self) -> None:
        if self.pack is not None:
            self.pack.close()


def missing(store: BundleStore, fingerprints: Iterable[str]) -> list[str]:
    return sorted(fp for fp in set(fingerprints) if not store.has(fp))
