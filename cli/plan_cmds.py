"""``promptctl plan status|pause|resume|abort`` and the ``--plan`` of ``promote``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import typer

from promptctl.cli.fleet_cmds import guard_service
from promptctl.cli.output import console, emit, handled, table

if TYPE_CHECKING:
    from promptctl.guard_types import PlanStatus
    from promptctl.service import RegistryService

JSON_OPT = typer.Option(False, "--json", help="Machine-readable JSON output.")
ENV_OPT = typer.Option(..., "--env", "-e", help="Environment, e.g. production.")
METRICS = ("calls", "error_rate", "p95_latency", "cost_per_call", "tokens_per_call",
           "schema_valid_rate", "tool_args_valid_rate", "negative_feedback_rate")


def register(app: typer.Typer) -> None:
    plan = typer.Typer(help="Rollout plans: steps, holds and guards (promote --plan).",
                       no_args_is_help=True)
    plan.command("status")(plan_status)
    for action in ("pause", "resume", "abort"):
        plan.command(action, help=f"{action.capitalize()} NAME's plan in ENV.")(
            _control(action))
    app.add_typer(plan, name="plan")


def start(ctx: typer.Context, svc: RegistryService, env: str, name: str, version: str,
          plan: str, reason: str | None) -> PlanStatus:
    """``promote NAME VERSION --env E --plan P``: plan P of promptctl.toml."""
    from promptctl.cli.context import workspace
    from promptctl.plans import configured_plan

    spec = configured_plan(workspace(ctx).settings.extra, plan)
    return svc.start_plan(env, name, version, spec, reason=reason)


def describe_start(status: PlanStatus) -> str:
    return (f"started plan {status.plan} for {status.prompt}@{status.canary} in {status.env}: "
            f"step 1/{len(status.steps)} ({status.percent}%), steps "
            f"{' → '.join(f'{s}%' for s in status.steps)}, holding {status.hold_seconds:g} s "
            "per step")


def plan_status(
    ctx: typer.Context,
    env: str = typer.Option(None, "--env", "-e", help="Only this environment."),
    as_json: bool = JSON_OPT,
) -> None:
    """Each prompt's latest plan: step, time to the next step, canary vs stable figures."""
    with handled(as_json):
        plans = guard_service(ctx).plans(env)
        emit([p.to_dict() for p in plans], as_json, lambda: print_plans(plans))


def _control(action: str) -> Any:
    def command(ctx: typer.Context,
                name: str = typer.Argument(..., metavar="NAME", help="Prompt name."),
                env: str = ENV_OPT, as_json: bool = JSON_OPT) -> None:
        with handled(as_json):
            status = guard_service(ctx).control_plan(env, name, action)
            emit(status.to_dict(), as_json, lambda: console.print(
                f"plan {status.plan} of {status.prompt} in {status.env}: {status.status}"))

    command.__name__ = f"plan_{action}"
    return command


def plans_by_prompt(svc: RegistryService, env: str | None) -> dict[tuple[str, str], PlanStatus]:
    """Each (env, prompt)'s latest plan, for ``status`` (none from a server without plans)."""
    from promptctl.errors import NotFoundError

    try:
        return {(p.env, p.prompt): p for p in svc.plans(env)}
    except NotFoundError:
        return {}


def plan_field(plans: dict[tuple[str, str], PlanStatus], env: str, prompt: str
               ) -> dict[str, Any]:
    """``status --json``'s ``plan`` field: the latest plan of (env, prompt), or null."""
    plan = plans.get((env, prompt))
    return {"plan": plan.to_dict() if plan else None}


def print_plans(plans: list[PlanStatus], *, quiet: bool = False) -> None:
    if not plans and quiet:
        return
    if not plans:
        console.print("no rollout plans yet: `promptctl promote NAME VERSION --env E --plan P`")
        return
    for p in plans:
        console.print(plan_headline(p))
        if p.figures:
            console.print(figures_table(p))
        reason = p.decision.get("reason")
        if reason:
            console.print(f"  last decision: {p.decision.get('action')}: {reason}")


def plan_headline(p: PlanStatus) -> str:
    steps = " → ".join(f"[{s}%]" if i == p.step else f"{s}%" for i, s in enumerate(p.steps))
    when = ""
    if p.status == "running" and p.next_step_in is not None:
        when = f", next step in {p.next_step_in:.0f} s if the guards pass"
    seen = ""
    if p.evaluated_at:
        seen = f", evaluated {max(0.0, time.time() - p.evaluated_at):.1f} s ago"
    return (f"{p.env}/{p.prompt}: plan {p.plan} {p.status}, {p.canary} vs stable {p.stable}, "
            f"step {p.step + 1}/{len(p.steps)} {steps}{when}{seen}")


def figures_table(p: PlanStatus) -> Any:
    guards = p.spec.get("guards", {})
    t = table("figure", "canary", "stable", "guard")
    canary, stable = p.figures.get("canary", {}), p.figures.get("stable", {})
    for name in METRICS:
        limit = guards.get(name)
        t.add_row(name, _shown(name, canary.get(name)), _shown(name, stable.get(name)),
                  "-" if limit is None else _limit(name, limit))
    return t


def _shown(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    if name == "calls":
        return str(int(value))
    if name.endswith("_rate"):
        return f"{value * 100:.2f}%"
    if name == "p95_latency":
        return f"{value * 1000:.0f} ms"
    return f"{value:.6g}"


def _limit(name: str, limit: float) -> str:
    from promptctl.plans import GUARDS

    guard = GUARDS[name]
    if guard.unit == "ratio":
        return f"≤ {limit:g}x stable"
    sign = "+" if guard.worse == "higher" else "-"
    return f"≤ {sign}{limit:g} points"
