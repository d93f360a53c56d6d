"""A value the database refuses is a clear domain error, not a driver traceback."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from promptctl.errors import ValidationError
from promptctl.store import Store
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
