"""Entry point: the Typer app, whose top-level group loads each command on demand.

Start-up matters (``promptctl --help`` and a one-line ``rollback`` are run by people and CI
scripts many times a day), so importing this module loads only Typer and promptctl's light
modules, and a run imports and builds only the command it runs: ``promptctl rollback``
imports ``rollout_cmds`` and builds the Click command of ``rollback`` alone, not the other
command modules nor their commands' parameters. ``--help`` lists every command from the
static table :data:`COMMANDS` without importing any command module. Each command imports
what it needs (the core, the store, Jinja2...) when it runs.
Help is Click's plain formatter (``rich_markup_mode=None``): Typer's Rich help costs a
third of the start-up, and it reads ``[...]`` in help text as markup, which eats
metavars such as ``NAME[@VERSION]``.
"""

from __future__ import annotations

import gc
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from promptctl import __version__
from promptctl.cli.context import CliState, gc_paused
from promptctl.cli.wait_option import expand_wait

with gc_paused():  # Typer and its Click import without the collector walking them (see there)
    import typer
    import typer.main

    # Typer 0.28 bundles its own Click (``typer._click``); its classes are what TyperGroup uses.
    from typer._click import Command, Context, HelpFormatter
    from typer._click.exceptions import UsageError
    from typer._click.utils import make_default_short_help
    from typer.core import TyperGroup

# Every top-level command: its name -> (the module of promptctl.cli whose ``register(app)``
# adds it, its one-line help as ``promptctl --help`` shows it), in the order of that help.
# ADDING A COMMAND MODULE IS ONE LINE HERE PER TOP-LEVEL NAME IT REGISTERS, e.g.
#     "fleet": ("fleet_cmds", "Fleet-wide rollouts."),
# The help text is the first paragraph of the command's docstring (or of its group's
# ``help=``). tests/cli/test_app_table.py checks this table against the commands the modules
# really register, so it cannot drift.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("registry_cmds", "Create prompts/ with one example of each kind, promptctl.toml "
                              "and .gitignore entries."),
    "new": ("registry_cmds", "Create a new artifact file at version 0.1.0."),
    "lint": ("registry_cmds", "Validate every artifact file; exit 1 when any error (or, with "
                              "--strict, warning) is found."),
    "release": ("registry_cmds", "Record and tag every new (kind, name, version) in the "
                                 "working tree at HEAD."),
    "list": ("registry_cmds", "List artifacts: latest version, released versions and whether "
                              "the tree has a draft."),
    "show": ("registry_cmds", "Show one version: content, refs, fingerprint and release "
                              "metadata."),
    "render": ("registry_cmds", "Render a prompt to chat messages with its variables checked "
                                "against their types."),
    "history": ("registry_cmds", "Every released version of NAME with date, commit and author "
                                 "(or, with --env, every rollout change of NAME in that "
                                 "environment)."),
    "diff": ("review_cmds", "Show what changed in meaning between two revisions and check the "
                            "semver policy."),
    "promote": ("rollout_cmds", "Serve VERSION of NAME to PERCENT of keys in ENV (100: to "
                                "everyone)."),
    "rollback": ("rollout_cmds", "Clear NAME's canary in ENV, or restore its previous stable "
                                 "version."),
    "status": ("rollout_cmds", "Every prompt's stable version, canary and percent, per "
                               "environment."),
    "serve": ("rollout_cmds", "Serve the lookup API (resolve, snapshot, events, "
                              "promote/rollback) with uvicorn."),
    "db": ("db_cmds", "Database schema (Alembic migrations)."),
    "env": ("rollout_cmds", "Environments."),
    "eval": ("eval_cmds", "Eval suites: run them, gate promotion on them, list results."),
    "token": ("rollout_cmds", "API tokens (stored hashed)."),
    "import": ("import_cmds", "Import prompts from markdown, Dotprompt or Prompty files."),
    "fleet": ("fleet_cmds", "The SDK instances seen lately: app, host, applied change, source, "
                            "lag."),
    "plan": ("plan_cmds", "Rollout plans: steps, holds and guards (promote --plan)."),
}


def registered(module_name: str) -> typer.Typer:
    """A Typer app holding what command module ``module_name`` registers (imports it)."""
    module = importlib.import_module(f"promptctl.cli.{module_name}")
    holder = typer.Typer(rich_markup_mode=None, add_completion=False)
    module.register(holder)
    return holder


