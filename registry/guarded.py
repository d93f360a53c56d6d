"""Guarded rollouts on the local store: plans (start, pause, resume, abort, evaluate) and
the fleet of SDK instances.

A plan is state, not a process: its row (``rollout_plans``) says which step it is at, since
when, and which change it still has to make (``pending``: the intent is committed first, then
the rollout is changed, then the intent is cleared), so an evaluator that dies between the
two finishes the change on its next tick, once, on whichever replica evaluates next. Every
change a plan makes goes through :class:`promptctl.rollout.Rollouts` (audited, published to
the event streams); the plan's own changes are audited with actor ``guard``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from promptctl.errors import ConflictError, NotFoundError, UsageError
from promptctl.guard_eval import Decision, decide, figures_doc, figures_of
from promptctl.guard_types import FleetEntry, PlanStatus
from promptctl.limits import DEFAULT_LIMITS, Limits
from promptctl.plans import PlanSpec
from promptctl.rollout import Rollouts
from promptctl.rollout_state import RolloutState
from promptctl.store import outcomes as outcome_rows
from promptctl.store import plans as plan_rows
from promptctl.store.changes import latest_change_ids
from promptctl.store.tables import PlanRecord

GUARD_ACTOR = "guard"
ACTIONS = ("pause", "resume", "abort")


class GuardedRollouts:
    def __init__(self, rollouts: Rollouts, limits: Limits = DEFAULT_LIMITS) -> None:
        self.rollouts = rollouts
        self.store = rollouts.store
        self.limits = limits

    # -- plans --------------------------------------------------------------------------------

    def start_plan(self, env: str, prompt: str, version: str, spec: PlanSpec, *,
                   reason: str | None = None, actor: str) -> PlanStatus:
        """Promote ``version`` to the plan's first step and record the plan (running)."""
        spec = PlanSpec.from_dict(spec.to_dict())  # checked again: it may come from a client
        current = self.rollouts.state(env, prompt)
        if current is None or current.stable is None:
            raise UsageError(f"{prompt} has no stable version in {env} to canary against: "
                             "promote a version to 100% first")
        with self.store.session() as session:
            running = plan_rows.active_plan(session, env, prompt)
        if running is not None:
            raise ConflictError(f"{prompt} in {env} already has a {running.status} plan "
                                f"({running.plan}, {running.canary}): "
                                "(abort it with `promptctl plan abort`)")
        self.rollouts.promote(env, prompt, version, percent=spec.steps[0],
                              reason=reason or f"plan {spec.name}: step 1/{len(spec.steps)}",
                              actor=actor)
        with self.store.write() as session:
            row = plan_rows.add_plan(session, PlanRecord(
                env=env, prompt=prompt, plan=spec.name, canary=version,
                stable=current.stable, spec=json.dumps(spec.to_dict()), status="running",
                step=0, step_started_at=time.time(), actor=actor))
        return self.status_of(row)

    def control(self, env: str, prompt: str, action: str, *, actor: str) -> PlanStatus:
        """Pause, resume or abort the plan of ``prompt`` in ``env``. Aborting leaves the
        rollout as it is (roll back or promote by hand)."""
        if action not in ACTIONS:
            raise UsageError(f"plan action must be one of {', '.join(ACTIONS)}, got {action!r}")
        self.rollouts.require_environment(env)
        with self.store.write() as session:
            row = plan_rows.active_plan(session, env, prompt)
            if row is None:
                raise NotFoundError(f"{prompt} has no running or paused plan in {env}")
            now = time.time()
            values: dict[str, Any]
            if action == "pause":
                if row.status == "paused":
                    raise UsageError(f"the plan of {prompt} in {env} is already paused")
                values = {"status": "paused", "paused_at": now}
            elif action == "resume":
                if row.status != "paused":
                    raise UsageError(f"the plan of {prompt} in {env} is not paused")
                held = (row.paused_at or now) - row.step_started_at
                values = {"status": "running", "paused_at": None,
                          "step_started_at": now - max(0.0, held)}
            else:
                values = {"status": "aborted", "decision": json.dumps(
                    {"action": "abort", "reason": f"aborted by {actor}", "breaches": []})}
            if not plan_rows.update_plan(session, row, values):
                raise ConflictError(f"the plan of {prompt} in {env} changed meanwhile; retry")
            fresh = plan_rows.plan_by_id(session, row.id or 0)
            assert fresh is not None
            session.refresh(fresh)
        return self.status_of(fresh)

    def plans(self, env: str | None = None) -> list[PlanStatus]:
        if env is not None:
            self.rollouts.require_environment(env)
        with self.store.session() as session:
            rows = plan_rows.latest_plans(session, env)
        return [self.status_of(r) for r in rows]

    def status_of(self, row: PlanRecord) -> PlanStatus:
        spec = json.loads(row.spec)
        steps = [int(s) for s in spec["steps"]]
        step = min(row.step, len(steps) - 1)
        next_in = None
        if row.status == "running":
            next_in = max(0.0, row.step_started_at + float(spec["hold_seconds"]) - time.time())
        return PlanStatus(
            id=row.id or 0, env=row.env, prompt=row.prompt, plan=row.plan, canary=row.canary,
            stable=row.stable, status=row.status, step=step, steps=steps,
            percent=steps[step], step_started_at=row.step_started_at,
            hold_seconds=float(spec["hold_seconds"]), next_step_in=next_in,
            figures=json.loads(row.figures or "{}"),
            decision=json.loads(row.decision) if row.decision else {},
            evaluated_at=row.evaluated_at, evaluated_by=row.evaluated_by,
            evaluations=row.evaluations, spec=spec)

    # -- evaluating (the plan runner calls this on one replica) -------------------------------

    def tick(self, evaluator: str, now: float | None = None) -> list[str]:
        """Finish the changes decided earlier, then evaluate every running plan once; what
        each did (``env/prompt: action``)."""
        self._finish_pending()
        with self.store.session() as session:
            rows = plan_rows.running_plans(session)
        done = []
        for row in rows:
            try:
                done.append(f"{row.env}/{row.prompt}: {self.evaluate(row, evaluator, now)}")
            except ConflictError:
                done.append(f"{row.env}/{row.prompt}: conflict (retried next tick)")
        return done

    def evaluate(self, row: PlanRecord, evaluator: str, now: float | None = None) -> str:
        now = time.time() if now is None else now
        if _pending(row):
            return "pending"  # finished by _finish_pending first
        spec = PlanSpec.from_dict(json.loads(row.spec))
        current = self.rollouts.state(row.env, row.prompt)
        if current is None or current.canary != row.canary:
            return self._write(row, {"status": "aborted", "decision": json.dumps(
                {"action": "abort", "reason": "the rollout was changed outside the plan "
                 f"(now {_describe(current)})", "breaches": []})}, "aborted")
        since = row.step_started_at
        with self.store.session() as session:
            canary = figures_of(outcome_rows.windows_since(
                session, row.env, row.prompt, row.canary, "canary", since))
            stable = figures_of(outcome_rows.windows_since(
                session, row.env, row.prompt, current.stable or row.stable, "stable", since))
        decision = decide(spec, canary, stable, now - since)
        values: dict[str, Any] = {
            "figures": json.dumps(figures_doc(canary, stable)),
            "decision": json.dumps(decision.to_dict()), "evaluated_at": now,
            "evaluated_by": evaluator[:128], "evaluations": row.evaluations + 1}
        if decision.action in ("breach", "timeout"):
            values |= {"pending": _intent("rollback", _audit_reason(spec, row, decision,
                                                                   canary, stable),
                                          then="rolled_back")}
        elif decision.action == "advance":
            nxt = row.step + 1
            percent = spec.steps[nxt]
            values |= {"step": nxt, "step_started_at": now, "pending": _intent(
                "promote", f"plan {spec.name}: step {nxt + 1}/{len(spec.steps)} "
                f"({percent}%): {decision.reason}", percent,
                then="completed" if percent == 100 else None)}
        return self._write(row, values, decision.action)

    def _write(self, row: PlanRecord, values: dict[str, Any], action: str) -> str:
        pending = values.pop("pending", None)
        if pending is not None:
            values["decision"] = json.dumps(json.loads(values.get("decision", "{}") or "{}")
                                            | {"pending": pending})
        with self.store.write() as session:
            if not plan_rows.update_plan(session, row, values):
                raise ConflictError("plan changed meanwhile")
        self._finish_pending()
        return action

    def _finish_pending(self) -> None:
        """Make the rollout changes plans decided on and have not made yet: each once."""
        with self.store.session() as session:
            rows = [r for r in plan_rows.latest_plans(session) if _pending(r)]
        for row in rows:
            intent = _pending(row)
            assert intent is not None
            current = self.rollouts.state(row.env, row.prompt)
            if intent["do"] == "rollback":
                if current is not None and current.canary == row.canary:
                    self.rollouts.rollback(row.env, row.prompt, reason=intent["reason"],
                                           actor=GUARD_ACTOR)
            elif current is not None and _needs(current, row.canary, intent["percent"]):
                self.rollouts.promote(row.env, row.prompt, row.canary,
                                      percent=intent["percent"], reason=intent["reason"],
                                      actor=GUARD_ACTOR)
            decision = json.loads(row.decision)
            decision.pop("pending", None)
            done: dict[str, Any] = {"decision": json.dumps(decision)}
            if intent.get("then"):  # the plan ends only once its last change is made
                done["status"] = intent["then"]
            with self.store.write() as session:
                fresh = plan_rows.plan_by_id(session, row.id or 0)
                if fresh is not None and fresh.version == row.version:
                    plan_rows.update_plan(session, fresh, done)

    # -- fleet --------------------------------------------------------------------------------

    def fleet(self, env: str | None = None, now: float | None = None) -> list[FleetEntry]:
        """Every instance seen within 10 TTLs (older ones are forgotten), each with its lag
        behind its environment's latest change."""
        if env is not None:
            self.rollouts.require_environment(env)
        now = time.time() if now is None else now
        ttl = self.limits.fleet_ttl_seconds
        with self.store.session() as session:
            rows = outcome_rows.fleet_rows(session, env, seen_after=now - 10 * ttl)
        with self.store.connect() as conn:
            latest = latest_change_ids(conn)
        return [FleetEntry(env=r.env, instance_id=r.instance_id, app=r.app,
                           sdk_version=r.sdk_version, host=r.host, change_id=r.change_id,
                           source=r.source, swapped_at=r.swapped_at, last_seen=r.last_seen,
                           live=r.last_seen >= now - ttl,
                           lag=max(0, latest.get(r.env, 0) - r.change_id))
                for r in rows]

    def prune(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        with self.store.write() as session:
            outcome_rows.prune_windows(session, now - self.limits.outcome_retention_seconds)
            outcome_rows.prune_fleet(session, now - 100 * self.limits.fleet_ttl_seconds)


def _intent(do: str, reason: str, percent: int | None = None, *,
            then: str | None = None) -> dict[str, Any]:
    """A rollout change decided and not made yet; ``then``: the plan's status once it is
    made (``completed``, ``rolled_back``), so nobody sees a plan ended before its change."""
    return {"do": do, "reason": reason[:2000], "percent": percent, "then": then}


def _pending(row: PlanRecord) -> dict[str, Any] | None:
    if not row.decision:
        return None
    pending = json.loads(row.decision).get("pending")
    return pending if isinstance(pending, dict) else None


def _needs(current: RolloutState, version: str, percent: int) -> bool:
    if percent == 100:
        return current.stable != version
    return current.canary == version and current.percent != percent


def _describe(state: RolloutState | None) -> str:
    if state is None or state.stable is None:
        return "no rollout"
    if state.canary:
        return f"{state.stable} + {state.canary} @ {state.percent}%"
    return f"{state.stable} stable"


def _audit_reason(spec: PlanSpec, row: PlanRecord, decision: Decision, canary: Any,
                  stable: Any) -> str:
    what = "breached" if decision.action == "breach" else "timed out"
    figures = json.dumps(figures_doc(canary, stable), sort_keys=True)
    return (f"plan {spec.name} step {row.step + 1}/{len(spec.steps)} {what}: "
            f"{decision.reason}; figures {figures}")
