"""State shared by every command: where the repository is and how to reach the store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:  # the workspace loads the core's models: only when a command runs
    from promptctl.workspace import Workspace

READ_ONLY_COMMANDS = frozenset({
    "list", "show", "render", "history", "status", "lint", "diff", "new",
    "env list", "token list", "db current", "eval list", "eval show", "fleet",
    "plan status",
})
"""Commands that only read the store. In a project whose database file does not exist yet
they read an empty database instead of creating the file (``Settings.db_url``); every
other command may write and creates it. A command missing here is treated as writing,
so a new command can never lose a write to the throw-away empty database."""


@dataclass
class CliState:
    repo: Path | None = None
    db: str | None = None

    def workspace(self, *, read_only: bool = False) -> Workspace:
        from promptctl.workspace import Workspace

        return Workspace.open(self.repo, db=self.db, read_only=read_only)


def command_name(ctx: typer.Context) -> str:
    """The invoked (sub)command without the program name: ``"token list"``."""
    names = []
    current: Any = ctx  # a typer.Context; its parents are Click contexts
    while current.parent is not None:
        names.append(current.info_name or "")
        current = current.parent
    return " ".join(reversed(names))


def workspace(ctx: typer.Context) -> Workspace:
    state = ctx.obj if isinstance(ctx.obj, CliState) else CliState()
    return state.workspace(read_only=command_name(ctx) in READ_ONLY_COMMANDS)
