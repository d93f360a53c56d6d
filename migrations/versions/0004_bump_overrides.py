"""bump overrides: the smaller bump an author declared for a released version, and why

``diff --check`` accepts a declared override as a warning; the release keeps it
(``level (source): reason``) so that ``show`` and ``history`` answer later why a
template change shipped as a patch. Nullable: most versions declare none.

Revision ID: 0004_bump_overrides
Revises: 0003_release_authors
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_bump_overrides"
down_revision: str | None = "0003_release_authors"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("releases", sa.Column("bump_override", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("releases") as batch:  # SQLite cannot drop a column in place
        batch.drop_column("bump_override")
