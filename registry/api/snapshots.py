"""Snapshots per environment, built once per change and shared by every request."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cached_property

from registry.resolver import Snapshot, build_snapshot, snapshot_etag
from registry.store import Store


@dataclass(frozen=True)
class CachedSnapshot:
    env: str
    change_id: int
    body: bytes  # the JSON document as served

    @property
    def etag(self) -> str:
        return snapshot_etag(self.env, self.change_id)

    @cached_property
    def compiled(self) -> Snapshot:
        return Snapshot.from_json(self.body)


class SnapshotCache:
    """Rebuilds an environment's snapshot only when its change id moved.

    After a rollback every connected SDK asks for the new snapshot at once; the
    per-environment lock makes one request build it while the others wait for it.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._entries: dict[str, CachedSnapshot] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def has(self, env: str) -> bool:
        return env in self._entries

    def fresh(self, env: str, at_least: int) -> CachedSnapshot | None:
        """The cached snapshot if it is current (no I/O), else None."""
        entry = self._entries.get(env)
        return entry if entry is not None and entry.change_id >= at_least else None

    def get(self, env: str, at_least: int) -> CachedSnapshot:
        entry = self._entries.get(env)
        if entry is not None and entry.change_id >= at_least:
            return entry
        with self._lock(env):
            entry = self._entries.get(env)
            if entry is None or entry.change_id < at_least:
                snapshot = Snapshot(build_snapshot(self.store, env))
                entry = CachedSnapshot(env, snapshot.change_id, snapshot.to_json())
                entry.__dict__["compiled"] = snapshot
                self._entries[env] = entry
            return entry

    def _lock(self, env: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(env, threading.Lock())
