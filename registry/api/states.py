"""The server's states: one :class:`promptctl.state.State` per environment, kept current.

Every lookup the API answers comes from here: the resolve endpoint evaluates the same
``State`` the SDK evaluates, the state endpoint and the event stream send it and its deltas,
``/v1/bundles`` sends the bundles it names, and the format-1 snapshot is derived from it.

A state is built from the database once; after that, each change is *caught up* with a
query for the audit events after the state's change id (one indexed range scan) and the
rows of the prompts they name, applied as a delta. The prompts changed since the state was
built are logged in memory, so the delta since any later change id costs nothing to answer;
an older ``since`` asks the database which prompts changed. Bundles are computed once per
``(prompt, version)`` (releases are immutable); their bytes go to an on-disk,
content-addressed pack (:class:`promptctl.bundle_store.ServerPack`: next to the SQLite file,
else in a folder of the process's own) and a small cache bounded in bytes
(``server_bundle_cache_bytes``) sits in front of it, so the server's memory does not grow
with the bundles it serves and a first download of all of them reads them back with
``pread`` instead of computing them again. What the pack gives back is hashed first; an
entry that does not match is computed again from the store, never served.

One lock per environment makes one request catch up while the others wait for it: after a
rollback every connected SDK asks at once.
"""

from __future__ import annotations

import bisect
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from promptctl.bounded_cache import BytesCache
from promptctl.bundle_store import ServerPack, fingerprint_of
from promptctl.errors import NotFoundError
from promptctl.limits import DEFAULT_LIMITS, Limits
from promptctl.snapshot import ReleasedBundle
from promptctl.state import State, delta_doc, served_fingerprints
from promptctl.store import Store
from promptctl.store.state_builder import (
    Served,
    bundle_bytes,
    change_id,
    changed_since,
    last_changes,
    last_rollbacks,
    served_rows,
)
from promptctl.urls import sqlite_file

REFRESH_INTERVAL = 0.05  # seconds between two catch-ups caused by unknown bundles
BUILD_BATCH = 500  # bundles computed per batch when a state is built (bench/README.md)
LOG_LIMIT = 100_000  # prompts changed since the build, remembered for deltas


