"""How rollout plans print: ``promptctl plan status`` and the plans under ``promptctl
status``. Not a command module, so ``status`` shows plans without loading ``plan``'s
commands."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from promptctl.cli.output import console, table

if TYPE_CHECKING:
    from promptctl.guard_types import PlanStatus
    from promptctl.service import RegistryService

METRICS = ("calls", "error_rate", "p95_latency", "cost_per_call", "tokens_per_call",
           "schema_valid_rate", "tool_args_valid_rate", "negative_feedback_rate")


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
