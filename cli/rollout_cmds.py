"""Rollout commands: promote, rollback, status, env, token, serve (eval: ``eval_cmds``).

Each command parses its arguments, calls the application layer
(:class:`promptctl.service.RegistryService`) and formats what comes back. The layer is the
database, or the server when ``PROMPTCTL_URL`` is set (with ``PROMPTCTL_TOKEN``): both
return the same objects, so the output and exit codes are the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from promptctl.cli.choices import LogLevel
from promptctl.cli.context import gc_paused, workspace
from promptctl.cli.output import console, emit, escape, handled, table
from promptctl.cli.wait_option import WAIT_HELP

if TYPE_CHECKING:
    from promptctl.rollout_state import Change, RolloutState
    from promptctl.service import RegistryService

JSON_OPT = typer.Option(False, "--json", help="Machine-readable JSON output.")
ENV_OPT = typer.Option(..., "--env", "-e", help="Environment, e.g. production.")
REASON_OPT = typer.Option(None, "--reason", "-m", help="Why (kept in the audit history).")


def register(app: typer.Typer) -> None:
    app.command()(promote)
    app.command()(rollback)
    app.command()(status)
    app.command()(serve)
    env = typer.Typer(help="Environments.", no_args_is_help=True)
    env.command("add")(env_add)
    env.command("list")(env_list)
    app.add_typer(env, name="env")
    tokens = typer.Typer(help="API tokens (stored hashed).", no_args_is_help=True)
    tokens.command("create")(token_create)
    tokens.command("list")(token_list)
    tokens.command("revoke")(token_revoke)
    app.add_typer(tokens, name="token")


# -- how to reach the rollout state ---------------------------------------------------------


def service(ctx: typer.Context) -> RegistryService:
    """The application layer for this command: the server at ``PROMPTCTL_URL`` when one is
    set (never the local database then), else the local store."""
    with gc_paused():  # the store's imports (SQLAlchemy) and its opening
        from promptctl.service_factory import service_for

        return service_for(workspace(ctx).settings)


# -- commands -------------------------------------------------------------------------------


def promote(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="NAME", help="Prompt name."),
    version: str = typer.Argument(..., metavar="VERSION",
                                  help="A released version of the prompt."),
    env: str = ENV_OPT,
    percent: int = typer.Option(100, "--percent", "-p",
                                help="1-99 sets a canary; 100 makes VERSION stable."),
    reason: str = REASON_OPT,
    plan: str = typer.Option(None, "--plan", help="Roll out by plan PLAN of promptctl.toml "
                             "[plans]: steps, holds, guards (instead of --percent)."),
    wait: float = typer.Option(None, "--wait", metavar="[SECONDS]", help=WAIT_HELP),
    as_json: bool = JSON_OPT,
) -> None:
    """Serve VERSION of NAME to PERCENT of keys in ENV (100: to everyone)."""
    with handled(as_json):
        svc = service(ctx)
        if plan is not None:
            from promptctl.cli import plan_cmds  # only then: a plain promote starts fast

            started = plan_cmds.start(ctx, svc, env, name, version, plan, reason)
            emit(started.to_dict(), as_json,
                 lambda: console.print(plan_cmds.describe_start(started)))
            return
        change = svc.promote(env, name, version, percent=percent, reason=reason)
        emit(change.to_dict(), as_json, lambda: console.print(describe_change(change)))
        if wait is not None:
            from promptctl.cli import fleet_cmds

            fleet_cmds.report_wait(fleet_cmds.wait_for(svc, env, change.id, wait),
                                   f"{name} {version}")


def rollback(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="NAME", help="Prompt name."),
    env: str = ENV_OPT,
    reason: str = REASON_OPT,
    wait: float = typer.Option(None, "--wait", metavar="[SECONDS]", help=WAIT_HELP),
    as_json: bool = JSON_OPT,
) -> None:
    """Clear NAME's canary in ENV, or restore its previous stable version."""
    with handled(as_json):
        svc = service(ctx)
        change = svc.rollback(env, name, reason=reason)
        emit(change.to_dict(), as_json, lambda: console.print(describe_change(change)))
        if wait is not None:
            from promptctl.cli import fleet_cmds  # only then: a plain rollback starts fast

            stable = change.after.get("stable")
            fleet_cmds.report_wait(fleet_cmds.wait_for(svc, env, change.id, wait),
                                   f"{name} {stable}")


def status(
    ctx: typer.Context,
    env: str = typer.Option(None, "--env", "-e", help="Only this environment."),
    as_json: bool = JSON_OPT,
) -> None:
    """Every prompt's stable version, canary and percent, per environment."""
    from promptctl.cli import plan_output

    with handled(as_json):
        svc = service(ctx)
        states: list[RolloutState] = svc.status(env)
        plans = plan_output.plans_by_prompt(svc, env)

        def human() -> None:
            if not states:
                console.print("no rollouts yet: `promptctl promote NAME VERSION --env ENV`")
                return
            t = table("env", "prompt", "stable", "canary", "percent", "stickiness")
            for s in states:
                t.add_row(s.env, s.prompt, s.stable or "-", s.canary or "-",
                          f"{s.percent}%" if s.canary else "-", s.stickiness)
            console.print(t)
            plan_output.print_plans(list(plans.values()), quiet=True)

        emit([s.to_dict() | plan_output.plan_field(plans, s.env, s.prompt) for s in states],
             as_json, human)


