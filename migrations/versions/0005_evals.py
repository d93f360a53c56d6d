"""evals: eval runs and their case results; eval records name the bundle's fingerprint

A run is bound to the bundle fingerprint, the suite's content hash, the provider and judge
identity and the baseline it was compared with; the gate reads runs by fingerprint.

Revision ID: 0005_evals
Revises: 0004_bump_overrides
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_evals"
down_revision: str | None = "0004_bump_overrides"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("eval_records", sa.Column("fingerprint", sa.String(length=64), nullable=True))
    op.create_table(
        "eval_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("suite", sa.String(length=64), nullable=False),
        sa.Column("suite_version", sa.String(length=128), nullable=False),
        sa.Column("suite_hash", sa.String(length=64), nullable=False),
        sa.Column("prompt", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=128), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("env", sa.String(length=64), nullable=True),
        sa.Column("baseline_version", sa.String(length=128), nullable=True),
        sa.Column("baseline_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("stopped", sa.String(length=32), nullable=True),
        sa.Column("cases_expected", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("comparison", sa.Text(), nullable=True),
        sa.Column("gate", sa.Text(), nullable=False),
        sa.Column("identity", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_eval_runs_suite", "eval_runs", ["suite"])
    op.create_index("ix_eval_runs_prompt", "eval_runs", ["prompt"])
    op.create_index("ix_eval_runs_fingerprint", "eval_runs", ["fingerprint"])
    op.create_table(
        "eval_case_results",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.Integer(), sa.ForeignKey("eval_runs.id"), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("case_hash", sa.String(length=64), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.UniqueConstraint("run_id", "name", name="uq_eval_case_run_name"),
    )
    op.create_index("ix_eval_case_results_run_id", "eval_case_results", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_eval_case_results_run_id", table_name="eval_case_results")
    op.drop_table("eval_case_results")
    for column in ("fingerprint", "prompt", "suite"):
        op.drop_index(f"ix_eval_runs_{column}", table_name="eval_runs")
    op.drop_table("eval_runs")
    with op.batch_alter_table("eval_records") as batch:  # SQLite cannot drop a column in place
        batch.drop_column("fingerprint")
