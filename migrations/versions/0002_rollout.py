"""rollout: environments, rollout state, audit events, API tokens, eval records

Revision ID: 0002_rollout
Revises: 0001_releases
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0002_rollout"
down_revision: str | None = "0001_releases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_ENVIRONMENTS = ("development", "staging", "production")


def _created_at() -> sa.Column[object]:
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    environments = op.create_table(
        "environments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=64), nullable=False, unique=True),
        _created_at(),
    )
    op.create_table(
        "rollouts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("env", sa.String(length=64), nullable=False),
        sa.Column("prompt", sa.String(length=64), nullable=False),
        sa.Column("stable", sa.String(length=128), nullable=True),
        sa.Column("canary", sa.String(length=128), nullable=True),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("stickiness", sa.String(length=64), nullable=False),
        sa.Column("previous", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("env", "prompt", name="uq_rollout_env_prompt"),
    )
    op.create_index("ix_rollouts_env", "rollouts", ["env"])
    op.create_table(
        "rollout_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("env", sa.String(length=64), nullable=False),
        sa.Column("prompt", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        _created_at(),
    )
    op.create_index("ix_rollout_events_env", "rollout_events", ["env"])
    op.create_index("ix_rollout_events_prompt", "rollout_events", ["prompt"])
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False, unique=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("env", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=256), nullable=False),
        _created_at(),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "eval_records",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("env", sa.String(length=64), nullable=False),
        sa.Column("prompt", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("suite", sa.String(length=128), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("actor", sa.String(length=256), nullable=False),
        _created_at(),
    )
    op.create_index("ix_eval_records_env", "eval_records", ["env"])
    op.create_index("ix_eval_records_prompt", "eval_records", ["prompt"])
    now = datetime.now(UTC)
    op.bulk_insert(environments, [{"name": n, "created_at": now} for n in DEFAULT_ENVIRONMENTS])


def downgrade() -> None:
    op.drop_index("ix_eval_records_prompt", table_name="eval_records")
    op.drop_index("ix_eval_records_env", table_name="eval_records")
    op.drop_table("eval_records")
    op.drop_table("api_tokens")
    op.drop_index("ix_rollout_events_prompt", table_name="rollout_events")
    op.drop_index("ix_rollout_events_env", table_name="rollout_events")
    op.drop_table("rollout_events")
    op.drop_index("ix_rollouts_env", table_name="rollouts")
    op.drop_table("rollouts")
    op.drop_table("environments")
