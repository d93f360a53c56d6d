"""``promptctl db``: schema migrations."""

from __future__ import annotations

import typer

from promptctl.cli.context import workspace
from promptctl.cli.output import console, emit, handled

JSON_OPT = typer.Option(False, "--json", help="Machine-readable JSON output.")


def register(app: typer.Typer) -> None:
    db = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)

    @db.command("upgrade")
    def upgrade(ctx: typer.Context,
                revision: str = typer.Argument("head", metavar="REVISION",
                                               help="Target revision (default: the newest)."),
                as_json: bool = JSON_OPT) -> None:
        """Upgrade the schema (every command also does this on first use)."""
        with handled(as_json):
            store = workspace(ctx).store
            store.upgrade(revision)
            now = store.current_revision()
            emit({"revision": now}, as_json,
                 lambda: console.print(f"database at revision {now}"))

    @db.command("downgrade")
    def downgrade(ctx: typer.Context,
                  revision: str = typer.Argument(..., metavar="REVISION",
                                                 help="Target revision; base removes every "
                                                      "table."),
                  as_json: bool = JSON_OPT) -> None:
        """Downgrade the schema to REVISION."""
        with handled(as_json):
            store = workspace(ctx).store
            store.downgrade(revision)
            now = store.current_revision()
            emit({"revision": now}, as_json,
                 lambda: console.print(f"database at revision {now}"))

    @db.command("current")
    def current(ctx: typer.Context, as_json: bool = JSON_OPT) -> None:
        """Print the schema revision of the database."""
        with handled(as_json):
            from promptctl.store import Store

            store = Store(workspace(ctx).settings.db_url)
            current = store.current_revision()
            head = store.head_revision()
            if current == head:
                state = "up to date"
            elif current is None or current in store.known_revisions():
                state = "upgrade available"
            else:
                state = "unknown to this promptctl: written by a newer or another promptctl"
            emit({"revision": current, "head": head, "state": state}, as_json,
                 lambda: console.print(f"{current or '(empty)'} ({state})"))

    app.add_typer(db, name="db")
