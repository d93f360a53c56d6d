"""The contract between rollout control and a flag backend.

Rollout control (``promptctl.rollout``) owns the record: versions, history and
audit live in the registry database. After each committed change it hands the
new :class:`FlagState` to the configured backend. The built-in setting needs none:
SDKs read the database's state as snapshots. The Unleash backend writes it as a
feature flag through Unleash's Admin API so apps can evaluate it with ``UnleashClient``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from promptctl.bucketing import DEFAULT_STICKINESS


@dataclass(frozen=True)
class FlagState:
    """What a reader needs to pick a version of ``prompt`` in ``env``."""

    env: str
    prompt: str
    stable: str | None
    canary: str | None = None
    percent: int = 0  # share of keys (1..99) served the canary; 0 when there is none
    stickiness: str = DEFAULT_STICKINESS

    @property
    def group_id(self) -> str:
        """Unleash ``groupId``: the prompt name, so buckets are stable per prompt."""
        return self.prompt


class FlagBackend(Protocol):
    """Publishes rollout state; raises ``BackendUnavailable`` when it cannot."""

    name: str

    def publish(self, state: FlagState) -> None: ...
