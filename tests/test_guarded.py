"""Rollout plans on the store: advancing, rolling back on a breach, holding without data,
and finishing a decided change exactly once after a crash. Time is passed in (``now``), the
outcome windows are ingested as the API would, so each rule runs in milliseconds."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from promptctl.guarded import GuardedRollouts
from promptctl.outcomes import ReleasedVersions, ingest
from promptctl.plans import PlanSpec
from promptctl.rollout import Rollouts
from promptctl.store import Store
from tests.guard_fixtures import released_repo

PLAN = PlanSpec(name="careful", steps=(1, 10, 50, 100), hold_seconds=10, min_samples=100,
                guards={"cost_per_call": 1.2, "schema_valid_rate": 5.0, "error_rate": 2.0})


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    cli = released_repo(tmp_path_factory.mktemp("guarded") / "repo")
    opened = Store.open(cli.db)
    yield opened
    opened.dispose()


@pytest.fixture
def env(store: Store, request: pytest.FixtureRequest) -> str:
    """A fresh environment per test, with support 1.0.0 stable."""
    name = f"t{abs(hash(request.node.name)) % 10**8}"
    rollouts = Rollouts(store)
    rollouts.add_environment(name)
    rollouts.promote(name, "support", "1.0.0", actor="ann")
    return name


def traffic(store: Store, env: str, at: float, *, canary_cost: float = 0.01,
            schema_valid: float = 0.99, calls: int = 200, instance: str = "i-1") -> None:
    """One window of ``calls`` per variant at ``at``, as an SDK would report it."""
    def window(version: str, variant: str, cost: float, valid: float) -> dict[str, Any]:
        return {"prompt": "support", "version": version, "variant": variant, "start": at,
                "calls": calls, "errors": {}, "latency": {"count": calls, "sum": calls * 0.5,
                                                          "buckets": {"72": calls}},
                "input_tokens": calls * 200, "output_tokens": calls * 50,
                "cost": calls * cost, "feedback": {"up": 0, "down": 0},
                "schema": {"checked": calls, "valid": int(calls * valid)},
                "tool_args": {"checked": 0, "valid": 0}}
    report = {"instance": {"id": instance, "change_id": 1, "source": "stream"},
              "window_seconds": 1.0,
              "windows": [window("1.1.0", "canary", canary_cost, schema_valid),
                          window("1.0.0", "stable", 0.01, 0.99)]}
    ingest(store, ReleasedVersions(store), env, report, now=time.time())


def tick(guarded: GuardedRollouts, evaluator: str, env: str, now: float) -> list[str]:
    """What one evaluation did to ``env``'s plans (other tests' plans share the store)."""
    return [r for r in guarded.tick(evaluator, now=now) if r.startswith(f"{env}/")]


def audit(store: Store, env: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [(c.actor, c.action, c.after) for c in Rollouts(store).history(env, "support")]


def test_a_healthy_canary_advances_step_by_step_and_becomes_stable(store: Store,
                                                                  env: str) -> None:
    guarded = GuardedRollouts(Rollouts(store))
    status = guarded.start_plan(env, "support", "1.1.0", PLAN, actor="ann")
    t = status.step_started_at
    for _step in range(3):
        traffic(store, env, t + 0.5)
        assert tick(guarded, "r1", env, t + 5) == [f"{env}/support: hold"]
        assert tick(guarded, "r1", env, t + 11) == [f"{env}/support: advance"]
        t += 11
    [plan] = guarded.plans(env)
    assert plan.status == "completed" and plan.percent == 100
    state = Rollouts(store).state(env, "support")
    assert state is not None and (state.stable, state.canary) == ("1.1.0", None)
    steps = [(actor, (after.get("canary") and after["percent"]) or 100)
             for actor, _, after in audit(store, env)[1:]]
    assert steps == [("ann", 1), ("guard", 10), ("guard", 50), ("guard", 100)]


def test_a_costlier_canary_is_rolled_back_by_the_guard_with_the_figures(store: Store,
                                                                        env: str) -> None:
    guarded = GuardedRollouts(Rollouts(store))
    t = guarded.start_plan(env, "support", "1.1.0", PLAN, actor="ann").step_started_at
    traffic(store, env, t + 0.5, canary_cost=0.014)  # +40 %
    assert tick(guarded, "r1", env, t + 2) == [f"{env}/support: breach"]
    actor, action, after = audit(store, env)[-1]
    assert (actor, action, after["canary"]) == ("guard", "rollback", None)
    reason = Rollouts(store).history(env, "support")[-1].reason or ""
    assert "cost_per_call canary 0.014 vs stable 0.01 (ratio 1.40, limit 1.2)" in reason
    assert json.loads(reason.split("figures ", 1)[1])["canary"]["calls"] == 200
    [plan] = guarded.plans(env)
    assert plan.status == "rolled_back" and plan.decision["action"] == "breach"


def test_a_schema_regression_is_caught_the_same_way(store: Store, env: str) -> None:
    guarded = GuardedRollouts(Rollouts(store))
    t = guarded.start_plan(env, "support", "1.1.0", PLAN, actor="ann").step_started_at
    traffic(store, env, t + 0.5, schema_valid=0.90)
    assert tick(guarded, "r1", env, t + 2) == [f"{env}/support: breach"]
    assert "schema_valid_rate canary 90.00% vs stable 99.00%" in \
        (Rollouts(store).history(env, "support")[-1].reason or "")


def test_no_traffic_holds_and_never_advances(store: Store, env: str) -> None:
    guarded = GuardedRollouts(Rollouts(store))
    t = guarded.start_plan(env, "support", "1.1.0", PLAN, actor="ann").step_started_at
    for offset in (5, 50, 500):
        assert tick(guarded, "r1", env, t + offset) == [f"{env}/support: hold"]
    [plan] = guarded.plans(env)
    assert plan.status == "running" and plan.percent == 1
    assert "too few samples" in plan.decision["reason"]


class CrashingAfterDeciding(GuardedRollouts):
    """An evaluator that dies after committing its decision, before changing the rollout."""

    def _finish_pending(self) -> None:
        pass


def test_a_decision_made_before_a_crash_is_carried_out_once_by_the_next_evaluator(
        store: Store, env: str) -> None:
    t = GuardedRollouts(Rollouts(store)).start_plan(env, "support", "1.1.0", PLAN,
                                                    actor="ann").step_started_at
    traffic(store, env, t + 0.5)
    assert tick(CrashingAfterDeciding(Rollouts(store)), "r1", env, t + 11) == \
        [f"{env}/support: advance"]
    state = Rollouts(store).state(env, "support")
    assert state is not None and state.percent == 1  # decided, not done
    other = GuardedRollouts(Rollouts(store))
    tick(other, "r2", env, t + 12)
    tick(other, "r2", env, t + 13)
    percents = [after["percent"] for _, _, after in audit(store, env)[1:]]
    assert percents == [1, 10]


def test_a_plan_is_not_shown_ended_before_its_last_change_is_made(store: Store,
                                                                  env: str) -> None:
    """Whoever reads "completed" (``status``, ``--wait`` scripts, the dashboard) can rely on
    the version being stable already, even when the evaluator died in between."""
    short = PlanSpec(name="short", steps=(50, 100), hold_seconds=10, min_samples=100,
                     guards={"cost_per_call": 1.2})
    t = GuardedRollouts(Rollouts(store)).start_plan(env, "support", "1.1.0", short,
                                                    actor="ann").step_started_at
    traffic(store, env, t + 0.5)
    assert tick(CrashingAfterDeciding(Rollouts(store)), "r1", env, t + 11) == \
        [f"{env}/support: advance"]
    [plan] = [p for p in GuardedRollouts(Rollouts(store)).plans(env)]
    state = Rollouts(store).state(env, "support")
    assert state is not None and state.stable == "1.0.0" and plan.status == "running"
    tick(GuardedRollouts(Rollouts(store)), "r2", env, t + 12)
    [plan] = [p for p in GuardedRollouts(Rollouts(store)).plans(env)]
    state = Rollouts(store).state(env, "support")
    assert state is not None and state.stable == "1.1.0" and state.canary is None
    assert plan.status == "completed"


def test_pause_stops_the_clock_and_abort_leaves_the_rollout_as_it_is(store: Store,
                                                                     env: str) -> None:
    guarded = GuardedRollouts(Rollouts(store))
    guarded.start_plan(env, "support", "1.1.0", PLAN, actor="ann")
    assert guarded.control(env, "support", "pause", actor="ann").status == "paused"
    assert tick(guarded, "r1", env, time.time() + 100) == []
    assert guarded.control(env, "support", "resume", actor="ann").status == "running"
    assert guarded.control(env, "support", "abort", actor="ann").status == "aborted"
    state = Rollouts(store).state(env, "support")
    assert state is not None and (state.canary, state.percent) == ("1.1.0", 1)
