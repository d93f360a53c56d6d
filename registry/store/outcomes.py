"""Queries over outcome windows (what SDK instances reported) and the fleet of instances."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, insert
from sqlmodel import Session, col, select

from promptctl.store.rollouts import utcnow
from promptctl.store.tables import FleetInstance, OutcomeWindow, ReleaseRecord


def released_prompt_versions(session: Session, prompts: Iterable[str]) -> set[tuple[str, str]]:
    """Which (prompt, version) pairs among ``prompts`` are released."""
    names = sorted(set(prompts))
    if not names:
        return set()
    stmt = select(ReleaseRecord.name, ReleaseRecord.version).where(
        ReleaseRecord.kind == "prompt", col(ReleaseRecord.name).in_(names))
    return {(name, version) for name, version in session.exec(stmt)}


def existing_windows(session: Session, env: str, instance_id: str, starts: Sequence[float]
                     ) -> set[tuple[str, str, str, float]]:
    """The (prompt, version, variant, start) windows of one instance already stored."""
    if not starts:
        return set()
    stmt = select(OutcomeWindow.prompt, OutcomeWindow.version, OutcomeWindow.variant,
                  OutcomeWindow.start).where(
        OutcomeWindow.env == env, OutcomeWindow.instance_id == instance_id,
        col(OutcomeWindow.start).in_(sorted(set(starts))))
    return {(p, v, var, float(s)) for p, v, var, s in session.exec(stmt)}


def add_windows(session: Session, windows: Iterable[dict[str, Any]]) -> None:
    """Insert window rows (column -> value) in one statement: no ORM objects, since an
    API replica takes in about a thousand a second at 1,000 SDK instances."""
    values = [{**w, "received_at": w.get("received_at") or utcnow()} for w in windows]
    if values:
        session.execute(insert(OutcomeWindow), values)


def windows_since(session: Session, env: str, prompt: str, version: str, variant: str,
                  since: float, until: float | None = None) -> list[OutcomeWindow]:
    """The windows of (env, prompt, version, variant) that started at or after ``since``."""
    stmt = select(OutcomeWindow).where(
        OutcomeWindow.env == env, OutcomeWindow.prompt == prompt,
        OutcomeWindow.version == version, OutcomeWindow.variant == variant,
        col(OutcomeWindow.start) >= since)
    if until is not None:
        stmt = stmt.where(col(OutcomeWindow.start) < until)
    return list(session.exec(stmt))


def prune_windows(session: Session, before: float) -> int:
    result = session.execute(delete(OutcomeWindow).where(col(OutcomeWindow.start) < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# -- fleet --------------------------------------------------------------------------------------


def fleet_row(session: Session, env: str, instance_id: str) -> FleetInstance | None:
    stmt = select(FleetInstance).where(FleetInstance.env == env,
                                       FleetInstance.instance_id == instance_id)
    return session.exec(stmt).first()


def save_instance(session: Session, row: FleetInstance) -> None:
    session.add(row)


def fleet_rows(session: Session, env: str | None = None, seen_after: float | None = None
               ) -> list[FleetInstance]:
    stmt = select(FleetInstance)
    if env is not None:
        stmt = stmt.where(FleetInstance.env == env)
    if seen_after is not None:
        stmt = stmt.where(col(FleetInstance.last_seen) >= seen_after)
    return list(session.exec(stmt.order_by(FleetInstance.env, FleetInstance.app,
                                           FleetInstance.instance_id)))


def prune_fleet(session: Session, before: float) -> int:
    result = session.execute(delete(FleetInstance).where(col(FleetInstance.last_seen) < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
