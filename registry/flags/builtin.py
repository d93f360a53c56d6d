"""The built-in flag backend: the registry database itself, served as snapshots.

Rollout state is already committed to the database by the time ``publish`` is
called, so publishing only wakes whoever waits for changes (the API's event
stream); SDKs then fetch the environment's snapshot and evaluate it locally.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from registry.flags.base import FlagState
from registry.resolver import build_snapshot
from registry.store import Store


class BuiltinFlagBackend:
    name = "builtin"

    def __init__(self, store: Store, on_publish: Callable[[FlagState], None] | None = None
                 ) -> None:
        self.store = store
        self.on_publish = on_publish

    def publish(self, state: FlagState) -> None:
        if self.on_publish is not None:
            self.on_publish(state)

    def snapshot(self, env: str) -> dict[str, Any]:
        """Everything an SDK needs to evaluate ``env`` locally."""
        return build_snapshot(self.store, env)
