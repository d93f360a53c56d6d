"""The SDK's files: the last good state, a journal of the deltas since, and the bundle pack.

``fallback_path`` (say ``.promptctl/snapshot.json``) holds a full state document whose
entries also say where their bundles are in the pack (``"at"``); beside it,
``<name>.journal`` holds one delta per line (appended and fsynced as each change arrives) and
``<name>.pack`` the bundles (:class:`promptctl.bundle_store.Pack`). Each write is atomic in
the order that keeps the three consistent: bundles first (appended, fsynced), then the
delta that uses them (one appended line; a torn last line is ignored when read back), and the
full state only by write-to-temp-and-rename. Loading applies the journal's deltas to the
state; every bundle is checked against its fingerprint when read, so bytes that a crash or
anyone else damaged are refused, never served.

The journal keeps a change O(change) on disk: rewriting the whole state for every change
would cost the SDK O(prompts) per change. It is folded into the state file once it has
grown past half the state's size (so the rewrites cost O(1) per change on average).

Pure standard library: the SDK imports it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from promptctl.atomic_file import sync_folder, write_atomically
from promptctl.bundle_store import DEFAULT_BUDGET_BYTES, BundleStore, Pack
from promptctl.errors import NotFoundError, ValidationError
from promptctl.failpoints import armed, crash_point
from promptctl.state import State, entry_json, raw_fingerprints
from promptctl.state_entries import MARK, pack, packed_spans, unpack

__all__ = ["StateFiles", "load_state_file"]

MIN_JOURNAL_FOLD_BYTES = 256 * 1024


class StateFiles:
    """The state file at ``path`` and the journal and pack beside it."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.journal = self.path.with_name(self.path.name + ".journal")
        self.pack_path = self.path.with_name(self.path.name + ".pack")

    def exists(self) -> bool:
        return self.path.is_file()

    def open_store(self, budget_bytes: int = DEFAULT_BUDGET_BYTES) -> BundleStore:
        return BundleStore(Pack(self.pack_path), budget_bytes=budget_bytes)

    # -- reading ------------------------------------------------------------------------------

    def load(self, store: BundleStore) -> State:
        """The state as last persisted: the state file plus the journal's deltas.

        A format-1 snapshot file (bundles inline) is read too, with no journal or pack.
        """
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise NotFoundError(f"cannot read snapshot {self.path}: {exc.strerror}") from None
        state = State.parse(data, store, legacy=True)
        for delta in self._journal_deltas():
            with contextlib.suppress(ValidationError):  # a gap or a stale line: skip it
                state.apply(delta)
        return state

    def _journal_deltas(self) -> list[Mapping[str, Any]]:
        try:
            lines = self.journal.read_bytes().split(b"\n")
        except OSError:
            return []
        deltas: list[Mapping[str, Any]] = []
        for line in lines:
            try:
                delta = json.loads(line)
            except ValueError:
                continue  # the torn end of a write a crash interrupted
            if isinstance(delta, dict):
                deltas.append(delta)
        return deltas

    # -- writing ------------------------------------------------------------------------------

    def write_full(self, state: State, store: BundleStore) -> None:
        """Persist ``state`` whole (bundles first) and start an empty journal."""
        store.persist()
        entries = [(name, _locate(dict(entry), store) if isinstance(entry, dict)
                    else _locate_raw(entry, store)) for name, entry in state.raw_entries()]
        write_atomically(self.path, state.to_json(entries))
        with contextlib.suppress(FileNotFoundError):
            self.journal.unlink()

    def append(self, delta: Mapping[str, Any], state: State, store: BundleStore) -> None:
        """Persist one applied delta (bundles first); fold the journal when it is long.

        Durable and in order: the new bundles are appended to the pack and fsynced, then
        the delta's line is appended to the journal and fsynced (and the folder, when the
        journal is new), so a crash at any point leaves the previous state or the new one
        (a torn last line is skipped when read back). The fsyncs cost the thread that
        follows the server wall time, not CPU: well under a millisecond of it per change."""
        store.persist(sync=True)
        crash_point("state-files.after-pack")  # fault tests: bundles in, delta not yet
        changes = {name: None if entry is None else _locate(dict(entry), store)
                   for name, entry in delta["changes"].items()}
        line = json.dumps({**delta, "changes": changes}, separators=(",", ":")).encode()
        created = not self.journal.exists()
        # One write: a crash leaves a whole line or a torn one, which load() skips.
        fd = os.open(self.journal, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            if armed("state-files.torn-journal"):  # fault tests: half a line, then die
                os.write(fd, line[:len(line) // 2])
                crash_point("state-files.torn-journal")
            end = os.fstat(fd).st_size
            if end and os.pread(fd, 1, end - 1) != b"\n":  # a torn line a crash left
                line = b"\n" + line
            os.write(fd, line + b"\n")
            os.fsync(fd)
            size = os.fstat(fd).st_size
        finally:
            os.close(fd)
        if created:
            sync_folder(self.journal.parent)
        try:
            base = self.path.stat().st_size
        except OSError:
            base = 0
        if size > max(MIN_JOURNAL_FOLD_BYTES, base // 2):
            self.write_full(state, store)


def _locate_raw(raw: bytes, store: BundleStore) -> bytes:
    """:func:`_locate` on an entry not parsed yet, without parsing it when it can be helped."""
    if raw[0] == MARK:  # packed: unpacked only when the pack has a bundle it does not place
        if all(store.where(fp) in (None, span) for fp, span in packed_spans(raw)):
            return raw
        located = _locate(unpack(raw), store)
        return pack(located) or entry_json(located)
    where = {}
    for fp in raw_fingerprints(raw):
        at = store.where(fp)
        if at is not None and b'"' + fp.encode() + b'":[' not in raw:
            where[fp] = list(at)
    if not where:
        return raw
    if b'"at":' in raw:
        return entry_json(_locate(json.loads(raw), store))
    return raw[:-1] + b',"at":' + json.dumps(where, separators=(",", ":")).encode() + b"}"


def _locate(entry: dict[str, Any], store: BundleStore) -> dict[str, Any]:
    """Record in ``entry`` where the pack holds each of its bundles."""
    where = dict(entry.get("at") or {})
    for fp in entry["fingerprints"].values():
        at = store.where(fp)
        if at is not None:
            where[fp] = list(at)
    if where:
        entry["at"] = where
    return entry


def load_state_file(path: str | os.PathLike[str],
                    budget_bytes: int = DEFAULT_BUDGET_BYTES) -> tuple[State, BundleStore]:
    """The state at ``path`` (a state file with its journal and pack, or a format-1 file)."""
    files = StateFiles(path)
    if not files.exists():
        raise NotFoundError(f"cannot read snapshot {files.path}: No such file or directory")
    pack_exists = files.pack_path.is_file()
    store = files.open_store(budget_bytes) if pack_exists else BundleStore(
        budget_bytes=budget_bytes)
    return files.load(store), store

