"""What readers are served and what changed: the rollout state and audit events as values.

Kept apart from :mod:`promptctl.rollout` (which needs the database) so that a client
of the HTTP API (``promptctl.remote``, the CLI with ``PROMPTCTL_URL``) handles the same
objects without loading SQLAlchemy: that keeps ``promptctl rollback`` quick to start.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from promptctl.actors import os_user
from promptctl.flags.base import FlagState


@dataclass(frozen=True)
class RolloutState(FlagState):
    """What readers of one (environment, prompt) are served, plus the row's lock counter."""

    version: int = 0  # optimistic-lock counter of the row (0: no row yet)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def public(self) -> dict[str, Any]:
        """The part recorded in audit events (without the lock counter)."""
        return {"stable": self.stable, "canary": self.canary, "percent": self.percent,
                "stickiness": self.stickiness}

    @classmethod
    def of(cls, row: Any) -> RolloutState:
        """From a row of the ``rollouts`` table (a Core row or a ``RolloutRecord``)."""
        return cls(env=row.env, prompt=row.prompt, stable=row.stable, canary=row.canary,
                   percent=row.percent, stickiness=row.stickiness, version=row.version)


@dataclass(frozen=True)
class Change:
    """One audit event: who changed what, from which state to which, when and why."""

    id: int
    env: str
    prompt: str
    action: str
    actor: str
    before: dict[str, Any]
    after: dict[str, Any]
    reason: str | None
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"created_at": self.created_at.isoformat()}

    @classmethod
    def of(cls, row: Any) -> Change:
        """From a row of the ``rollout_events`` table (a Core row or a ``RolloutEvent``)."""
        return cls(id=row.id or 0, env=row.env, prompt=row.prompt, action=row.action,
                   actor=row.actor, before=json.loads(row.before), after=json.loads(row.after),
                   reason=row.reason, created_at=as_utc(row.created_at))


def as_utc(moment: datetime) -> datetime:
    """``moment`` with its time zone: the store writes UTC, and SQLite reads it back naive."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


default_actor = os_user
"""Who acts when a caller of :class:`promptctl.rollout.Rollouts` names no one: the OS login
(the one rule is :func:`promptctl.actors.current_actor`; adapters always pass an actor)."""
