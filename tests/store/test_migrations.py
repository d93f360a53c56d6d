"""Alembic migrations: every revision upgrades and downgrades cleanly on SQLite and PostgreSQL,
and two processes opening a new database at the same moment both succeed."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlmodel import SQLModel

import promptctl.store.tables  # noqa: F401  (the models whose tables the migrations must create)
from promptctl.store import Store
from promptctl.store.db import alembic_config


def revisions_base_to_head(url: str) -> list[str]:
    script = ScriptDirectory.from_config(alembic_config(url))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def table_names(store: Store) -> set[str]:
    with store.engine.connect() as conn:
        return set(inspect(conn).get_table_names())


def test_upgrade_creates_every_model_table_and_downgrade_removes_them(db_url: str) -> None:
    store = Store(db_url)
    try:
        store.upgrade()
        assert store.current_revision() == store.head_revision()
        assert set(SQLModel.metadata.tables) <= table_names(store)

        store.downgrade("base")
        assert store.current_revision() is None
        assert table_names(store) <= {"alembic_version"}

        store.upgrade()
        assert store.current_revision() == store.head_revision()
        assert set(SQLModel.metadata.tables) <= table_names(store)
    finally:
        store.dispose()


def test_each_revision_upgrades_and_downgrades_one_step_at_a_time(db_url: str) -> None:
    store = Store(db_url)
    revisions = revisions_base_to_head(db_url)
    try:
        for revision in revisions:
            store.upgrade(revision)
            assert store.current_revision() == revision
        for previous in [*reversed(revisions[:-1]), None]:
            store.downgrade(previous or "base")
            assert store.current_revision() == previous
        assert table_names(store) <= {"alembic_version"}
    finally:
        store.dispose()


def test_upgrade_at_head_is_a_no_op(db_url: str) -> None:
    store = Store(db_url)
    try:
        store.upgrade()
        before = table_names(store)
        store.upgrade()
        assert store.current_revision() == store.head_revision()
        assert table_names(store) == before
    finally:
        store.dispose()


OPEN_AT_GO = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from promptctl.store import Store
    url, go = sys.argv[1], Path(sys.argv[2])
    deadline = time.monotonic() + 30
    while not go.exists():
        if time.monotonic() > deadline:
            sys.exit("no go signal")
        time.sleep(0.001)
    store = Store.open(url)
    print(store.current_revision())
""")


def test_two_processes_opening_a_new_database_together_both_succeed(
    db_url: str, tmp_path: Path
) -> None:
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", OPEN_AT_GO, db_url, str(go)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    time.sleep(1.0)  # both interpreters are up and polling
    go.touch()
    results = [proc.communicate(timeout=120) for proc in procs]

    store = Store(db_url)
    try:
        head = store.head_revision()
        for proc, (out, err) in zip(procs, results, strict=True):
            assert proc.returncode == 0, err
            assert out.strip() == head
        assert store.current_revision() == head
        assert set(SQLModel.metadata.tables) <= table_names(store)
    finally:
        store.dispose()


def test_head_read_from_file_names_is_alembics_head() -> None:
    """Start-up reads the head from ``migrations/versions`` file names (no Alembic import);
    that shortcut must agree with Alembic: one head, revision ids equal to file stems."""
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert script.get_heads() == [Store("sqlite://").head_revision()]
    for rev in script.walk_revisions():
        assert Path(rev.path).stem == rev.revision
