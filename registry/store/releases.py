"""Queries over released artifacts."""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import tuple_
from sqlmodel import Session, col, select

from promptctl.catalog import Catalog, Entry
from promptctl.evals import suite as _eval_kind  # noqa: F401  (registers the eval kind)
from promptctl.model import ArtifactBase, ArtifactKey, artifact_from_content
from promptctl.store.tables import ReleaseRecord


def get_release(session: Session, key: ArtifactKey) -> ReleaseRecord | None:
    stmt = select(ReleaseRecord).where(
        ReleaseRecord.kind == key.kind,
        ReleaseRecord.name == key.name,
        ReleaseRecord.version == key.version,
    )
    return session.exec(stmt).first()


def add_release(session: Session, record: ReleaseRecord) -> ReleaseRecord:
    session.add(record)
    return record


def all_releases(session: Session, kind: str | None = None) -> list[ReleaseRecord]:
    stmt = select(ReleaseRecord)
    if kind:
        stmt = stmt.where(ReleaseRecord.kind == kind)
    return list(session.exec(stmt.order_by(col(ReleaseRecord.id))))


def releases_of(session: Session, kind: str, name: str) -> list[ReleaseRecord]:
    stmt = select(ReleaseRecord).where(ReleaseRecord.kind == kind, ReleaseRecord.name == name)
    return list(session.exec(stmt.order_by(col(ReleaseRecord.id))))


def record_artifact(record: ReleaseRecord) -> ArtifactBase:
    """The artifact exactly as it was released (from the stored canonical content)."""
    return artifact_from_content(json.loads(record.content))


def load_released(catalog: Catalog, session: Session,
                  keys: Iterable[ArtifactKey] | None = None) -> Catalog:
    """Add released artifacts to ``catalog``: every one, or only ``keys``.

    Parsing a release costs far more than reading its row, so a caller that
    needs a few artifacts (a snapshot's served versions and their pins) names
    them instead of paying for the whole registry; keys that were not released
    are simply absent. Keys are read in batches of 300 (SQLite's variable limit).
    """
    if keys is None:
        records = all_releases(session)
    else:
        wanted = sorted(set(keys))
        records = []
        for start in range(0, len(wanted), 300):
            batch = [tuple(key) for key in wanted[start:start + 300]]
            column = tuple_(ReleaseRecord.kind, ReleaseRecord.name, ReleaseRecord.version)
            records += session.exec(select(ReleaseRecord).where(column.in_(batch))).all()
    for record in records:
        catalog.add(Entry(record_artifact(record), None, released=True))
    return catalog


def served_keys(session: Session, keys: Iterable[ArtifactKey]) -> set[ArtifactKey]:
    """The prompt versions among ``keys`` that a rollout serves or can roll back to."""
    from promptctl.store.tables import RolloutRecord

    wanted = {key for key in keys if key.kind == "prompt"}
    names = sorted({key.name for key in wanted})
    served: set[ArtifactKey] = set()
    for start in range(0, len(names), 300):
        stmt = select(RolloutRecord).where(col(RolloutRecord.prompt).in_(names[start:start + 300]))
        for rollout in session.exec(stmt):
            versions = {rollout.stable, rollout.canary, *json.loads(rollout.previous or "[]")}
            served |= {ArtifactKey("prompt", rollout.prompt, v) for v in versions if v} & wanted
    return served


def delete_releases(session: Session, keys: Iterable[ArtifactKey]) -> int:
    """Delete the rows of ``keys`` (a release taking back rows whose tags it could not
    create); returns how many rows went."""
    deleted = 0
    for key in set(keys):
        record = get_release(session, key)
        if record is not None:
            session.delete(record)
            deleted += 1
    return deleted