def rollout_history(ctx: typer.Context, name: str, env: str, as_json: bool) -> None:
    """``history NAME --env E``: every rollout change of NAME in E, oldest first."""
    changes: list[Change] = service(ctx).history(env, name)

    def human() -> None:
        t = table("#", "time", "action", "actor", "before", "after", "reason",
                  title=f"{name} in {env}")
        for c in changes:
            t.add_row(str(c.id), c.created_at.isoformat()[:19].replace("T", " "), c.action,
                      c.actor, describe_state(c.before), describe_state(c.after),
                      c.reason or "")
        console.print(t)

    emit([c.to_dict() for c in changes], as_json, human)


def env_add(ctx: typer.Context,
            name: str = typer.Argument(..., metavar="NAME", help="The new environment."),
            as_json: bool = JSON_OPT) -> None:
    """Add an environment (development, staging and production exist already)."""
    with handled(as_json):
        added = service(ctx).add_environment(name)
        emit({"env": added}, as_json, lambda: console.print(f"added environment {added}"))


def env_list(ctx: typer.Context, as_json: bool = JSON_OPT) -> None:
    """List environments."""
    with handled(as_json):
        names = service(ctx).environments()
        emit(names, as_json, lambda: console.print("\n".join(names)))


def token_create(
    ctx: typer.Context,
    role: str = typer.Option(..., "--role", help="reader | deployer | admin"),
    env: str = typer.Option(None, "--env", "-e", help="Environment (required for readers)."),
    name: str = typer.Option(None, "--name", help="A label to recognise the token by."),
    as_json: bool = JSON_OPT,
) -> None:
    """Create an API token. The secret is printed once and never stored."""
    with handled(as_json):
        created = service(ctx).create_token(role, env, name=name)

        def human() -> None:
            scope = f" for {created.env}" if created.env else ""
            console.print(f"created {created.role} token {created.name!r}{scope}; "
                          "store it now, it is not shown again:")
            console.print(created.secret)

        emit(created.to_dict(), as_json, human)


def token_list(ctx: typer.Context, as_json: bool = JSON_OPT) -> None:
    """List tokens (never their secrets)."""
    with handled(as_json):
        rows = service(ctx).list_tokens()

        def human() -> None:
            t = table("id", "name", "role", "env", "created", "revoked")
            for r in rows:
                t.add_row(str(r.id), r.name, r.role, r.env or "-",
                          r.created_at.isoformat()[:19], "yes" if r.revoked else "")
            console.print(t)

        emit([r.to_dict() for r in rows], as_json, human)


def token_revoke(ctx: typer.Context,
                 token_id: int = typer.Argument(..., metavar="ID",
                                                help="The token's id, as token list shows it."),
                 as_json: bool = JSON_OPT) -> None:
    """Revoke a token by id."""
    with handled(as_json):
        revoked = service(ctx).revoke_token(token_id)
        emit(revoked.to_dict(), as_json, lambda: console.print(f"revoked token {revoked.id}"))


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8700, "--port", help="TCP port (0: any free port)."),
    log_level: LogLevel = typer.Option(LogLevel.warning, "--log-level",
                                       help="How much uvicorn logs."),
    header_timeout: float = typer.Option(
        None, "--header-timeout", help="Seconds a client has to send a request head "
        "(promptctl.toml limits.header_timeout_seconds)."),
    body_timeout: float = typer.Option(
        None, "--body-timeout", help="Seconds a client has to send a request body "
        "(promptctl.toml limits.body_timeout_seconds)."),
    idle_timeout: float = typer.Option(
        None, "--idle-timeout", help="Seconds a kept-alive connection may stay idle "
        "(promptctl.toml limits.idle_timeout_seconds)."),
    max_connections: int = typer.Option(
        None, "--max-connections", help="Most open client connections "
        "(promptctl.toml limits.max_connections)."),
) -> None:
    """Serve the lookup API (resolve, snapshot, events, promote/rollback) with uvicorn.

    The port is bound before anything is printed: a taken port exits 5, a bad one 2."""
    from promptctl.api import create_app
    from promptctl.api.app import server_limits
    from promptctl.api.server import bind_socket, make_server, with_overrides

    with handled():
        ws = workspace(ctx)
        limits = with_overrides(server_limits(ws.settings),
                                header_timeout_seconds=header_timeout,
                                body_timeout_seconds=body_timeout,
                                idle_timeout_seconds=idle_timeout,
                                max_connections=max_connections)
        server = make_server(create_app(ws.settings, store=ws.store, limits=limits), limits,
                             log_level)
        sock = bind_socket(host, port)
        shown = f"[{host}]" if ":" in host else host
        console.print(escape(f"serving {ws.root} on http://{shown}:{sock.getsockname()[1]} "
                             "(dashboard at /ui, docs at /docs)"))
        with sock:
            server.run(sockets=[sock])


# -- formatting -----------------------------------------------------------------------------


def describe_state(state: dict[str, Any]) -> str:
    if not state.get("stable"):
        return "(none)"
    if state.get("canary"):
        return f"{state['stable']} + {state['canary']} @ {state['percent']}%"
    return str(state["stable"])


def describe_change(change: Change) -> str:
    after = change.after
    where = f"{change.prompt} in {change.env}"
    if change.action == "rollback":
        return f"rolled back {where}: {describe_state(change.before)} -> {describe_state(after)}"
    if after.get("canary"):
        return (f"promoted {change.prompt}@{after['canary']} to {after['percent']}% of "
                f"{change.env} (canary; stable {after['stable']})")
    return f"promoted {change.prompt}@{after['stable']} to 100% of {change.env} (stable)"