def build_command(name: str) -> Command | None:
    """The Click command (or group) ``name`` of the table, built the way Typer builds it
    for the whole app, but alone: the other commands' parameters are not built."""
    if name not in COMMANDS:
        return None
    holder = registered(COMMANDS[name][0])
    for info in holder.registered_commands:
        assert info.callback is not None
        if (info.name or typer.main.get_command_name(info.callback.__name__)) == name:
            return typer.main.get_command_from_info(
                info, pretty_exceptions_short=app.pretty_exceptions_short,
                rich_markup_mode=app.rich_markup_mode)
    for group in holder.registered_groups:
        if group.name == name:
            return typer.main.get_group_from_info(
                group, pretty_exceptions_short=app.pretty_exceptions_short,
                suggest_commands=app.suggest_commands, rich_markup_mode=app.rich_markup_mode)
    return None


class PromptctlGroup(TyperGroup):
    """The top-level group. It changes two things.

    Commands are loaded on demand: :meth:`list_commands` and the help's command list read
    the static table :data:`COMMANDS`, and :meth:`get_command` imports and builds one
    command the first time it is asked for.

    A usage error Typer finds while parsing (an unknown option, a value that is not one of
    the choices, a missing argument) is one line, ``error: ...`` with exit 2, like every
    error promptctl reports itself, instead of the usage text, a hint and the error over
    several lines."""

    def list_commands(self, ctx: Context) -> list[str]:
        return [*COMMANDS, *(name for name in self.commands if name not in COMMANDS)]

    def get_command(self, ctx: Context, cmd_name: str) -> Command | None:
        if cmd_name not in self.commands:
            command = build_command(cmd_name)
            if command is None:
                return None
            self.commands[cmd_name] = command
        return self.commands[cmd_name]

    def resolve_command(self, ctx: Context, args: list[str]
                        ) -> tuple[str | None, Command | None, list[str]]:
        """Typer's, with its "Did you mean ...?" drawn from every command of the table
        (Typer's own looks only at the commands already loaded)."""
        try:
            return self._click_resolve_command(ctx, args)
        except UsageError as exc:
            from difflib import get_close_matches  # only on a typo

            matches = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if self.suggest_commands and matches:
                suggestions = ", ".join(f"{m!r}" for m in matches)
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {suggestions}?"
            raise

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        """The command list as Typer writes it (name, help cut to the width), from the
        table: no command module is imported to print the help."""
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, make_default_short_help(text, limit).strip())
                for name, (_, text) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args,
                                **extra)
        args = expand_wait(sys.argv[1:] if args is None else args)  # --wait [S]
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args,
                                **extra)
        except typer.TyperException as exc:  # Click's ClickException and its subclasses
            _report_usage_error(exc)
        except typer.Abort:
            sys.stderr.write("error: aborted\n")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _report_usage_error(exc: typer.TyperException) -> None:
    from promptctl.cli.output import err_console, escape

    if type(exc).__name__ == "NoArgsIsHelpError":  # `promptctl` alone: the help, as Click has it
        exc.show()  # type: ignore[attr-defined]  # Click's exceptions have show()
        sys.exit(exc.exit_code)
    context = getattr(exc, "ctx", None)
    hint = f" (see '{context.command_path} --help')" if context is not None else ""
    message = " ".join(exc.format_message().splitlines())
    err_console.print(f"[red]error:[/red] {escape(message + hint)}")
    sys.exit(exc.exit_code)


app = typer.Typer(
    name="promptctl",
    cls=PromptctlGroup,
    help="Git-backed registry of versioned LLM prompts, with rollouts and one-command rollback.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode=None,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"promptctl {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    ctx: typer.Context,
    repo: Path = typer.Option(None, "--repo", "-C", metavar="PATH",
                              help="Repository root (default: the current folder)."),
    db: str = typer.Option(None, "--db", metavar="URL",
                           help="SQLAlchemy URL of the store (PROMPTCTL_DB)."),
    _version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                  help="Print promptctl's version and exit."),
) -> None:
    ctx.obj = CliState(repo=repo, db=db)


def main() -> None:
    """The ``promptctl`` executable. Once the command is done, the process ends: the cyclic
    garbage collector is switched off first, which skips the full collection the interpreter
    runs on its way out while the collector is on. After a command that imported SQLAlchemy
    that collection walks every object of every module to free almost nothing, and cost a
    quarter of a rollback's CPU time (``bench/README.md``). The interpreter's last
    collection, while it tears the modules down, still runs; output is flushed and
    ``atexit`` handlers run as before."""
    try:
        app()
    finally:
        gc.disable()
