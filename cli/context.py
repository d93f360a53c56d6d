"""State shared by every command: where the repository is and how to reach the store."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the workspace loads the core's models: only when a command runs
    import typer

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
        with gc_paused():
            from promptctl.workspace import Workspace

            return Workspace.open(self.repo, db=self.db, read_only=read_only)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a command imports and opens what it
    needs (the workspace, the store: SQLAlchemy). Importing a library allocates hundreds of
    thousands of objects that live as long as the process and makes no garbage cycles, yet
    each 700 allocations trigger a collection that walks them: about 8% of the CPU time of
    ``import sqlalchemy``, and as much again when collection resumes and the next young
    collections walk them (``bench/README.md``). Collection resumes when the block ends,
    nested blocks resume it once, and nothing else changes."""
    if not gc.isenabled():  # paused already (a nested block), or disabled by the caller
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        # What survived the block joins the oldest generation at once (freeze, unfreeze)
        # instead of being walked by the next young collections: these objects are the
        # process's modules, and a full collection still looks at them as at any old object.
        gc.freeze()
        gc.unfreeze()
        gc.enable()


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
