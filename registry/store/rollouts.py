"""Queries over environments, rollout rows, their audit events and eval records.

:class:`promptctl.rollout.Rollouts` decides what a promote or rollback does; these
functions only read and write the rows, inside the session the caller opened, so a
change and its audit event still commit in one transaction.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from promptctl.store.tables import (
    EnvironmentRecord,
    EvalRecord,
    RolloutEvent,
    RolloutRecord,
    utcnow,
)


def environment_names(session: Session) -> set[str]:
    """The environments added with ``env add`` (not those only named in the config)."""
    return {r.name for r in session.exec(select(EnvironmentRecord))}


def environment_exists(session: Session, env: str) -> bool:
    stmt = select(func.count()).select_from(EnvironmentRecord).where(EnvironmentRecord.name == env)
    return bool(session.exec(stmt).one())


def add_environment(session: Session, name: str) -> None:
    session.add(EnvironmentRecord(name=name))


def rollout_row(session: Session, env: str, prompt: str) -> RolloutRecord | None:
    stmt = select(RolloutRecord).where(RolloutRecord.env == env, RolloutRecord.prompt == prompt)
    return session.exec(stmt).first()


def rollout_rows(session: Session, env: str | None = None) -> list[RolloutRecord]:
    """Every rollout row (of ``env`` only, if given), by environment and prompt."""
    stmt = select(RolloutRecord)
    if env is not None:
        stmt = stmt.where(RolloutRecord.env == env)
    return list(session.exec(stmt.order_by(RolloutRecord.env, RolloutRecord.prompt)))


def write_rollout_row(session: Session, row: RolloutRecord | None, env: str, prompt: str,
                      values: dict[str, object], previous: list[str]) -> bool:
    """Insert the row, or update ``row`` if it is still at the version it was read at.

    ``False`` means another writer changed it in between (the optimistic lock: the
    ``version`` column); the caller turns that into a conflict.
    """
    values = {**values, "previous": json.dumps(previous), "updated_at": utcnow()}
    fields: dict[str, Any] = values
    if row is None:
        session.add(RolloutRecord(env=env, prompt=prompt, version=1, **fields))
        session.flush()
        return True
    stmt = (update(RolloutRecord)
            .where(RolloutRecord.id == row.id, RolloutRecord.version == row.version)  # type: ignore[arg-type]
            .values(version=row.version + 1, **values))
    return bool(session.execute(stmt).rowcount == 1)  # type: ignore[attr-defined]


def add_event(session: Session, event: RolloutEvent) -> RolloutEvent:
    """Write an audit event and give it its id (the change id streams and snapshots carry)."""
    session.add(event)
    session.flush()
    return event


def rollout_events(session: Session, env: str, prompt: str) -> list[RolloutEvent]:
    """The audit events of one prompt in one environment, oldest first."""
    stmt = (select(RolloutEvent)
            .where(RolloutEvent.env == env, RolloutEvent.prompt == prompt)
            .order_by(col(RolloutEvent.id)))
    return list(session.exec(stmt))


def add_eval(session: Session, record: EvalRecord) -> EvalRecord:
    session.add(record)
    return record


def latest_eval(session: Session, env: str, prompt: str, version: str,
                suite: str | None = None) -> EvalRecord | None:
    """The last eval recorded for ``prompt@version`` in ``env`` (of ``suite``, if given)."""
    stmt = select(EvalRecord).where(EvalRecord.env == env, EvalRecord.prompt == prompt,
                                    EvalRecord.version == version)
    if suite is not None:
        stmt = stmt.where(EvalRecord.suite == suite)
    return session.exec(stmt.order_by(EvalRecord.id.desc())).first()  # type: ignore[union-attr]


def served_versions(session: Session, prompt: str | None = None
                    ) -> list[tuple[str, str, str | None, str | None, int]]:
    """``(env, prompt, stable, canary, percent)`` of every rollout row (of ``prompt`` only, if
    given): the dashboard's grid, read as plain tuples (a fraction of the cost of loading the
    rows as objects)."""
    from sqlalchemy import select as columns  # sqlmodel's select takes at most four

    stmt = columns(col(RolloutRecord.env), col(RolloutRecord.prompt), col(RolloutRecord.stable),
                   col(RolloutRecord.canary), col(RolloutRecord.percent))
    if prompt is not None:
        stmt = stmt.where(col(RolloutRecord.prompt) == prompt)
    return [(env, prompt, stable, canary, percent)
            for env, prompt, stable, canary, percent in session.execute(stmt)]
