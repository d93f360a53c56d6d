"""SQLModel tables. Schema changes go through a new Alembic revision in ``migrations/``."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class ReleaseRecord(SQLModel, table=True):
    """One released (kind, name, version): immutable once written."""

    __tablename__ = "releases"
    __table_args__ = (UniqueConstraint("kind", "name", "version", name="uq_release_key"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16, index=True)
    name: str = Field(max_length=64, index=True)
    version: str = Field(max_length=128)
    content_hash: str = Field(max_length=64)
    content: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON
    path: str = Field(max_length=512)
    git_commit: str = Field(max_length=64)
    tag: str = Field(max_length=256)
    author: str = Field(max_length=256)
    released_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
