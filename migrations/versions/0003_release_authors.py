"""release authors: the author of the released content, apart from who ran ``release``

``releases.author`` keeps meaning who ran ``release`` (the releaser); the new
``commit_author`` is the author of the last commit that changed the file, which
answers "who wrote this version". It is nullable: rows released before this
revision did not record it, and showing the releaser in its place would repeat
the very mix-up this revision fixes.

Revision ID: 0003_release_authors
Revises: 0002_rollout
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_release_authors"
down_revision: str | None = "0002_rollout"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("releases", sa.Column("commit_author", sa.String(length=256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("releases") as batch:  # SQLite cannot drop a column in place
        batch.drop_column("commit_author")
