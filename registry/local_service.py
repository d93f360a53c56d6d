"""The application layer on the local store: :class:`promptctl.service.RegistryService`
over :class:`promptctl.rollout.Rollouts` and :mod:`promptctl.tokens`.

The CLI uses it when no ``PROMPTCTL_URL`` is set; the API routes use one for every request
(naming the calling token as the actor), so a use case is written once. Rollouts run on
SQLAlchemy Core; the token queries (the ORM) load when a token command runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptctl.actors import current_actor
from promptctl.config import Settings
from promptctl.errors import ConflictError, NotFoundError, UsageError
from promptctl.flags.base import FlagBackend
from promptctl.limits import DEFAULT_LIMITS, Limits
from promptctl.rollout import Rollouts
from promptctl.rollout_state import Change, RolloutState, as_utc
from promptctl.service import (
    CreatedToken,
    EvalResult,
    EvalRunInfo,
    RevokedToken,
    TokenInfo,
    check_score,
)
from promptctl.store import Store, on_duplicate

if TYPE_CHECKING:
    from promptctl.guard_types import FleetEntry, PlanStatus
    from promptctl.guarded import GuardedRollouts
    from promptctl.outcome_series import SeriesPoint
    from promptctl.plans import PlanSpec


class LocalService:
    """Rollout state, environments, evals and tokens in ``rollouts.store``.

    ``acting_in`` is the folder whose git identity acts when a call names no actor (the
    CLI's repository); ``None``: the OS login. ``make_backend`` builds the flag backend on
    the first promote or rollback, so reading commands work (and stay fast) whatever
    ``PROMPTCTL_FLAGS`` says.
    """

    def __init__(self, rollouts: Rollouts, *, acting_in: Path | None = None,
                 make_backend: Callable[[], FlagBackend | None] | None = None,
                 limits: Limits = DEFAULT_LIMITS) -> None:
        self.rollouts = rollouts
        self.store = rollouts.store
        self.acting_in = acting_in
        self._make_backend = make_backend
        self.limits = limits

    @classmethod
    def open(cls, settings: Settings, *, store: Store | None = None) -> LocalService:
        """The service over ``settings``' database (opened and migrated when not given)."""
        from promptctl.flags.factory import make_backend

        rollouts = Rollouts(store or Store.open(settings.db_url), settings.environments)
        return cls(rollouts, acting_in=settings.root,
                   make_backend=lambda: make_backend(settings), limits=settings.limits)

    # -- rollout ----------------------------------------------------------------------------

    def promote(self, env: str, prompt: str, version: str, *, percent: int = 100,
                reason: str | None = None, actor: str | None = None) -> Change:
        return self._publishing().promote(env, prompt, version, percent=percent, reason=reason,
                                          actor=self._actor(actor))

    def rollback(self, env: str, prompt: str, *, reason: str | None = None,
                 actor: str | None = None) -> Change:
        return self._publishing().rollback(env, prompt, reason=reason, actor=self._actor(actor))

    def status(self, env: str | None = None) -> list[RolloutState]:
        return self.rollouts.status(env)

    def history(self, env: str, prompt: str) -> list[Change]:
        return self.rollouts.history(env, prompt)

    # -- environments and evals -------------------------------------------------------------

    def environments(self) -> list[str]:
        return self.rollouts.environments()

    def add_environment(self, name: str) -> str:
        return self.rollouts.add_environment(name)

    def record_eval(self, env: str, prompt: str, version: str, *, passed: bool, suite: str,
                    score: float | None = None, actor: str | None = None,
                    fingerprint: str | None = None) -> EvalResult:
        record = self.rollouts.record_eval(env, prompt, version, passed=passed, suite=suite,
                                           score=check_score(score), actor=self._actor(actor),
                                           fingerprint=fingerprint)
        return EvalResult(id=record.id or 0, env=record.env, prompt=record.prompt,
                          version=record.version, suite=record.suite, passed=record.passed,
                          score=record.score, actor=record.actor,
                          created_at=as_utc(record.created_at), fingerprint=record.fingerprint)

    # -- tokens -----------------------------------------------------------------------------

    def create_token(self, role: str, env: str | None = None, *, name: str | None = None,
                     actor: str | None = None) -> CreatedToken:
        if env:
            self.rollouts.require_environment(env)
        from promptctl import tokens  # the ORM loads for token commands only

        principal, secret = tokens.create_token(self.store, role, env, name=name,
                                                created_by=self._actor(actor))
        return CreatedToken(id=principal.id, name=principal.name, role=principal.role,
                            env=principal.env, secret=secret)

    def list_tokens(self) -> list[TokenInfo]:
        from promptctl import tokens

        return [TokenInfo.from_dict(row) for row in tokens.list_tokens(self.store)]

    def revoke_token(self, token_id: int) -> RevokedToken:
        from promptctl import tokens

        revoked_at: datetime = tokens.revoke_token(self.store, token_id)
        return RevokedToken(id=token_id, revoked_at=as_utc(revoked_at))

    # --- evals ---

    def record_eval_run(self, payload: dict[str, Any], *,
                        actor: str | None = None) -> EvalRunInfo:
        """Store a run and its cases in one transaction (the API adds later batches of
        cases with :meth:`add_eval_cases`)."""
        from promptctl.evals import records
        from promptctl.store import evals as rows

        run, expected = records.parse_upload(payload)
        if payload.get("env"):
            self.rollouts.require_environment(str(payload["env"]))
        with self.store.write() as session:
            record = rows.add_run(session, records.run_record(payload, run, expected,
                                                              self._actor(actor)),
                                  records.case_records(run.cases))
            info = records.run_info(session, record, with_cases=False)
        return EvalRunInfo.from_dict(info)

    def add_eval_cases(self, run_id: int, cases: list[dict[str, Any]]) -> EvalRunInfo:
        """More cases of a run uploaded in parts (never more than it declared)."""
        from promptctl.evals import records
        from promptctl.store import evals as rows

        parsed = records.parse_cases(cases)
        with on_duplicate(ConflictError(f"run {run_id} already has one of these cases")), \
                self.store.write() as session:
            record = rows.get_run(session, run_id)
            if record is None:
                raise NotFoundError(f"no eval run {run_id}")
            if rows.case_count(session, run_id) + len(parsed) > record.cases_expected:
                raise UsageError(f"run {run_id} declared {record.cases_expected} cases: these "
                                 "are more")
            rows.add_cases(session, run_id, records.case_records(parsed))
            info = records.run_info(session, record, with_cases=False)
        return EvalRunInfo.from_dict(info)

    def eval_runs(self, *, prompt: str | None = None, suite: str | None = None,
                  limit: int = 20) -> list[EvalRunInfo]:
        from promptctl.evals import records
        from promptctl.store import evals as rows

        with self.store.session() as session:
            found = rows.list_runs(session, prompt=prompt, suite=suite, limit=limit)
            return [EvalRunInfo.from_dict(records.run_info(session, r, with_cases=False))
                    for r in found]

    def eval_run(self, run_id: int) -> EvalRunInfo:
        from promptctl.evals import records
        from promptctl.store import evals as rows

        with self.store.session() as session:
            record = rows.get_run(session, run_id)
            if record is None:
                raise NotFoundError(f"no eval run {run_id}")
            return EvalRunInfo.from_dict(records.run_info(session, record, with_cases=True))

    def released_bundle(self, prompt: str, version: str) -> dict[str, Any]:
        from promptctl.evals.records import released_bundle

        with self.store.session() as session:
            return released_bundle(session, prompt, version).to_dict()

    # --- guarded rollouts ---

    def fleet(self, env: str | None = None) -> list[FleetEntry]:
        return self._guarded().fleet(env)

    def start_plan(self, env: str, prompt: str, version: str, spec: PlanSpec, *,
                   reason: str | None = None, actor: str | None = None) -> PlanStatus:
        self._publishing()  # the flag backend gets the plan's first step too
        return self._guarded().start_plan(env, prompt, version, spec, reason=reason,
                                          actor=self._actor(actor))

    def plans(self, env: str | None = None) -> list[PlanStatus]:
        from promptctl.store import rollouts as rows

        with self.store.connect() as conn:
            if not rows.any_plans(conn, env):  # the common case, without the plan models
                if env is not None:
                    self.rollouts.require_environment(env)
                return []
        return self._guarded().plans(env)

    def control_plan(self, env: str, prompt: str, action: str, *,
                     actor: str | None = None) -> PlanStatus:
        return self._guarded().control(env, prompt, action, actor=self._actor(actor))

    def outcome_series(self, env: str, prompt: str, versions: dict[str, str], *,
                       since: float, bucket_seconds: float) -> list[SeriesPoint]:
        """Outcome figures per time bucket, per variant (the dashboard's charts; local
        only: the server draws them itself)."""
        from promptctl.outcome_series import outcome_series

        return outcome_series(self.store, env, prompt, versions, since=since,
                              bucket_seconds=bucket_seconds)

    def _guarded(self) -> GuardedRollouts:
        from promptctl.guarded import GuardedRollouts

        return GuardedRollouts(self.rollouts, self.limits)

    # -- internals --------------------------------------------------------------------------

    def _actor(self, actor: str | None) -> str:
        return actor or current_actor(self.acting_in)

    def _publishing(self) -> Rollouts:
        """The rollouts with the flag backend attached (built on first need)."""
        if self._make_backend is not None:
            self.rollouts.backend = self._make_backend()
            self._make_backend = None
        return self.rollouts
