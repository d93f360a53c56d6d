"""SQLModel tables. Schema changes go through a new Alembic revision in ``migrations/``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from promptctl.store.rollouts import utcnow  # one clock for the ORM and the Core writers


def now_column() -> Any:
    """A timezone-aware, non-null timestamp set to now on insert (a fresh Column per table)."""
    return Field(default_factory=utcnow,
                 sa_column=Column(DateTime(timezone=True), nullable=False))


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
    author: str = Field(max_length=256)  # who ran ``release`` (the releaser)
    released_at: datetime = now_column()
    # Author of the last commit that changed the file (revision 0003): who wrote this
    # version. None on rows released before that revision recorded it.
    commit_author: str | None = Field(default=None, max_length=256)
    # The smaller bump the author declared, ``level (source): reason`` (revision 0004).
    bump_override: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


# -- rollout (revision 0002_rollout) ------------------------------------------------------------


class EnvironmentRecord(SQLModel, table=True):
    """A named environment (``development``, ``staging``, ``production`` by default)."""

    __tablename__ = "environments"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    created_at: datetime = now_column()


class RolloutRecord(SQLModel, table=True):
    """The current rollout of one prompt in one environment.

    ``version`` is an optimistic lock: every change is ``UPDATE ... WHERE version
    = :read``, so two writers that read the same state cannot both win.
    ``previous`` is a JSON list of earlier stable versions (newest last), popped
    by a rollback that has no canary to clear.
    """

    __tablename__ = "rollouts"
    __table_args__ = (UniqueConstraint("env", "prompt", name="uq_rollout_env_prompt"),)

    id: int | None = Field(default=None, primary_key=True)
    env: str = Field(max_length=64, index=True)
    prompt: str = Field(max_length=64)
    stable: str | None = Field(default=None, max_length=128)
    canary: str | None = Field(default=None, max_length=128)
    percent: int = 0
    stickiness: str = Field(default="default", max_length=64)
    previous: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    version: int = 1
    updated_at: datetime = now_column()


class RolloutEvent(SQLModel, table=True):
    """Append-only audit trail: one row per change, written in the change's transaction.

    Its ``id`` doubles as the change id (ETag) of the environment's snapshot.
    """

    __tablename__ = "rollout_events"

    id: int | None = Field(default=None, primary_key=True)
    env: str = Field(max_length=64, index=True)
    prompt: str = Field(max_length=64, index=True)
    action: str = Field(max_length=32)
    actor: str = Field(max_length=256)
    before: str = Field(sa_column=Column(Text, nullable=False))  # JSON state
    after: str = Field(sa_column=Column(Text, nullable=False))  # JSON state
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = now_column()


class ApiToken(SQLModel, table=True):
    """A bearer token; only the SHA-256 of the secret is stored."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128)
    token_hash: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)  # reader | deployer | admin
    env: str | None = Field(default=None, max_length=64)  # readers: the one env they may read
    created_by: str = Field(max_length=256)
    created_at: datetime = now_column()
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


class EvalRecord(SQLModel, table=True):
    """The outcome of an eval suite for one prompt version in one environment."""

    __tablename__ = "eval_records"

    id: int | None = Field(default=None, primary_key=True)
    env: str = Field(max_length=64, index=True)
    prompt: str = Field(max_length=64, index=True)
    version: str = Field(max_length=128)
    suite: str = Field(max_length=128)
    passed: bool
    score: float | None = None
    actor: str = Field(max_length=256)
    created_at: datetime = now_column()
    # The bundle evaluated (revision 0005_evals); None on rows recorded before it.
    fingerprint: str | None = Field(default=None, max_length=64)


# -- eval runs (revision 0005_evals) ------------------------------------------------------------


class EvalRunRecord(SQLModel, table=True):
    """One run of an eval suite on one bundle, with its gate outcome.

    Bound to its evidence: the bundle ``fingerprint``, the suite's name, version and content
    hash, the provider and judge identity (``identity``, JSON), and the baseline it was
    compared with (an environment's live stable, or a version). ``cases_expected`` against
    the stored case rows tells a complete upload from a partial one.
    """

    __tablename__ = "eval_runs"

    id: int | None = Field(default=None, primary_key=True)
    suite: str = Field(max_length=64, index=True)
    suite_version: str = Field(max_length=128)
    suite_hash: str = Field(max_length=64)
    prompt: str = Field(max_length=64, index=True)
    version: str = Field(max_length=128)
    fingerprint: str = Field(max_length=64, index=True)
    env: str | None = Field(default=None, max_length=64)
    baseline_version: str | None = Field(default=None, max_length=128)
    baseline_fingerprint: str | None = Field(default=None, max_length=64)
    passed: bool
    stopped: str | None = Field(default=None, max_length=32)
    cases_expected: int = 0
    summary: str = Field(sa_column=Column(Text, nullable=False))  # JSON
    comparison: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON
    gate: str = Field(sa_column=Column(Text, nullable=False))  # JSON: the checks
    identity: str = Field(sa_column=Column(Text, nullable=False))  # JSON: provider, judges
    actor: str = Field(max_length=256)
    created_at: datetime = now_column()