class _Env:
    """One environment's state, its change log and its serialised forms."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.floor = state.change_id  # deltas from here on can be answered from the log
        self.log_ids: list[int] = []  # change id at which each logged prompt changed
        self.log_names: list[str] = []
        self.log_new: list[tuple[str, ...]] = []  # fingerprints each change brought in
        self.full: tuple[int, bytes] | None = None  # (change id, state document)
        self.snapshot: tuple[int, bytes] | None = None  # (change id, format-1 document)


def _brought_in(old: dict[str, Any] | None, new: dict[str, Any] | None) -> tuple[str, ...]:
    """The fingerprints ``new`` serves that ``old`` (the entry before the change) did not."""
    before = set(served_fingerprints(old)) if old else set()
    return tuple(fp for fp in served_fingerprints(new) if fp not in before) if new else ()


class StateCache:
    """Current states of every environment asked for, and their bundles."""

    def __init__(self, store: Store, limits: Limits = DEFAULT_LIMITS,
                 pack_path: Path | None = None) -> None:
        self.store = store
        self.limits = limits
        self.bundles = BytesCache(limits.server_bundle_cache_bytes)  # guarded by _bundle_lock
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._pack_path = pack_path
        self._pack: ServerPack | None = None  # opened on first use, guarded by _bundle_lock
        self._envs: dict[str, _Env] = {}
        self._fingerprints: dict[tuple[str, str], str] = {}  # (prompt, version) -> fp
        self._versions: dict[str, tuple[str, str]] = {}  # fp -> (prompt, version)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._bundle_lock = threading.Lock()
        self._refreshed = 0.0

    @property
    def pack(self) -> ServerPack:
        if self._pack is None:
            self._pack = self._open_pack(self._pack_path)
        return self._pack

    def _open_pack(self, path: Path | None) -> ServerPack:
        """The pack at ``path``; by default ``<db>.bundles.pack`` beside a SQLite file, or
        one in a folder of this process's own (another database, or a folder it cannot
        write to: such a pack lasts as long as the process)."""
        db = sqlite_file(self.store.url) if self.store.is_sqlite else None
        if path is None and db:
            path = Path(db).with_name(Path(db).name + ".bundles.pack")
        if path is not None:
            try:
                return ServerPack(path)
            except OSError:
                pass
        self._scratch = tempfile.TemporaryDirectory(prefix="promptctl-bundles-")
        return ServerPack(Path(self._scratch.name) / f"bundles-{os.getpid()}.pack")

    # -- states -------------------------------------------------------------------------------

    def has(self, env: str) -> bool:
        return env in self._envs

    def fresh(self, env: str, at_least: int) -> State | None:
        """The state if it has ``at_least`` (no I/O), else None."""
        entry = self._envs.get(env)
        return entry.state if entry is not None and entry.state.change_id >= at_least else None

    def get(self, env: str, at_least: int) -> State:
        """The state of ``env``, caught up from the database if it is behind ``at_least``
        (it may still be behind when the database itself is: a replica that lags)."""
        entry = self._envs.get(env)
        if entry is not None and entry.state.change_id >= at_least:
            return entry.state
        with self._env_lock(env):
            entry = self._envs.get(env)
            if entry is None:
                self._envs[env] = entry = _Env(self._build(env))
            elif entry.state.change_id < at_least:
                self._catch_up(env, entry)
            return entry.state

    def refresh_all(self) -> None:
        """Catch every known environment up (a bundle nobody here has heard of yet); at
        most every ``REFRESH_INTERVAL`` seconds, so unknown fingerprints cost no more."""
        now = time.monotonic()
        if now - self._refreshed < REFRESH_INTERVAL:
            return
        self._refreshed = now
        for env in list(self._envs):
            with self._env_lock(env):
                self._catch_up(env, self._envs[env])

    def _build(self, env: str) -> State:
        with self.store.session() as session:
            current = change_id(session, env)  # read first: a later change only adds
            rows = served_rows(session, env)
            last = last_changes(session, env)
            rolled_back = last_rollbacks(session, env)
            self._add_bundles(session, rows)
        entries: dict[str, bytes | dict[str, Any]] = {
            row.prompt: self._entry(row, last.get(row.prompt, current),
                                    rolled_back.get(row.prompt)) for row in rows}
        return State(env, current, entries, self)

    def _catch_up(self, env: str, entry: _Env) -> None:
        state = entry.state
        with self.store.session() as session:
            changed = changed_since(session, env, state.change_id, self.limits.max_delta_events)
            if changed is None:  # too far behind for a delta: start over
                self._envs[env] = _Env(self._build(env))
                return
            latest, names = changed
            if latest <= state.change_id:
                return
            rows = {row.prompt: row for row in served_rows(session, env, names)}
            last = last_changes(session, env, names)
            rolled_back = last_rollbacks(session, env, names)
            self._add_bundles(session, rows.values())
        changes = {name: self._entry(rows[name], last.get(name, latest), rolled_back.get(name))
                   if name in rows else None for name in sorted(names)}
        brought = [_brought_in(state.entry(name), new) for name, new in changes.items()]
        state.apply(delta_doc(env, state.change_id, latest, changes))
        entry.log_ids += [latest] * len(changes)
        entry.log_names += list(changes)
        entry.log_new += brought
        if len(entry.log_ids) > LOG_LIMIT:
            cut = len(entry.log_ids) - LOG_LIMIT // 2
            entry.floor = entry.log_ids[cut - 1]
            entry.log_ids, entry.log_names = entry.log_ids[cut:], entry.log_names[cut:]
            entry.log_new = entry.log_new[cut:]

    def _entry(self, row: Served, last: int, rolled_back: int | None = None) -> dict[str, Any]:
        entry = {"stable": row.stable, "canary": row.canary, "percent": row.percent,
                 "stickiness": row.stickiness, "change_id": last,
                 "fingerprints": {v: self._fingerprints[(row.prompt, v)]
                                  for v in row.versions()}}
        if rolled_back is not None:  # only prompts ever rolled back: the SDK's session pins
            entry["rolled_back_at"] = rolled_back
        return entry

    def _add_bundles(self, session: Any, rows: Iterable[Served]) -> None:
        """Compute the bundles of the versions ``rows`` serve that are not known yet, a
        batch at a time into the pack, so a build holds one batch of them (and of the
        release contents they are made of) in memory, not all of them."""
        keys = {(row.prompt, v) for row in rows for v in row.versions()}
        with self._bundle_lock:
            todo = sorted(k for k in keys if k not in self._fingerprints)
            for start in range(0, len(todo), BUILD_BATCH):
                computed = {}
                for key, raw in bundle_bytes(session, todo[start:start + BUILD_BATCH]).items():
                    fp = fingerprint_of(raw)
                    self._fingerprints[key], self._versions[fp] = fp, key
                    computed[fp] = raw
                self.pack.put(computed)  # those already there (a restart): not added again

    def _env_lock(self, env: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(env, threading.Lock())

    # -- documents ----------------------------------------------------------------------------

    def full_json(self, env: str, state: State) -> tuple[int, bytes]:
        """``(change id, body)`` of the full state document, built once per change."""
        entry = self._envs[env]
        cached = entry.full
        if cached is not None and cached[0] == state.change_id:
            return cached
        with self._env_lock(env):
            entry.full = (state.change_id, state.to_json())
            return entry.full

    def delta(self, env: str, since: int) -> dict[str, Any] | None:
        """The delta from ``since`` to the current state; None when a full state is due
        (``since`` is older than the log and than ``max_delta_events``, or most prompts
        changed)."""
        entry = self._envs[env]
        state = entry.state
        current = state.change_id
        if since >= current:
            return delta_doc(env, since, since, {})
        brought: set[str] = set()
        if since >= entry.floor:
            start = bisect.bisect_right(entry.log_ids, since)
            names: set[str] | None = set(entry.log_names[start:])
            brought = {fp for fps in entry.log_new[start:] for fp in fps}
        else:
            with self.store.session() as session:
                changed = changed_since(session, env, since, self.limits.max_delta_events)
            names = changed[1] if changed is not None else None
        if names is None or len(names) > max(64, len(state) // 2):
            return None
        delta = delta_doc(env, since, current, {name: state.entry(name) for name in sorted(names)})
        served = {fp for e in delta["changes"].values() if e for fp in served_fingerprints(e)}
        if brought & served:  # versions new to this environment: a reader lacks their bundles
            delta["bundles"] = sorted(brought & served)
        return delta

    def delta_json(self, delta: dict[str, Any], max_bundle_bytes: int) -> bytes:
        """A delta as sent, with the bundles it brings in spliced in as their bytes
        (``"bundles": {fingerprint: bundle}``) while they fit in ``max_bundle_bytes``."""
        fps = delta.pop("bundles", [])
        body = json.dumps(delta, separators=(",", ":")).encode()
        raws = [(fp, self._raw_or_none(fp)) for fp in fps]
        parts = [b'"' + fp.encode() + b'":' + raw for fp, raw in raws if raw is not None]
        if not parts or sum(map(len, parts)) > max_bundle_bytes:
            return body
        return body[:-1] + b',"bundles":{' + b",".join(parts) + b"}}"

    def snapshot_json(self, env: str, state: State) -> bytes:
        """The format-1 snapshot (bundles inline) of the state, built once per change:
        kept for older SDKs and scripts; its bundles are spliced in as their bytes."""
        entry = self._envs[env]
        cached = entry.snapshot
        if cached is not None and cached[0] == state.change_id:
            return cached[1]
        with self._env_lock(env):
            change = state.change_id
            prompts = []
            for name, item in sorted(state.entries()):
                versions = b",".join(
                    json.dumps(version).encode() + b':{"bundle":' + self._raw(fp) +
                    b',"fingerprint":' + json.dumps(fp).encode() + b"}"
                    for version, fp in sorted(item["fingerprints"].items()))
                head = {k: item.get(k) for k in ("canary", "percent", "stable", "stickiness")}
                prompts.append(json.dumps(name).encode() + b":" +
                               json.dumps(head, sort_keys=True)[:-1].encode() +
                               b',"versions":{' + versions + b"}}")
            header = json.dumps({"change_id": change, "env": env, "format": 1,
                                 "generated_at": datetime.now(UTC).isoformat()},
                                sort_keys=True)[:-1].encode()
            body = header + b',"prompts":{' + b",".join(prompts) + b"}}"
            entry.snapshot = (change, body)
            return body

    # -- bundles ------------------------------------------------------------------------------

    def bundle_raws(self, fingerprints: list[str]) -> list[bytes]:
        """The bytes of each fingerprint known here, in the order asked; unknown ones are
        left out. One unknown to every state here makes them all catch up once first (a
        replica may hear of the change that introduced it after the SDK did)."""
        found = self._raws(fingerprints)
        if len(found) < len(set(fingerprints)):
            self.refresh_all()
            found = self._raws(fingerprints)
        return [found[fp] for fp in fingerprints if fp in found]

    def _raws(self, fingerprints: list[str]) -> dict[str, bytes]:
        """The bytes of each fingerprint known here: from the cache, else from the pack
        (verified; kept in the cache), and those neither holds (a damaged pack entry)
        computed again with one query for all of them."""
        with self._bundle_lock:
            found = {fp: raw for fp in fingerprints if (raw := self.bundles.get(fp))}
            for fp in fingerprints:
                if fp not in found and fp in self._versions:
                    raw = self.pack.get(fp)
                    if raw is not None:
                        found[fp] = raw
                        self.bundles.put(fp, raw)
        keys = {self._versions[fp]: fp for fp in fingerprints
                if fp not in found and fp in self._versions}
        if keys:
            with self.store.session() as session:
                computed = bundle_bytes(session, keys)
            with self._bundle_lock:
                for key, raw in computed.items():
                    if fingerprint_of(raw) == keys[key]:
                        found[keys[key]] = raw
                        self.bundles.put(keys[key], raw)
                self.pack.put({fp: found[fp] for fp in keys.values() if fp in found})
        return found

    def _raw(self, fp: str) -> bytes:
        raw = self._raw_or_none(fp)
        if raw is None:
            raise KeyError(fp)
        return raw

    def _raw_or_none(self, fp: str) -> bytes | None:
        with self._bundle_lock:
            raw = self.bundles.get(fp)
        if raw is not None:
            return raw
        return self._raws([fp]).get(fp)  # dropped from memory since: from the pack

    def bundle(self, fingerprint: str, where: object = None) -> ReleasedBundle:
        """The bundle a state's entry names (``BundleSource``, for the resolve endpoint)."""
        raw = self._raw_or_none(fingerprint)
        if raw is None:
            raise NotFoundError(f"bundle {fingerprint[:12]} is not released here")
        return ReleasedBundle(fingerprint, raw=raw)
