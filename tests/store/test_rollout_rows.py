"""The rollout queries' light table clauses (SQLAlchemy Core, no metadata) name only
columns the schema has, with the same Python types: they cannot drift from the SQLModel
tables or from what the migrations create."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import TypeDecorator, inspect

from promptctl.store import Store
from promptctl.store.rollouts import LIGHT_TABLES


def test_every_column_of_the_light_tables_is_in_the_sqlmodel_tables_with_its_type() -> None:
    from sqlmodel import SQLModel

    import promptctl.store.tables  # noqa: F401 (registers the tables in the metadata)

    for light in LIGHT_TABLES:
        real = SQLModel.metadata.tables[light.name]
        for column in light.c:
            assert column.name in real.c, f"{light.name}.{column.name}"
            theirs = real.c[column.name].type
            if isinstance(theirs, TypeDecorator):  # SQLModel's AutoString is a String
                theirs = theirs.impl_instance
            assert column.type.python_type is theirs.python_type, f"{light.name}.{column.name}"
            assert getattr(column.type, "timezone", None) == getattr(theirs, "timezone", None)


def test_every_column_of_the_light_tables_is_in_the_migrated_schema(tmp_path: Path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        schema = inspect(store.engine)
        for light in LIGHT_TABLES:
            have = {c["name"] for c in schema.get_columns(light.name)}
            assert {c.name for c in light.c} <= have, light.name
    finally:
        store.dispose()
