"""Entry point: builds the Typer app from the command modules.

Start-up matters (``promptctl --help`` and a one-line ``rollback`` are run by people and CI
scripts many times a day), so importing this module and the command modules loads only
Typer and promptctl's light modules; each command imports what it needs when it runs.
Help is Click's plain formatter (``rich_markup_mode=None``): Typer's Rich help costs a
third of the start-up, and it reads ``[...]`` in help text as markup, which eats
metavars such as ``NAME[@VERSION]``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from promptctl import __version__
from promptctl.cli import (
    db_cmds,
    eval_cmds,
    fleet_cmds,
    import_cmds,
    plan_cmds,
    registry_cmds,
    review_cmds,
    rollout_cmds,
)
from promptctl.cli.context import CliState


class PromptctlGroup(TyperGroup):
    """The top-level group. It changes one thing: a usage error Typer finds while parsing
    (an unknown option, a value that is not one of the choices, a missing argument) is one
    line, ``error: ...`` with exit 2, like every error promptctl reports itself, instead of
    the usage text, a hint and the error over several lines."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             windows_expand_args: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args,
                                **extra)
        args = fleet_cmds.expand_wait(sys.argv[1:] if args is None else args)  # --wait [S]
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


for module in (registry_cmds, db_cmds, review_cmds, rollout_cmds, import_cmds, eval_cmds,
               fleet_cmds, plan_cmds):
    module.register(app)


def main() -> None:
    app()
