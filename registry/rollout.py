"""Rollout control: promote, roll back, status and history per (environment, prompt).

The registry database is the record. Each change and its audit event commit in
one transaction; the row's ``version`` column is an optimistic lock, so two
writers that read the same state cannot both win (the loser gets
``ConflictError``, exit 4 / HTTP 409) and no update is ever lost. Only after the
commit is the new state handed to the flag backend (DESIGN §4).

Everything here runs on SQLAlchemy Core connections (:mod:`promptctl.store.rollouts`):
``promptctl promote``/``rollback``/``status`` against the database load neither SQLModel
nor the ORM, nor the models (pydantic), so they start fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from promptctl.env_names import check_env_name
from promptctl.errors import (
    BackendUnavailable,
    ConflictError,
    NotFoundError,
    UsageError,
)
from promptctl.failpoints import crash_point
from promptctl.flags.base import FlagBackend
from promptctl.rollout_state import Change, RolloutState, default_actor
from promptctl.store import Store, on_duplicate
from promptctl.store import rollouts as rows
from promptctl.store.changes import lock_environment, notify_change
from promptctl.store.rollouts import Connection, Row

CANARY_PERCENT_RANGE = range(1, 100)


class Rollouts:
    """Rollout control over one store.

    ``environments`` is ``Settings.environments`` (per-environment options such
    as ``require_eval``); environments named there are known even before
    ``env add``. ``on_change`` is called after every commit with the change,
    e.g. to wake the API's event stream.
    """

    def __init__(self, store: Store, environments: Mapping[str, Mapping[str, Any]] | None = None,
                 backend: FlagBackend | None = None,
                 on_change: Callable[[Change], None] | None = None) -> None:
        self.store = store
        self.config = {k: dict(v) for k, v in (environments or {}).items()}
        self.backend = backend
        self.on_change = on_change

    # -- environments -------------------------------------------------------------------------

    def environments(self) -> list[str]:
        with self.store.connect() as conn:
            stored = rows.environment_names(conn)
        return sorted(stored | set(self.config))

    def require_environment(self, env: str) -> None:
        if env in self.config:
            return
        with self.store.connect() as conn:
            if not rows.environment_exists(conn, env):
                known = ", ".join(self.environments())
                raise NotFoundError(f"unknown environment {env!r} (known: {known}); "
                                    "add it with `promptctl env add`")

    def add_environment(self, name: str) -> str:
        check_env_name(name)
        exists = ConflictError(f"environment {name!r} already exists")
        with on_duplicate(exists), self.store.begin() as conn:
            if rows.environment_exists(conn, name):
                raise exists
            rows.add_environment(conn, name)
        return name

    # -- reading ------------------------------------------------------------------------------

    def state(self, env: str, prompt: str) -> RolloutState | None:
        self.require_environment(env)
        with self.store.connect() as conn:
            row = rows.rollout_row(conn, env, prompt)
            return RolloutState.of(row) if row else None

    def status(self, env: str | None = None) -> list[RolloutState]:
        if env is not None:
            self.require_environment(env)
        with self.store.connect() as conn:
            return [RolloutState.of(r) for r in rows.rollout_rows(conn, env)]

    def history(self, env: str, prompt: str) -> list[Change]:
        self.require_environment(env)
        with self.store.connect() as conn:
            events = [Change.of(e) for e in rows.rollout_events(conn, env, prompt)]
            if not events and not _prompt_released(conn, prompt):
                raise NotFoundError(f"no prompt named {prompt!r} is released")
        return events

    # -- changing -----------------------------------------------------------------------------

    def promote(self, env: str, prompt: str, version: str, *, percent: int = 100,
                reason: str | None = None, actor: str | None = None) -> Change:
        """Serve ``version`` to ``percent`` of keys (a canary) or, at 100, to everyone."""
        if isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= 100:
            raise UsageError(f"percent must be an integer from 1 to 100, got {percent!r}")
        self.require_environment(env)
        with self.store.connect() as conn:
            _require_released(conn, prompt, version)
            self._check_eval_gate(conn, env, prompt, version)

        def change(current: RolloutState, previous: list[str]) -> tuple[RolloutState, list[str]]:
            return _promoted(current, previous, version, percent)

        return self._apply(env, prompt, "promote", change, reason, actor)

    def rollback(self, env: str, prompt: str, *, reason: str | None = None,
                 actor: str | None = None) -> Change:
        """Clear the canary if there is one, else restore the previous stable version."""
        self.require_environment(env)

        def change(current: RolloutState, previous: list[str]) -> tuple[RolloutState, list[str]]:
            if current.version == 0:
                raise NotFoundError(f"{prompt} has no rollout in {env}: nothing to roll back")
            return _rolled_back(current, previous)

        return self._apply(env, prompt, "rollback", change, reason, actor)

    def record_eval(self, env: str, prompt: str, version: str, *, passed: bool, suite: str,
                    score: float | None = None, actor: str | None = None,
                    fingerprint: str | None = None) -> Row[Any]:
        """Record an eval outcome of a released version's bundle; environments with
        ``require_eval`` gate promotes on it. ``fingerprint``, when given, must be the
        released bundle's (a result of another bundle is no evidence for this one)."""
        from promptctl.evals.records import released_fingerprint

        if not suite or len(suite) > 128:
            raise UsageError("the eval suite's name must have 1-128 characters, "
                             f"got {len(suite or '')}")
        self.require_environment(env)
        with self.store.begin() as conn:
            _require_released(conn, prompt, version)
            with self.store.session_on(conn) as session:
                released = released_fingerprint(session, prompt, version)
            if fingerprint is not None and fingerprint != released:
                raise UsageError(f"fingerprint {fingerprint[:12]} is not the bundle of "
                                 f"{prompt}@{version} ({released[:12]}): the result is of "
                                 "another bundle")
            return rows.add_eval(conn, env=env, prompt=prompt, version=version, suite=suite,
                                 passed=passed, score=score, actor=actor or default_actor(),
                                 fingerprint=released)

    # -- internals ----------------------------------------------------------------------------

    def _check_eval_gate(self, conn: Connection, env: str, prompt: str, version: str) -> None:
        """See :func:`promptctl.evals.records.check_gate`: a passing run of this exact
        bundle against the environment's live stable."""
        required = self.config.get(env, {}).get("require_eval", False)
        if not required:
            return
        from promptctl.evals.records import check_gate

        row = rows.rollout_row(conn, env, prompt)
        with self.store.session_on(conn) as session:
            check_gate(session, env, prompt, version, required, row.stable if row else None)

    def _apply(self, env: str, prompt: str, action: str,
               change: Callable[[RolloutState, list[str]], tuple[RolloutState, list[str]]],
               reason: str | None, actor: str | None) -> Change:
        """Read, change and write the row plus its audit event in one transaction."""
        with on_duplicate(_conflict(env, prompt)), self.store.begin() as conn:
            lock_environment(conn, env)  # audit ids commit in order (state deltas)
            row = rows.rollout_row(conn, env, prompt)
            current = RolloutState.of(row) if row else RolloutState(env, prompt, None)
            previous = json.loads(row.previous) if row else []
            new, new_previous = change(current, previous)
            _write_row(conn, row, new, new_previous)
            crash_point("rollout.before-audit")  # fault tests: die mid-transaction
            event = rows.add_event(
                conn, env=env, prompt=prompt, action=action, actor=actor or default_actor(),
                before=json.dumps(current.public()), after=json.dumps(new.public()),
                reason=reason)
            result = Change.of(event)
            if not self.store.is_sqlite:  # other replicas LISTEN (promptctl.api.pg_feed)
                notify_change(conn, env, result.id)
        self._publish(result, new)
        return result

    def _publish(self, change: Change, state: RolloutState) -> None:
        if self.on_change is not None:
            self.on_change(change)
        if self.backend is not None:
            try:
                self.backend.publish(state)  # a RolloutState is a FlagState
            except BackendUnavailable as exc:
                raise BackendUnavailable(
                    f"{exc.message} (the change is recorded in the registry as event "
                    f"#{change.id}, but the {self.backend.name} flag is out of date until "
                    "the next promote or rollback)") from exc


