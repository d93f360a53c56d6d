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

import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from promptctl.api.state import ApiState

if TYPE_CHECKING:
    from promptctl.guard_types import PlanStatus

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
    score: float | None  # the run's pass rate
    recorded_at: datetime
    against: str | None = None  # the baseline version the run was compared with
    regressions: int | None = None  # cases that pass on the baseline and fail here


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
    """Plan step and guard status per (env, prompt) of the grid, in one call (the latest
    plan of each; finished plans show only while they are the latest)."""
    wanted_envs, wanted = set(envs), set(prompts)
    cells = {(p.env, p.prompt): PlanCell(
        step=f"step {p.step + 1}/{len(p.steps)} · {p.percent}%", guard=_guard_word(p))
        for p in api.service.plans() if p.env in wanted_envs and p.prompt in wanted}
    return cells or None


def _guard_word(p: PlanStatus) -> str:
    if p.status == "paused":
        return "paused"
    if p.status == "rolled_back":
        return "breached"
    if p.status == "running":
        return "watching" if p.decision.get("action") in (None, "hold") else "ok"
    return p.status  # completed | aborted


def eval_results(api: ApiState, prompt: str, limit: int = 50) -> EvalPanel | None:
    """The latest eval runs of ``prompt`` (every version), newest first, each bound to the
    bundle fingerprint it evaluated and to the baseline it was compared with."""
    runs = api.service.eval_runs(prompt=prompt, limit=limit)
    if not runs:
        return None
    return EvalPanel(tuple(
        EvalRow(version=r.version, fingerprint=r.fingerprint, suite=f"{r.suite}@{r.suite_version}",
                passed=r.passed, score=r.summary.get("pass_rate"), recorded_at=r.created_at,
                against=r.baseline_version,
                regressions=len(r.comparison.get("regressions") or []) if r.comparison else None)
        for r in runs))


def outcomes(api: ApiState, env: str, prompt: str, *, hours: float = 6.0,
             bucket_seconds: float = 600.0) -> OutcomePanel | None:
    """Canary versus stable outcome figures of ``prompt`` in ``env`` over the last
    ``hours``, per ``bucket_seconds``, for the versions served now."""
    state = {s.prompt: s for s in api.service.status(env)}.get(prompt)
    if state is None or state.stable is None:
        return None
    versions = {"stable": state.stable} | ({"canary": state.canary} if state.canary else {})
    since = time.time() - hours * 3600
    points = api.service.outcome_series(env, prompt, versions, since=since,
                                        bucket_seconds=bucket_seconds)
    if not points:
        return None
    series = []
    for metric, label, unit, scale in _SERIES:
        by_variant = {v: tuple(Point(datetime.fromtimestamp(p.start, UTC),
                                     p.figures[metric] * scale)
                               for p in points if p.variant == v and p.figures.get(metric)
                               is not None) for v in ("canary", "stable")}
        series.append(Series(metric=label, unit=unit, canary=by_variant["canary"],
                             stable=by_variant["stable"]))
    return OutcomePanel(env=env, stable_version=state.stable, canary_version=state.canary,
                        series=tuple(series))


_SERIES = (("error_rate", "error rate", "%", 100.0), ("p95_latency", "p95 latency", "ms", 1000.0),
           ("cost_per_call", "cost per call", "$", 1.0),
           ("schema_valid_rate", "schema-valid rate", "%", 100.0))


def plan(api: ApiState, env: str, prompt: str) -> PlanPanel | None:
    """The rollout plan of ``prompt`` in ``env``, with the actions that apply now."""
    found = [p for p in api.service.plans(env) if p.prompt == prompt]
    if not found:
        return None
    p = found[0]
    actions = {"running": ("pause", "abort"), "paused": ("resume", "abort")}.get(p.status, ())
    hold = f"{p.hold_seconds / 60:g} min" if p.hold_seconds >= 60 else f"{p.hold_seconds:g} s"
    return PlanPanel(env=env, version=p.canary,
                     steps=tuple(PlanStep(percent=s, hold=hold) for s in p.steps),
                     current=p.step, state=_plan_state(p.status),
                     guard=p.decision.get("reason") or None, actions=actions)


def _plan_state(status: str) -> str:
    return {"completed": "done", "rolled_back": "rolled back"}.get(status, status)


def fleet(api: ApiState, env: str, prompt: str) -> FleetPanel | None:
    """How many live instances of ``env`` have applied the environment's latest change."""
    live = [e for e in api.service.fleet(env) if e.live]
    if not live:
        return None
    latest = max(e.change_id + e.lag for e in live)
    on_current = sum(1 for e in live if e.lag == 0)
    by_change: dict[int, int] = {}
    for e in live:
        by_change[e.change_id] = by_change.get(e.change_id, 0) + 1
    return FleetPanel(env=env, change_id=latest, on_current=on_current, total=len(live),
                      versions=tuple(FleetVersion(version=f"change {c}", instances=n)
                                     for c, n in sorted(by_change.items(), reverse=True)))


def plan_control(api: ApiState, env: str, prompt: str, action: str, *, actor: str,
                 reason: str | None) -> str:
    """Pause, resume or abort the plan; returns what happened, in a sentence. The route has
    checked the CSRF token and the deployer role; the service call audits the change."""
    status = api.service.control_plan(env, prompt, action, actor=actor)
    done = {"pause": "Paused", "resume": "Resumed", "abort": "Aborted"}[action]
    return f"{done} the plan of {prompt} in {env}: it is {_plan_state(status.status)} now"
