"""State shared by every command: where the repository is and how to reach the store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from promptctl.workspace import Workspace


@dataclass
class CliState:
    repo: Path | None = None
    db: str | None = None

    def workspace(self) -> Workspace:
        return Workspace.open(self.repo, db=self.db)


def workspace(ctx: typer.Context) -> Workspace:
    state = ctx.obj if isinstance(ctx.obj, CliState) else CliState()
    return state.workspace()
