"""Snapshots per environment, built once per change and shared by every request."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from promptctl.snapshot import Snapshot
from promptctl.store import Store
from promptctl.store.snapshot_builder import build_snapshot


@dataclass(frozen=True)
class CachedSnapshot:
    """One snapshot both ways: evaluated in memory for resolves, as JSON for SDKs."""

    compiled: Snapshot
    body: bytes  # the JSON document as served

    @property
    def change_id(self) -> int:
        return self.compiled.change_id

    @property
    def etag(self) -> str:
        return self.compiled.etag


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
        entry = self.fresh(env, at_least)
        if entry is not None:
            return entry
        with self._lock(env):  # the first waiter builds; the others find it fresh
            entry = self.fresh(env, at_least)
            if entry is None:
                snapshot = Snapshot(build_snapshot(self.store, env))
                entry = CachedSnapshot(snapshot, snapshot.to_json())
                self._entries[env] = entry
            return entry

    def _lock(self, env: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(env, threading.Lock())
