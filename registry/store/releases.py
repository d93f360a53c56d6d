"""Queries over released artifacts."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from registry.model import ArtifactBase, ArtifactKey, artifact_from_content
from registry.store.tables import ReleaseRecord


def get_release(session: Session, key: ArtifactKey) -> ReleaseRecord | None:
    stmt = select(ReleaseRecord).where(
        ReleaseRecord.kind == key.kind,
        ReleaseRecord.name == key.name,
        ReleaseRecord.version == key.version,
    )
    return session.exec(stmt).first()


def all_releases(session: Session, kind: str | None = None) -> list[ReleaseRecord]:
    stmt = select(ReleaseRecord)
    if kind:
        stmt = stmt.where(ReleaseRecord.kind == kind)
    return list(session.exec(stmt.order_by(ReleaseRecord.id)))


def releases_of(session: Session, kind: str, name: str) -> list[ReleaseRecord]:
    stmt = select(ReleaseRecord).where(ReleaseRecord.kind == kind, ReleaseRecord.name == name)
    return list(session.exec(stmt.order_by(ReleaseRecord.id)))


def record_artifact(record: ReleaseRecord) -> ArtifactBase:
    """The artifact exactly as it was released (from the stored canonical content)."""
    return artifact_from_content(json.loads(record.content))
