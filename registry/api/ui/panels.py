"""The dashboard's panels whose data other parts of promptctl produce: one function each.

Each function returns a small frozen dataclass of exactly what its panel draws, or ``None``
when there is nothing to draw; the page then says so plainly ("no eval results yet", ...).
Eval results (issue 14), rollout plans, guards, outcome telemetry and fleet reports (issue
15) are built apart from the dashboard; wiring a panel means making its function call the
service method that holds the data and fill the dataclass. Nothing else in the dashboard
changes: templates and routes read only these types.

Every function takes the API's state (for ``api.service`` and ``api.store``) and must be
cheap: the overview calls :func:`overview_plans` once for the whole grid, the prompt page
calls the others once per environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from promptctl.api.state import ApiState
from promptctl.errors import NotFoundError

PLAN_ACTIONS = ("pause", "resume", "abort")


@dataclass(frozen=True)
class PlanCell:
    """The plan step and guard verdict one overview cell shows under the versions."""

    step: str  # e.g. "step 2/4 · 25%"
    guard: str  # "ok" | "watching" | "breached" | "paused"


@dataclass(frozen=True)
class EvalRow:
    version: str
    fingerprint: str  # the bundle the result is bound to
    suite: str
    passed: bool
    score: float | None
    recorded_at: datetime


@dataclass(frozen=True)
class EvalPanel:
    rows: tuple[EvalRow, ...]


@dataclass(frozen=True)
class Point:
    at: datetime
    value: float


@dataclass(frozen=True)
class Series:
    """One outcome figure over time, canary beside stable."""

    metric: str  # "error rate", "p95 latency", "cost per call", "schema-valid rate"
    unit: str  # "%", "ms", "$"
    canary: tuple[Point, ...]
    stable: tuple[Point, ...]


@dataclass(frozen=True)
class OutcomePanel:
    env: str
    stable_version: str | None
    canary_version: str | None
    series: tuple[Series, ...]


@dataclass(frozen=True)
class PlanStep:
    percent: int
    hold: str  # e.g. "30 min"


@dataclass(frozen=True)
class PlanPanel:
    env: str
    version: str
    steps: tuple[PlanStep, ...]
    current: int  # index into steps
    state: str  # "running" | "paused" | "done" | "aborted"
    guard: str | None
    actions: tuple[str, ...]  # which of PLAN_ACTIONS apply now


@dataclass(frozen=True)
class FleetVersion:
    version: str
    instances: int


@dataclass(frozen=True)
class FleetPanel:
    env: str
    change_id: int  # the change instances should have applied
    on_current: int
    total: int
    versions: tuple[FleetVersion, ...]


def overview_plans(api: ApiState, envs: tuple[str, ...], prompts: tuple[str, ...]
                   ) -> Mapping[tuple[str, str], PlanCell] | None:
    """Plan step and guard status per (env, prompt) of the grid, in one call."""
    return None


def eval_results(api: ApiState, prompt: str) -> EvalPanel | None:
    """Eval results of every released version of ``prompt``, bound to fingerprints."""
    return None


def outcomes(api: ApiState, env: str, prompt: str) -> OutcomePanel | None:
    """Canary versus stable outcome figures of ``prompt`` in ``env`` over time."""
    return None


def plan(api: ApiState, env: str, prompt: str) -> PlanPanel | None:
    """The rollout plan of ``prompt`` in ``env``, with the actions that apply now."""
    return None


def fleet(api: ApiState, env: str, prompt: str) -> FleetPanel | None:
    """How many instances of ``env`` have applied the latest change of ``prompt``."""
    return None


def plan_control(api: ApiState, env: str, prompt: str, action: str, *, actor: str,
                 reason: str | None) -> str:
    """Pause, resume or abort the plan; returns what happened, in a sentence. The route has
    checked the CSRF token and the deployer role; the service call audits the change."""
    raise NotFoundError(f"prompt {prompt!r} has no rollout plan in {env!r}")
