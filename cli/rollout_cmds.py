"""Rollout commands: promote, rollback, status, env, eval, token, serve.

promote/rollback/status/history talk to the database directly, or to a server
when ``PROMPTCTL_URL`` is set (with ``PROMPTCTL_TOKEN``): both paths return the
same objects, so the output and exit codes are the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from promptctl.cli.context import workspace
from promptctl.cli.output import console, emit, handled, table
from promptctl.rollout_state import Change, RolloutState, default_actor

if TYPE_CHECKING:
    from promptctl.rollout import Rollouts
    from promptctl.workspace import Workspace

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
    evals = typer.Typer(help="Eval results that gate promotion.", no_args_is_help=True)
    evals.command("record")(eval_record)
    app.add_typer(evals, name="eval")
    tokens = typer.Typer(help="API tokens (stored hashed).", no_args_is_help=True)
    tokens.command("create")(token_create)
    tokens.command("list")(token_list)
    tokens.command("revoke")(token_revoke)
    app.add_typer(tokens, name="token")


# -- how to reach the rollout state ---------------------------------------------------------


def rollouts_for(ws: Workspace) -> Any:
    """A :class:`Rollouts` on the database, or a client of the server at ``PROMPTCTL_URL``."""
    if ws.settings.url:
        from promptctl.remote import RemoteRollouts

        return RemoteRollouts(ws.settings.url, ws.settings.token)
    from promptctl.flags.factory import make_backend

    return db_rollouts(ws, backend=make_backend(ws.settings))


def db_rollouts(ws: Workspace, **options: Any) -> Rollouts:
    """Rollout control on the database (imported here: API-mode commands never load it)."""
    from promptctl.rollout import Rollouts

    return Rollouts(ws.store, ws.settings.environments, **options)


def actor_of(ws: Workspace) -> str:
    """Who is acting, for the audit trail: the git identity, else the OS user."""
    from promptctl.gitrepo import git_identity

    try:
        return git_identity(ws.root) or default_actor()
    except OSError:  # no git installed: still record someone
        return default_actor()


# -- commands -------------------------------------------------------------------------------


def promote(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Prompt name."),
    version: str = typer.Argument(..., help="A released version of the prompt."),
    env: str = ENV_OPT,
    percent: int = typer.Option(100, "--percent", "-p",
                                help="1-99 sets a canary; 100 makes VERSION stable."),
    reason: str = REASON_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Serve VERSION of NAME to PERCENT of keys in ENV (100: to everyone)."""
    with handled(as_json):
        ws = workspace(ctx)
        change = rollouts_for(ws).promote(env, name, version, percent=percent, reason=reason,
                                          actor=actor_of(ws))
        emit(change.to_dict(), as_json, lambda: console.print(describe_change(change)))


