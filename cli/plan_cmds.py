"""``promptctl plan status|pause|resume|abort`` and the ``--plan`` of ``promote``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from promptctl.cli.fleet_cmds import guard_service
from promptctl.cli.output import console, emit, handled
from promptctl.cli.plan_output import print_plans

if TYPE_CHECKING:
    from promptctl.guard_types import PlanStatus
    from promptctl.service import RegistryService

JSON_OPT = typer.Option(False, "--json", help="Machine-readable JSON output.")
ENV_OPT = typer.Option(..., "--env", "-e", help="Environment, e.g. production.")


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
