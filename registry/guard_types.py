"""What the guarded-rollout use cases return, and ``--wait``: plain values, standard library
only, so the remote service (``PROMPTCTL_URL``) and the CLI start without the store."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class FleetEntry:
    """One SDK instance as it last reported: what it serves, and whether it is live."""

    env: str
    instance_id: str
    app: str
    sdk_version: str
    host: str
    change_id: int
    source: str
    swapped_at: float
    last_seen: float
    live: bool
    lag: int  # changes of the environment this instance has not applied yet

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FleetEntry:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class PlanStatus:
    """A rollout plan's state: where it is, what it last saw, when it moves on."""

    id: int
    env: str
    prompt: str
    plan: str
    canary: str
    stable: str
    status: str  # running | paused | completed | rolled_back | aborted
    step: int
    steps: list[int]
    percent: int
    step_started_at: float
    hold_seconds: float
    next_step_in: float | None  # seconds, when the guards keep passing; None: not running
    figures: dict[str, Any] = field(default_factory=dict)
    decision: dict[str, Any] = field(default_factory=dict)
    evaluated_at: float | None = None
    evaluated_by: str = ""
    evaluations: int = 0
    spec: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlanStatus:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True)
class WaitResult:
    """How a ``--wait`` ended: every live instance applied ``change_id``, or not in time."""

    change_id: int
    converged: bool
    live: int
    applied: int
    seconds: float
    lagging: list[FleetEntry]


def wait_for_fleet(fleet: Callable[[], list[FleetEntry]], change_id: int, timeout: float,
                   *, interval: float = 0.05) -> WaitResult:
    """Poll ``fleet()`` until every live instance has applied ``change_id`` (or later), or
    ``timeout`` seconds pass. Bounded: at most ``timeout / interval`` polls."""
    started = time.monotonic()
    while True:
        live = [e for e in fleet() if e.live]
        lagging = [e for e in live if e.change_id < change_id]
        elapsed = time.monotonic() - started
        if not lagging or elapsed >= timeout:
            return WaitResult(change_id, not lagging, len(live), len(live) - len(lagging),
                              elapsed, lagging)
        time.sleep(min(interval, max(0.0, timeout - elapsed)))
