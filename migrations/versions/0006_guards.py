"""guarded rollouts: outcome windows from the SDKs, the fleet of SDK instances, rollout plans

Revision ID: 0006_guards
Revises: 0005_evals
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_guards"
down_revision: str | None = "0005_evals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _now() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("created_at", sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "outcome_windows",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("env", sa.String(64), nullable=False),
        sa.Column("prompt", sa.String(64), nullable=False),
        sa.Column("version", sa.String(128), nullable=False),
        sa.Column("variant", sa.String(16), nullable=False),
        sa.Column("instance_id", sa.String(64), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("error_kinds", sa.Text(), nullable=False),
        sa.Column("latency_count", sa.BigInteger(), nullable=False),
        sa.Column("latency_sum", sa.Float(), nullable=False),
        sa.Column("latency_buckets", sa.Text(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("feedback_up", sa.BigInteger(), nullable=False),
        sa.Column("feedback_down", sa.BigInteger(), nullable=False),
        sa.Column("schema_checked", sa.BigInteger(), nullable=False),
        sa.Column("schema_valid", sa.BigInteger(), nullable=False),
        sa.Column("tool_checked", sa.BigInteger(), nullable=False),
        sa.Column("tool_valid", sa.BigInteger(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("env", "instance_id", "prompt", "version", "variant", "start",
                            name="uq_outcome_window"),
    )
    op.create_index("ix_outcome_windows_start", "outcome_windows", ["start"])
    op.create_index("ix_outcome_windows_lookup", "outcome_windows",
                    ["env", "prompt", "version", "variant", "start"])
    op.create_table(
        "fleet_instances",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("env", sa.String(64), nullable=False),
        sa.Column("instance_id", sa.String(64), nullable=False),
        sa.Column("app", sa.String(128), nullable=False),
        sa.Column("sdk_version", sa.String(64), nullable=False),
        sa.Column("host", sa.String(128), nullable=False),
        sa.Column("change_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("swapped_at", sa.Float(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.Column("dropped", sa.Text(), nullable=False),
        sa.UniqueConstraint("env", "instance_id", name="uq_fleet_instance"),
    )
    op.create_index("ix_fleet_instances_env", "fleet_instances", ["env"])
    op.create_index("ix_fleet_instances_last_seen", "fleet_instances", ["last_seen"])
    op.create_table(
        "rollout_plans",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("env", sa.String(64), nullable=False),
        sa.Column("prompt", sa.String(64), nullable=False),
        sa.Column("plan", sa.String(64), nullable=False),
        sa.Column("canary", sa.String(128), nullable=False),
        sa.Column("stable", sa.String(128), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("step_started_at", sa.Float(), nullable=False),
        sa.Column("paused_at", sa.Float(), nullable=True),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("decision", sa.Text(), nullable=False),
        sa.Column("evaluated_at", sa.Float(), nullable=True),
        sa.Column("evaluated_by", sa.String(128), nullable=False),
        sa.Column("evaluations", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _now(),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_rollout_plans_env", "rollout_plans", ["env"])
    op.create_index("ix_rollout_plans_prompt", "rollout_plans", ["prompt"])
    op.create_index("ix_rollout_plans_status", "rollout_plans", ["status"])


def downgrade() -> None:
    op.drop_table("rollout_plans")
    op.drop_table("fleet_instances")
    op.drop_table("outcome_windows")
