"""``promptctl fleet`` and the ``--wait`` of ``promote`` / ``rollback``: which SDK instances
serve what, and blocking until every live one applied a change."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import typer

from promptctl.cli.output import console, emit, handled, table

if TYPE_CHECKING:
    from promptctl.guard_types import FleetEntry, WaitResult
    from promptctl.service import RegistryService

def register(app: typer.Typer) -> None:
    app.command()(fleet)


def guard_service(ctx: typer.Context) -> RegistryService:
    """The application layer, as every rollout command gets it (the server at
    ``PROMPTCTL_URL`` when one is set, else the local store)."""
    from promptctl.cli.context import workspace
    from promptctl.service_factory import service_for

    return service_for(workspace(ctx).settings)


def fleet(
    ctx: typer.Context,
    env: str = typer.Option(None, "--env", "-e", help="Only this environment."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable JSON output."),
) -> None:
    """The SDK instances seen lately: app, host, applied change, source, lag."""
    with handled(as_json):
        entries = guard_service(ctx).fleet(env)
        emit([e.to_dict() for e in entries], as_json, lambda: _print_fleet(entries))


def _print_fleet(entries: list[FleetEntry]) -> None:
    if not entries:
        console.print("no SDK instances have reported yet")
        return
    now = time.time()
    t = table("env", "instance", "app", "host", "sdk", "change", "lag", "source", "swapped",
              "seen")
    for e in entries:
        t.add_row(e.env, e.instance_id, e.app or "-", e.host or "-", e.sdk_version,
                  str(e.change_id), "0" if not e.lag else f"{e.lag} behind", e.source,
                  _ago(now - e.swapped_at) if e.swapped_at else "-",
                  _ago(now - e.last_seen) + ("" if e.live else " (gone)"))
    console.print(t)
    live = [e for e in entries if e.live]
    console.print(f"{len(live)} live, {len(entries) - len(live)} gone")


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.1f} s ago"
    return f"{seconds / 60:.0f} min ago"


def wait_for(svc: RegistryService, env: str, change_id: int, timeout: float) -> WaitResult:
    from promptctl.guard_types import wait_for_fleet

    return wait_for_fleet(lambda: svc.fleet(env), change_id, timeout)


def report_wait(result: WaitResult, what: str) -> None:
    """Print how the wait ended; raise (exit 5) naming the laggards when it timed out."""
    from promptctl.errors import BackendUnavailable

    line = (f"{result.applied}/{result.live} instances serve {what} (change "
            f"{result.change_id}) after {result.seconds:.2f} s")
    if result.converged:
        console.print(line)
        return
    names = ", ".join(f"{e.instance_id} ({e.app or 'app?'} on {e.host or 'host?'}, at change "
                      f"{e.change_id})" for e in result.lagging[:10])
    more = f" and {len(result.lagging) - 10} more" if len(result.lagging) > 10 else ""
    raise BackendUnavailable(f"timed out: {line}; lagging: {names}{more}")
