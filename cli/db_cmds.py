"""``promptctl db``: schema migrations."""

from __future__ import annotations

import typer

from promptctl.cli.context import workspace
from promptctl.cli.output import console, handled


def register(app: typer.Typer) -> None:
    db = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)

    @db.command("upgrade")
    def upgrade(ctx: typer.Context, revision: str = typer.Argument("head")) -> None:
        """Upgrade the schema (every command also does this on first use)."""
        with handled():
            store = workspace(ctx).store
            store.upgrade(revision)
            console.print(f"database at revision {store.current_revision()}")

    @db.command("downgrade")
    def downgrade(ctx: typer.Context, revision: str = typer.Argument(...)) -> None:
        """Downgrade the schema to REVISION ('base' removes every table)."""
        with handled():
            store = workspace(ctx).store
            store.downgrade(revision)
            console.print(f"database at revision {store.current_revision()}")

    @db.command("current")
    def current(ctx: typer.Context) -> None:
        """Print the schema revision of the database."""
        with handled():
            from promptctl.store import Store

            store = Store(workspace(ctx).settings.db_url)
            current = store.current_revision()
            if current == store.head_revision():
                state = "up to date"
            elif current is None or current in store.known_revisions():
                state = "upgrade available"
            else:
                state = "unknown to this promptctl: written by a newer or another promptctl"
            console.print(f"{current or '(empty)'} ({state})")

    app.add_typer(db, name="db")
