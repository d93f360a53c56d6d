"""A value, a URL or a schema the database refuses is a clear domain error, not a driver
traceback."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlmodel import func, select

from promptctl.errors import BackendUnavailable, UsageError, ValidationError
from promptctl.store import Store
from promptctl.store.db import sqlite_url
from promptctl.store.tables import ApiToken


def test_a_value_longer_than_its_column_is_a_validation_error_and_writes_nothing(
        db_url: str) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite does not enforce VARCHAR lengths")
    store = Store(db_url)
    try:
        store.upgrade()
        with (pytest.raises(ValidationError, match="the database refused a value"),
              store.write() as session):
            session.add(ApiToken(name="t", token_hash="h", role="r" * 17, created_by="x"))
        with store.session() as session:
            assert session.exec(select(func.count()).select_from(ApiToken)).one() == 0
    finally:
        store.dispose()


def test_a_schema_revision_this_promptctl_does_not_know_is_refused_before_alembic_runs(
        db_url: str) -> None:
    store = Store(db_url)
    try:
        store.upgrade()
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))
        for migrate in (store.upgrade, lambda: store.downgrade("base")):
            with pytest.raises(BackendUnavailable, match="written by a newer or another"):
                migrate()
        assert store.current_revision() == "0099_future"
        assert inspect(store.engine).has_table("api_tokens")
    finally:
        store.dispose()


def test_an_unknown_target_revision_is_a_usage_error_and_migrates_nothing(db_url: str) -> None:
    store = Store(db_url)
    try:
        with pytest.raises(UsageError, match="cannot upgrade the database to 'nope'"):
            store.upgrade("nope")
        assert store.current_revision() is None
    finally:
        store.dispose()


def test_an_integer_beyond_64_bits_is_a_validation_error_not_an_overflow(tmp_path) -> None:
    store = Store.open(sqlite_url(tmp_path / "r.db"))
    try:
        with (pytest.raises(ValidationError, match="the database refused a value"),
              store.session() as session):
            session.get(ApiToken, 10**20)
    finally:
        store.dispose()


def test_a_sqlite_uri_url_opens_the_file_it_names_and_creates_nothing_else(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # a URI taken for a path would create folders here
    path = tmp_path / "r.db"
    Store.open(sqlite_url(path)).dispose()

    def files() -> list[str]:  # SQLite's own -wal/-shm files of a WAL database aside
        return sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(("-wal", "-shm")))

    before = files()
    store = Store.open(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        assert store.current_revision() == store.head_revision()
        with pytest.raises(BackendUnavailable, match="readonly"), store.write() as session:
            session.add(ApiToken(name="t", token_hash="h", role="admin", created_by="x"))
    finally:
        store.dispose()
    assert files() == before
