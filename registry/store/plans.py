"""Queries over rollout plans (``rollout_plans``): one row per plan started."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from promptctl.store.rollouts import utcnow
from promptctl.store.tables import PlanRecord

ACTIVE = ("running", "paused")


def active_plan(session: Session, env: str, prompt: str) -> PlanRecord | None:
    stmt = select(PlanRecord).where(PlanRecord.env == env, PlanRecord.prompt == prompt,
                                    col(PlanRecord.status).in_(ACTIVE))
    return session.exec(stmt.order_by(col(PlanRecord.id).desc())).first()


def latest_plans(session: Session, env: str | None = None) -> list[PlanRecord]:
    """The newest plan of each (env, prompt) (of ``env`` only, if given)."""
    stmt = select(PlanRecord)
    if env is not None:
        stmt = stmt.where(PlanRecord.env == env)
    newest: dict[tuple[str, str], PlanRecord] = {}
    for row in session.exec(stmt.order_by(col(PlanRecord.id))):
        newest[(row.env, row.prompt)] = row
    return sorted(newest.values(), key=lambda r: (r.env, r.prompt))


def running_plans(session: Session) -> list[PlanRecord]:
    stmt = select(PlanRecord).where(PlanRecord.status == "running")
    return list(session.exec(stmt.order_by(col(PlanRecord.id))))


def plan_by_id(session: Session, plan_id: int) -> PlanRecord | None:
    return session.get(PlanRecord, plan_id)


def add_plan(session: Session, row: PlanRecord) -> PlanRecord:
    session.add(row)
    session.flush()
    return row


def update_plan(session: Session, row: PlanRecord, values: dict[str, Any]) -> bool:
    """Write ``values`` if the row is still at the version it was read at (else False)."""
    stmt = (update(PlanRecord)
            .where(PlanRecord.id == row.id, PlanRecord.version == row.version)  # type: ignore[arg-type]
            .values(version=row.version + 1, updated_at=utcnow(), **values))
    return bool(session.execute(stmt).rowcount == 1)  # type: ignore[attr-defined]
