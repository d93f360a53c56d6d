"""Entry point: builds the Typer app from the command modules."""

from __future__ import annotations

from pathlib import Path

import typer

from promptctl.cli import db_cmds, registry_cmds, review_cmds, rollout_cmds
from promptctl.cli.context import CliState

app = typer.Typer(
    name="promptctl",
    help="Git-backed registry of versioned LLM prompts, with rollouts and one-command rollback.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


@app.callback()
def _global(
    ctx: typer.Context,
    repo: Path = typer.Option(None, "--repo", "-C", help="Repository root (default: cwd)."),
    db: str = typer.Option(None, "--db", help="SQLAlchemy URL of the store (PROMPTCTL_DB)."),
) -> None:
    ctx.obj = CliState(repo=repo, db=db)


for module in (registry_cmds, db_cmds, review_cmds, rollout_cmds):
    module.register(app)


def main() -> None:
    app()