class EvalCaseRecord(SQLModel, table=True):
    """One case of one run: pass, score, latency, tokens, cost; output and assertions as
    JSON in ``data``."""

    __tablename__ = "eval_case_results"
    __table_args__ = (UniqueConstraint("run_id", "name", name="uq_eval_case_run_name"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="eval_runs.id", index=True)
    name: str = Field(max_length=256)
    case_hash: str = Field(max_length=64)
    passed: bool
    score: float
    latency_ms: float
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost: float | None = None
    data: str = Field(sa_column=Column(Text, nullable=False))  # JSON



# -- guarded rollouts (revision 0006_guards) ----------------------------------------------------


class OutcomeWindow(SQLModel, table=True):
    """One SDK instance's outcome aggregate of one (prompt, version, variant) over one fixed
    time window: counts and sums only, so windows add up across time and instances.

    Unique per (env, instance, prompt, version, variant, start): a window sent again (its
    first report's answer was lost) is stored once."""

    __tablename__ = "outcome_windows"
    __table_args__ = (UniqueConstraint("env", "instance_id", "prompt", "version", "variant",
                                       "start", name="uq_outcome_window"),)

    id: int | None = Field(default=None, primary_key=True)
    env: str = Field(max_length=64)
    prompt: str = Field(max_length=64)
    version: str = Field(max_length=128)
    variant: str = Field(max_length=16)
    instance_id: str = Field(max_length=64)
    start: float = Field(index=True)  # epoch seconds
    seconds: float
    calls: int
    errors: int
    error_kinds: str = Field(sa_column=Column(Text, nullable=False))  # JSON {kind: count}
    latency_count: int
    latency_sum: float
    latency_buckets: str = Field(sa_column=Column(Text, nullable=False))  # JSON {index: count}
    input_tokens: int
    output_tokens: int
    cost: float
    feedback_up: int
    feedback_down: int
    schema_checked: int
    schema_valid: int
    tool_checked: int
    tool_valid: int
    received_at: datetime = now_column()


class FleetInstance(SQLModel, table=True):
    """An SDK instance as it last reported itself: what it serves and since when."""

    __tablename__ = "fleet_instances"
    __table_args__ = (UniqueConstraint("env", "instance_id", name="uq_fleet_instance"),)

    id: int | None = Field(default=None, primary_key=True)
    env: str = Field(max_length=64, index=True)
    instance_id: str = Field(max_length=64)
    app: str = Field(max_length=128)
    sdk_version: str = Field(max_length=64)
    host: str = Field(max_length=128)
    change_id: int
    source: str = Field(max_length=16)
    swapped_at: float  # epoch seconds, as the instance saw it
    started_at: float
    last_seen: float = Field(index=True)  # epoch seconds, the server's clock
    dropped: str = Field(sa_column=Column(Text, nullable=False))  # JSON counters


class PlanRecord(SQLModel, table=True):
    """A rollout plan in progress (or finished) for one (env, prompt): state, not a process.

    ``spec`` is the plan as it was started (JSON), so a restart or another replica evaluates
    exactly what was promoted. ``version`` is an optimistic lock like ``rollouts.version``."""

    __tablename__ = "rollout_plans"

    id: int | None = Field(default=None, primary_key=True)
    env: str = Field(max_length=64, index=True)
    prompt: str = Field(max_length=64, index=True)
    plan: str = Field(max_length=64)
    canary: str = Field(max_length=128)
    stable: str = Field(max_length=128)
    spec: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=16, index=True)  # running|paused|completed|rolled_back|aborted
    step: int = 0
    step_started_at: float  # epoch seconds
    paused_at: float | None = None
    figures: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # last evaluation
    decision: str = Field(default="", sa_column=Column(Text, nullable=False))
    evaluated_at: float | None = None
    evaluated_by: str = Field(default="", max_length=128)
    evaluations: int = 0
    actor: str = Field(max_length=256)
    version: int = 1
    created_at: datetime = now_column()
    updated_at: datetime = now_column()
