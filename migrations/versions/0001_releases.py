"""releases: one row per released (kind, name, version)

Revision ID: 0001_releases
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_releases"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("path", sa.String(length=512), nullable=False),
        sa.Column("git_commit", sa.String(length=64), nullable=False),
        sa.Column("tag", sa.String(length=256), nullable=False),
        sa.Column("author", sa.String(length=256), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("kind", "name", "version", name="uq_release_key"),
    )
    op.create_index("ix_releases_kind", "releases", ["kind"])
    op.create_index("ix_releases_name", "releases", ["name"])


def downgrade() -> None:
    op.drop_index("ix_releases_name", table_name="releases")
    op.drop_index("ix_releases_kind", table_name="releases")
    op.drop_table("releases")
