"""Queries over environments, rollout rows, their audit events and eval records.

:class:`promptctl.rollout.Rollouts` decides what a promote or rollback does; these
functions only read and write the rows, on the connection the caller opened
(:meth:`promptctl.store.Store.connect` or :meth:`~promptctl.store.Store.begin`), so a
change and its audit event still commit in one transaction.

SQLAlchemy Core only, on light table clauses that name the columns these queries use: no
SQLModel, no ORM, no metadata. ``promptctl promote``/``rollback``/``status`` against the
database import this module and not :mod:`promptctl.store.tables`, which costs several
times Python's own start-up (``bench/README.md``). The schema itself is still the
migrations' and ``tables.py``'s; ``tests/store/test_rollout_rows.py`` checks that every
column named here exists there with the same type.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    Integer,
    String,
    Text,
    column,
    func,
    insert,
    select,
    table,
    update,
)
from sqlalchemy.engine import Connection, Row

__all__ = ["Connection", "Row", "utcnow"]  # Row: what the readers return, for annotations


def utcnow() -> datetime:
    """Now, in UTC: what every timestamp column is written with (``tables.py`` too)."""
    return datetime.now(UTC)


def _when(name: str) -> Any:
    return column(name, DateTime(timezone=True))


ENVIRONMENTS = table("environments", column("id", Integer), column("name", String),
                     _when("created_at"))
ROLLOUTS = table(
    "rollouts", column("id", Integer), column("env", String), column("prompt", String),
    column("stable", String), column("canary", String), column("percent", Integer),
    column("stickiness", String), column("previous", Text), column("version", Integer),
    _when("updated_at"))
EVENTS = table(
    "rollout_events", column("id", Integer), column("env", String), column("prompt", String),
    column("action", String), column("actor", String), column("before", Text),
    column("after", Text), column("reason", Text), _when("created_at"))
EVALS = table(
    "eval_records", column("id", Integer), column("env", String), column("prompt", String),
    column("version", String), column("suite", String), column("passed", Boolean),
    column("score", Float), column("actor", String), _when("created_at"),
    column("fingerprint", String))
RELEASES = table("releases", column("id", Integer), column("kind", String),
                 column("name", String), column("version", String))
PLANS = table("rollout_plans", column("id", Integer), column("env", String))
LIGHT_TABLES = (ENVIRONMENTS, ROLLOUTS, EVENTS, EVALS, RELEASES, PLANS)


# -- environments -------------------------------------------------------------------------------


def environment_names(conn: Connection) -> set[str]:
    """The environments added with ``env add`` (not those only named in the config)."""
    return {str(name) for name in conn.execute(select(ENVIRONMENTS.c.name)).scalars()}


def environment_exists(conn: Connection, env: str) -> bool:
    stmt = select(func.count()).select_from(ENVIRONMENTS).where(ENVIRONMENTS.c.name == env)
    return bool(conn.execute(stmt).scalar())


def add_environment(conn: Connection, name: str) -> None:
    conn.execute(insert(ENVIRONMENTS).values(name=name, created_at=utcnow()))


# -- rollout rows -------------------------------------------------------------------------------


def rollout_row(conn: Connection, env: str, prompt: str) -> Row[Any] | None:
    stmt = select(ROLLOUTS).where(ROLLOUTS.c.env == env, ROLLOUTS.c.prompt == prompt)
    return conn.execute(stmt).first()


def rollout_rows(conn: Connection, env: str | None = None) -> list[Row[Any]]:
    """Every rollout row (of ``env`` only, if given), by environment and prompt."""
    stmt = select(ROLLOUTS)
    if env is not None:
        stmt = stmt.where(ROLLOUTS.c.env == env)
    return list(conn.execute(stmt.order_by(ROLLOUTS.c.env, ROLLOUTS.c.prompt)))


def write_rollout_row(conn: Connection, row: Row[Any] | None, env: str, prompt: str,
                      values: dict[str, object], previous: list[str]) -> bool:
    """Insert the row, or update ``row`` if it is still at the version it was read at.

    ``False`` means another writer changed it in between (the optimistic lock: the
    ``version`` column); the caller turns that into a conflict.
    """
    values = {**values, "previous": json.dumps(previous), "updated_at": utcnow()}
    if row is None:
        conn.execute(insert(ROLLOUTS).values(env=env, prompt=prompt, version=1, **values))
        return True
    stmt = (update(ROLLOUTS)
            .where(ROLLOUTS.c.id == row.id, ROLLOUTS.c.version == row.version)
            .values(version=row.version + 1, **values))
    return conn.execute(stmt).rowcount == 1


# -- audit events -------------------------------------------------------------------------------


def add_event(conn: Connection, *, env: str, prompt: str, action: str, actor: str,
              before: str, after: str, reason: str | None) -> Row[Any]:
    """Write an audit event; the row as written, with its id (the change id streams and
    snapshots carry)."""
    stmt = insert(EVENTS).values(env=env, prompt=prompt, action=action, actor=actor,
                                 before=before, after=after, reason=reason,
                                 created_at=utcnow()).returning(*EVENTS.c)
    return conn.execute(stmt).one()


def rollout_events(conn: Connection, env: str, prompt: str) -> list[Row[Any]]:
    """The audit events of one prompt in one environment, oldest first."""
    stmt = (select(EVENTS).where(EVENTS.c.env == env, EVENTS.c.prompt == prompt)
            .order_by(EVENTS.c.id))
    return list(conn.execute(stmt))


# -- evals --------------------------------------------------------------------------------------


def add_eval(conn: Connection, *, env: str, prompt: str, version: str, suite: str,
             passed: bool, score: float | None, actor: str,
             fingerprint: str | None = None) -> Row[Any]:
    """Record an eval outcome (of the bundle ``fingerprint``); the row as written, with its
    id."""
    stmt = insert(EVALS).values(env=env, prompt=prompt, version=version, suite=suite,
                                passed=passed, score=score, actor=actor,
                                fingerprint=fingerprint,
                                created_at=utcnow()).returning(*EVALS.c)
    return conn.execute(stmt).one()


def latest_eval(conn: Connection, env: str, prompt: str, version: str,
                suite: str | None = None) -> Row[Any] | None:
    """The last eval recorded for ``prompt@version`` in ``env`` (of ``suite``, if given)."""
    stmt = select(EVALS).where(EVALS.c.env == env, EVALS.c.prompt == prompt,
                               EVALS.c.version == version)
    if suite is not None:
        stmt = stmt.where(EVALS.c.suite == suite)
    return conn.execute(stmt.order_by(EVALS.c.id.desc())).first()


# -- what is released (only what promote and the eval gate ask) ---------------------------------


def released_versions(conn: Connection, kind: str, name: str) -> list[str]:
    """The released versions of ``kind`` ``name``, oldest release first."""
    stmt = (select(RELEASES.c.version)
            .where(RELEASES.c.kind == kind, RELEASES.c.name == name)
            .order_by(RELEASES.c.id))
    return [str(v) for v in conn.execute(stmt).scalars()]


def is_released(conn: Connection, kind: str, name: str, version: str) -> bool:
    stmt = select(func.count()).select_from(RELEASES).where(
        RELEASES.c.kind == kind, RELEASES.c.name == name, RELEASES.c.version == version)
    return bool(conn.execute(stmt).scalar())


# -- the dashboard's grid -----------------------------------------------------------------------


def served_versions(conn: Connection, prompt: str | None = None
                    ) -> list[tuple[str, str, str | None, str | None, int]]:
    """``(env, prompt, stable, canary, percent)`` of every rollout row (of ``prompt`` only, if
    given), as plain tuples."""
    stmt = select(ROLLOUTS.c.env, ROLLOUTS.c.prompt, ROLLOUTS.c.stable, ROLLOUTS.c.canary,
                  ROLLOUTS.c.percent)
    if prompt is not None:
        stmt = stmt.where(ROLLOUTS.c.prompt == prompt)
    return [(str(env), str(name), stable, canary, int(percent or 0))
            for env, name, stable, canary, percent in conn.execute(stmt)]


def released_names(conn: Connection, kind: str) -> list[str]:
    """The names of ``kind`` with at least one release, sorted (no content read)."""
    stmt = select(RELEASES.c.name).where(RELEASES.c.kind == kind).distinct()
    return sorted(str(name) for name in conn.execute(stmt).scalars())


# -- rollout plans (only whether there are any: ``status`` shows them when there are) ---------


def any_plans(conn: Connection, env: str | None = None) -> bool:
    """Whether any rollout plan was ever started (in ``env``): a plain ``status`` then skips
    the plan code and its models."""
    stmt = select(PLANS.c.id)
    if env is not None:
        stmt = stmt.where(PLANS.c.env == env)
    return conn.execute(stmt.limit(1)).first() is not None