def rollback(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Prompt name."),
    env: str = ENV_OPT,
    reason: str = REASON_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Clear NAME's canary in ENV, or restore its previous stable version."""
    with handled(as_json):
        ws = workspace(ctx)
        change = rollouts_for(ws).rollback(env, name, reason=reason, actor=actor_of(ws))
        emit(change.to_dict(), as_json, lambda: console.print(describe_change(change)))


def status(
    ctx: typer.Context,
    env: str = typer.Option(None, "--env", "-e", help="Only this environment."),
    as_json: bool = JSON_OPT,
) -> None:
    """Every prompt's stable version, canary and percent, per environment."""
    with handled(as_json):
        states: list[RolloutState] = rollouts_for(workspace(ctx)).status(env)

        def human() -> None:
            if not states:
                console.print("no rollouts yet: `promptctl promote NAME VERSION --env ENV`")
                return
            t = table("env", "prompt", "stable", "canary", "percent", "stickiness")
            for s in states:
                t.add_row(s.env, s.prompt, s.stable or "-", s.canary or "-",
                          f"{s.percent}%" if s.canary else "-", s.stickiness)
            console.print(t)

        emit([s.to_dict() for s in states], as_json, human)


def rollout_history(ws: Workspace, name: str, env: str, as_json: bool) -> None:
    """``history NAME --env E``: every rollout change of NAME in E, oldest first."""
    changes: list[Change] = rollouts_for(ws).history(env, name)

    def human() -> None:
        t = table("#", "time", "action", "actor", "before", "after", "reason",
                  title=f"{name} in {env}")
        for c in changes:
            t.add_row(str(c.id), c.created_at.isoformat()[:19].replace("T", " "), c.action,
                      c.actor, describe_state(c.before), describe_state(c.after),
                      c.reason or "")
        console.print(t)

    emit([c.to_dict() for c in changes], as_json, human)


def env_add(ctx: typer.Context, name: str = typer.Argument(...), as_json: bool = JSON_OPT
            ) -> None:
    """Add an environment (development, staging and production exist already)."""
    with handled(as_json):
        ws = workspace(ctx)
        db_rollouts(ws).add_environment(name)
        emit({"env": name}, as_json, lambda: console.print(f"added environment {name}"))


def env_list(ctx: typer.Context, as_json: bool = JSON_OPT) -> None:
    """List environments."""
    with handled(as_json):
        ws = workspace(ctx)
        names = db_rollouts(ws).environments()
        emit(names, as_json, lambda: console.print("\n".join(names)))


def eval_record(
    ctx: typer.Context,
    name: str = typer.Argument(...),
    version: str = typer.Argument(...),
    env: str = ENV_OPT,
    passed: bool = typer.Option(..., "--passed/--failed", help="The suite's outcome."),
    score: float = typer.Option(None, "--score", help="The suite's score."),
    suite: str = typer.Option(..., "--suite", help="Eval suite name."),
    as_json: bool = JSON_OPT,
) -> None:
    """Record an eval outcome for NAME@VERSION in ENV (checked when ENV has require_eval)."""
    with handled(as_json):
        ws = workspace(ctx)
        record = db_rollouts(ws).record_eval(
            env, name, version, passed=passed, suite=suite, score=score, actor=actor_of(ws))
        data = {"env": env, "prompt": name, "version": version, "suite": suite,
                "passed": passed, "score": score, "id": record.id}
        outcome = "passed" if passed else "failed"
        emit(data, as_json, lambda: console.print(
            f"recorded: {name}@{version} {outcome} {suite} in {env}"
            + (f" (score {score})" if score is not None else "")))


def token_create(
    ctx: typer.Context,
    role: str = typer.Option(..., "--role", help="reader | deployer | admin"),
    env: str = typer.Option(None, "--env", "-e", help="Environment (required for readers)."),
    name: str = typer.Option(None, "--name", help="A label to recognise the token by."),
    as_json: bool = JSON_OPT,
) -> None:
    """Create an API token. The secret is printed once and never stored."""
    from promptctl.tokens import create_token

    with handled(as_json):
        ws = workspace(ctx)
        if env:
            db_rollouts(ws).require_environment(env)
        principal, secret = create_token(ws.store, role, env, name=name,
                                         created_by=actor_of(ws))
        data = principal.to_dict() | {"token": secret}

        def human() -> None:
            scope = f" for {env}" if env else ""
            console.print(f"created {role} token {principal.name!r}{scope}; "
                          "store it now, it is not shown again:")
            console.print(secret)

        emit(data, as_json, human)


def token_list(ctx: typer.Context, as_json: bool = JSON_OPT) -> None:
    """List tokens (never their secrets)."""
    from promptctl.tokens import list_tokens

    with handled(as_json):
        rows = list_tokens(workspace(ctx).store)

        def human() -> None:
            t = table("id", "name", "role", "env", "created", "revoked")
            for r in rows:
                t.add_row(str(r["id"]), str(r["name"]), str(r["role"]),
                          str(r["env"] or "-"), str(r["created_at"])[:19],
                          "yes" if r["revoked"] else "")
            console.print(t)

        emit(rows, as_json, human)


def token_revoke(ctx: typer.Context, token_id: int = typer.Argument(...),
                 as_json: bool = JSON_OPT) -> None:
    """Revoke a token by id."""
    from promptctl.tokens import revoke_token

    with handled(as_json):
        revoke_token(workspace(ctx).store, token_id)
        emit({"id": token_id, "revoked": True}, as_json,
             lambda: console.print(f"revoked token {token_id}"))


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8700, "--port", help="TCP port (0: any free port)."),
    log_level: str = typer.Option("warning", "--log-level"),
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
                             "(docs at /docs)"))
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