def _promoted(current: RolloutState, previous: list[str], version: str, percent: int
              ) -> tuple[RolloutState, list[str]]:
    """``previous`` is the stack of earlier stable versions (newest last)."""
    if percent == 100:
        if current.stable == version and current.canary is None:
            raise UsageError(f"{current.prompt}@{version} is already stable in {current.env}")
        pushed = previous
        if current.stable is not None and current.stable != version:
            pushed = [*previous, current.stable]
        return replace(current, stable=version, canary=None, percent=0), pushed
    if current.stable is None:
        raise UsageError(f"{current.prompt} has no stable version in {current.env} to canary "
                         f"against: promote a version to 100% first")
    if current.stable == version:
        raise UsageError(f"{current.prompt}@{version} is already stable in {current.env}")
    return replace(current, canary=version, percent=percent), previous


def _rolled_back(current: RolloutState, previous: list[str]) -> tuple[RolloutState, list[str]]:
    if current.canary is not None:
        return replace(current, canary=None, percent=0), previous
    if not previous:
        raise UsageError(f"{current.prompt} in {current.env} has no canary and no previous "
                         f"stable version: nothing to roll back to")
    return replace(current, stable=previous[-1], canary=None, percent=0), previous[:-1]


def _write_row(conn: Connection, row: Row[Any] | None, new: RolloutState,
               previous: list[str]) -> None:
    values: dict[str, object] = {"stable": new.stable, "canary": new.canary,
                                 "percent": new.percent, "stickiness": new.stickiness}
    if not rows.write_rollout_row(conn, row, new.env, new.prompt, values, previous):
        raise _conflict(new.env, new.prompt)


def _conflict(env: str, prompt: str) -> ConflictError:
    return ConflictError(f"{prompt} in {env} was changed by someone else at the same time: "
                         "check `promptctl status` and retry")


def _prompt_released(conn: Connection, prompt: str) -> bool:
    return bool(rows.released_versions(conn, "prompt", prompt))


def _require_released(conn: Connection, prompt: str, version: str) -> None:
    """Only released versions can be promoted or evaluated."""
    if not rows.is_released(conn, "prompt", prompt, version):
        raise NotFoundError(_not_released(conn, prompt, version))


def _not_released(conn: Connection, prompt: str, version: str) -> str:
    versions = rows.released_versions(conn, "prompt", prompt)
    if not versions:
        other = next((k for k in ("model", "tool", "index")
                      if rows.released_versions(conn, k, prompt)),
                     None)
        return (f"{prompt} is a {other}; only prompts are promoted" if other
                else f"no prompt named {prompt!r} is released")
    return (f"prompt {prompt}@{version} is not released (released: {', '.join(versions)}); "
            "only released versions can be promoted")
