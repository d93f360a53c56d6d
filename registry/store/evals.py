"""Queries over eval runs and their case results (revision 0005_evals).

The gate (:mod:`promptctl.evals.gate`) decides what counts as evidence; these functions only
read and write rows inside the caller's session.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from promptctl.store.tables import EvalCaseRecord, EvalRecord, EvalRunRecord


def add_run(session: Session, run: EvalRunRecord, cases: list[EvalCaseRecord]) -> EvalRunRecord:
    """Write a run and (some of) its cases; the run gets its id."""
    session.add(run)
    session.flush()
    add_cases(session, run.id or 0, cases)
    return run


def add_cases(session: Session, run_id: int, cases: list[EvalCaseRecord]) -> None:
    for case in cases:
        case.run_id = run_id
        session.add(case)
    session.flush()


def get_run(session: Session, run_id: int) -> EvalRunRecord | None:
    return session.get(EvalRunRecord, run_id)


def case_count(session: Session, run_id: int) -> int:
    stmt = select(func.count()).select_from(EvalCaseRecord).where(
        EvalCaseRecord.run_id == run_id)
    return int(session.exec(stmt).one())


def cases_of(session: Session, run_id: int) -> list[EvalCaseRecord]:
    stmt = select(EvalCaseRecord).where(EvalCaseRecord.run_id == run_id).order_by(
        col(EvalCaseRecord.id))
    return list(session.exec(stmt))


def list_runs(session: Session, *, prompt: str | None = None, suite: str | None = None,
              limit: int = 20) -> list[EvalRunRecord]:
    """The newest runs first (of ``prompt`` and/or ``suite``, if given)."""
    stmt = select(EvalRunRecord)
    if prompt is not None:
        stmt = stmt.where(EvalRunRecord.prompt == prompt)
    if suite is not None:
        stmt = stmt.where(EvalRunRecord.suite == suite)
    return list(session.exec(stmt.order_by(col(EvalRunRecord.id).desc()).limit(limit)))


def runs_for_fingerprint(session: Session, fingerprint: str, env: str,
                         suite: str | None = None) -> list[EvalRunRecord]:
    """Runs of the bundle ``fingerprint`` compared in ``env``, newest first."""
    stmt = select(EvalRunRecord).where(EvalRunRecord.fingerprint == fingerprint,
                                       EvalRunRecord.env == env)
    if suite is not None:
        stmt = stmt.where(EvalRunRecord.suite == suite)
    return list(session.exec(stmt.order_by(col(EvalRunRecord.id).desc()).limit(50)))


def latest_record(session: Session, env: str, prompt: str, version: str,
                  fingerprint: str | None, suite: str | None = None) -> EvalRecord | None:
    """The last ``eval record`` of this bundle (rows older than 0005 match by version)."""
    stmt = select(EvalRecord).where(EvalRecord.env == env, EvalRecord.prompt == prompt,
                                    EvalRecord.version == version)
    if fingerprint is not None:
        stmt = stmt.where((col(EvalRecord.fingerprint) == fingerprint)
                          | col(EvalRecord.fingerprint).is_(None))
    if suite is not None:
        stmt = stmt.where(EvalRecord.suite == suite)
    return session.exec(stmt.order_by(col(EvalRecord.id).desc())).first()
