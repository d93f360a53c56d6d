"""Snapshots per environment as the routes see them: views of the server's states.

The resolve endpoint evaluates ``compiled`` (the environment's :class:`promptctl.state.State`,
the same evaluation the SDK runs); the format-1 snapshot endpoint sends ``body``, derived from
the state and its bundles when first asked for after a change (``promptctl.api.states``).
"""

from __future__ import annotations

from promptctl.api.states import StateCache
from promptctl.limits import DEFAULT_LIMITS, Limits
from promptctl.snapshot import snapshot_etag
from promptctl.state import State
from promptctl.store import Store


class CachedSnapshot:
    """One environment's state, for resolving, and its format-1 document, for SDKs."""

    def __init__(self, states: StateCache, env: str, state: State) -> None:
        self.states = states
        self.env = env
        self.compiled = state
        self.change_id = state.change_id  # taken now: the ETag never claims a newer body

    @property
    def etag(self) -> str:
        return snapshot_etag(self.env, self.change_id)

    @property
    def body(self) -> bytes:
        return self.states.snapshot_json(self.env, self.compiled)


class SnapshotCache:
    """The routes' access to :class:`StateCache`, under the names they have always used."""

    def __init__(self, store: Store, limits: Limits = DEFAULT_LIMITS) -> None:
        self.states = StateCache(store, limits)

    def has(self, env: str) -> bool:
        return self.states.has(env)

    def fresh(self, env: str, at_least: int) -> CachedSnapshot | None:
        """The cached snapshot if it is current (no I/O), else None."""
        state = self.states.fresh(env, at_least)
        return CachedSnapshot(self.states, env, state) if state is not None else None

    def get(self, env: str, at_least: int) -> CachedSnapshot:
        return CachedSnapshot(self.states, env, self.states.get(env, at_least))
