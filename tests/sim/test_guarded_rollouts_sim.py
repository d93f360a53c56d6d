"""Guarded rollouts end to end: real ``promptctl serve`` processes, 20 SDK instances
serving traffic on threads, a compressed schedule (evaluations every 0.25 s, 0.4 s windows,
0.6 s holds). Every loop is bounded by a timeout.

The scenarios share one server and one fleet, in order; each starts from support 1.x
stable with no canary and leaves it so."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from promptctl.guard_types import wait_for_fleet
from promptctl.remote import RemoteService
from promptctl.rollout import Rollouts
from promptctl.store import Store
from tests.conftest import Cli, pg_test_database
from tests.guard_fixtures import released_repo
from tests.rollout_fixtures import Server, create_token, free_port
from tests.sim.fleet_sim import Fleet, Profile, api_get, until

pytestmark = pytest.mark.slow

INTERVAL = 0.25
TTL = 2.5  # reports come every 0.2 s; the margin is for a loaded CI machine
PLANS = """
[plans.sim]
steps = [1, 10, 50, 100]
hold_seconds = 0.6
min_samples = 25
max_hold_seconds = 60
[plans.sim.guards]
cost_per_call = 1.2
error_rate = 2.0
p95_latency = 1.5

[plans.schema]
steps = [10, 50, 100]
hold_seconds = 0.6
min_samples = 100
[plans.schema.guards]
schema_valid_rate = 4.0
"""
SERVER_ENV = {"PROMPTCTL_PLAN_EVALUATE_SECONDS": str(INTERVAL),
              "PROMPTCTL_FLEET_TTL_SECONDS": str(TTL)}


def start_server(cli: Cli, tokens: dict[str, str]) -> Server:
    server = Server(cli, free_port(), tokens=tokens, extra_env=SERVER_ENV)
    server.start()
    return server


def setup_repo(root: Path, db: str | None = None) -> tuple[Cli, dict[str, str]]:
    cli = released_repo(root, PLANS, db)
    assert cli("promote", "support", "1.0.0", "--env", "production").exit_code == 0
    tokens = {"reader": create_token(cli, "reader", "production"),
              "deployer": create_token(cli, "deployer")}
    return cli, tokens


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cli, Server, Fleet]]:
    cli, tokens = setup_repo(tmp_path_factory.mktemp("sim") / "repo")
    server = start_server(cli, tokens)
    fleet = Fleet(server.url, "production", tokens["reader"]).start()
    try:
        yield cli, server, fleet
    finally:
        fleet.close()
        server.stop()


def plans(server: Server) -> list[dict[str, Any]]:
    return api_get(server.url, server.tokens["deployer"], "/v1/plans", env="production")


def history(cli: Cli) -> list[Any]:
    store = Store.open(cli.db)
    try:
        return Rollouts(store).history("production", "support")
    finally:
        store.dispose()


def run_until_finished(server: Server, timeout: float) -> list[dict[str, Any]]:
    """Poll the plan until it is no longer running; every evaluation seen (as last seen: a
    plan ends only once the change its last evaluation decided is made), in order."""
    seen: dict[int, dict[str, Any]] = {}

    def finished() -> bool:
        [plan] = plans(server)
        seen[plan["evaluations"]] = plan  # the latest: a decision's change lands after it
        return plan["status"] not in ("running", "paused")

    until(finished, timeout, every=0.05)
    return [seen[k] for k in sorted(seen)]


def everyone_serves(server: Server, fleet: Fleet, change_id: int, version: str) -> None:
    remote = RemoteService(server.url, server.tokens["deployer"])
    running = len([r for r in fleet.instances if not r._closed])
    until(lambda: sum(e.live for e in remote.fleet("production")) == running, 10)
    result = wait_for_fleet(lambda: remote.fleet("production"), change_id, timeout=10)
    assert result.converged and result.live == running, result
    assert fleet.versions() == {version}


def assert_caught(cli: Cli, server: Server, fleet: Fleet, evaluations: list[dict[str, Any]],
                  min_samples: int, guard: str) -> None:
    final = evaluations[-1]
    assert final["status"] == "rolled_back" and final["decision"]["action"] == "breach"
    enough = [e["evaluations"] for e in evaluations if e["figures"] and min(
        e["figures"]["canary"]["calls"], e["figures"]["stable"]["calls"]) >= min_samples]
    assert final["evaluations"] - enough[0] <= 1, "rolled back within two evaluations"
    last = until(lambda: next((c for c in history(cli)[-1:] if c.actor == "guard"), None), 5)
    assert (last.actor, last.action, last.after["canary"]) == ("guard", "rollback", None)
    assert guard in (last.reason or "") and '"canary": {"calls"' in (last.reason or "")
    everyone_serves(server, fleet, last.id, last.after["stable"])


def test_a_canary_costing_40_percent_more_is_rolled_back_and_every_instance_serves_stable(
        world: tuple[Cli, Server, Fleet]) -> None:
    cli, server, fleet = world
    fleet.profiles = {"1.1.0": Profile(cost=0.014)}
    result = cli("promote", "support", "1.1.0", "--env", "production", "--plan", "sim")
    assert result.exit_code == 0 and "started plan sim" in result.output, result.output
    assert_caught(cli, server, fleet, run_until_finished(server, 20), 25, "cost_per_call")


def test_a_schema_valid_rate_falling_from_99_to_90_percent_is_caught(
        world: tuple[Cli, Server, Fleet]) -> None:
    cli, server, fleet = world
    fleet.profiles = {"1.1.0": Profile(schema_valid=0.90)}
    result = cli("promote", "support", "1.1.0", "--env", "production", "--plan", "schema")
    assert result.exit_code == 0, result.output
    assert_caught(cli, server, fleet, run_until_finished(server, 20), 100,
                  "schema_valid_rate canary")


def test_a_healthy_canary_advances_to_stable_through_a_server_restart(
        world: tuple[Cli, Server, Fleet]) -> None:
    cli, server, fleet = world
    fleet.profiles = {}
    before = len(history(cli))
    assert cli("promote", "support", "1.1.0", "--env", "production", "--plan",
               "sim").exit_code == 0
    until(lambda: plans(server)[0]["step"] >= 1, 20)
    server.kill()  # mid-plan, no clean shutdown
    server.start()
    [plan] = run_until_finished(server, 30)[-1:]
    assert plan["status"] == "completed" and plan["percent"] == 100
    steps = [(c.actor == "guard", c.after["percent"] if c.after["canary"] else 100)
             for c in history(cli)[before:]]
    assert steps == [(False, 1), (True, 10), (True, 50), (True, 100)], steps
    everyone_serves(server, fleet, history(cli)[-1].id, "1.1.0")


def test_without_traffic_the_plan_holds_at_its_first_step(
        world: tuple[Cli, Server, Fleet]) -> None:
    cli, server, fleet = world
    remote = {"PROMPTCTL_URL": server.url, "PROMPTCTL_TOKEN": server.tokens["deployer"]}
    fleet.traffic = False
    try:  # through the server this time (PROMPTCTL_URL): the plan travels as JSON
        assert cli("promote", "support", "1.2.0", "--env", "production", "--plan",
                   "sim", env=remote).exit_code == 0
        started = plans(server)[0]["evaluations"]
        until(lambda: plans(server)[0]["evaluations"] >= started + 6, 10)
        [plan] = plans(server)
        assert (plan["status"], plan["step"]) == ("running", 0)
        assert "too few samples: canary 0, stable 0" in plan["decision"]["reason"]
    finally:
        fleet.traffic = True
    aborted = cli("plan", "abort", "support", "--env", "production", env=remote)
    assert aborted.exit_code == 0 and aborted.output.strip().endswith(": aborted")
    assert cli("rollback", "support", "--env", "production").exit_code == 0


def test_fleet_and_wait_count_live_instances_and_name_a_frozen_one(
        world: tuple[Cli, Server, Fleet]) -> None:
    cli, server, fleet = world
    remote = {"PROMPTCTL_URL": server.url, "PROMPTCTL_TOKEN": server.tokens["deployer"]}
    def live() -> int:
        listed = json.loads(cli("fleet", "--env", "production", "--json", env=remote).output)
        return sum(e["live"] for e in listed)

    until(lambda: live() == 20, 10)
    result = cli("promote", "support", "1.2.0", "--env", "production", "--wait", env=remote)
    assert result.exit_code == 0, result.output
    assert "20/20 instances serve support 1.2.0 (change " in result.output
    for index in (17, 18, 19):
        fleet.stop_instance(index)
    until(lambda: live() == 17, TTL * 4)
    fleet.freeze_instance(3)
    result = cli("rollback", "support", "--env", "production", "--wait", "1", env=remote)
    assert result.exit_code == 5, result.output
    assert "timed out: 16/17 instances serve support 1.1.0" in result.output
    assert "production-03 (checkout on" in result.output and "Traceback" not in result.output


@pytest.fixture
def pg_db() -> Iterator[str]:
    yield from pg_test_database()  # skips locally without PROMPTCTL_TEST_PG (fails in CI)


def test_two_replicas_on_postgresql_evaluate_once_and_advance_each_step_once(
        tmp_path: Path, pg_db: str) -> None:
    db = pg_db
    cli, tokens = setup_repo(tmp_path / "repo", db)
    replicas = [Server(cli, free_port(), tokens=tokens, extra_env=SERVER_ENV) for _ in range(2)]
    starting = [threading.Thread(target=r.start) for r in replicas]  # in parallel: seconds each
    for thread in starting:
        thread.start()
    for thread in starting:
        thread.join(60)
    fleet = Fleet(replicas[0].url, "production", tokens["reader"]).start(
        [r.url for r in replicas])
    try:
        assert cli("promote", "support", "1.1.0", "--env", "production", "--plan",
                   "sim").exit_code == 0
        evaluators = set()

        def done() -> bool:
            views = [plans(r)[0] for r in replicas]
            evaluators.update(v["evaluated_by"] for v in views if v["evaluated_by"])
            return all(v["status"] == "completed" for v in views)

        until(done, 30)
        assert len(evaluators) == 1, evaluators
        percents = [c.after["percent"] if c.after["canary"] else 100
                    for c in history(cli)][1:]
        assert percents == [1, 10, 50, 100]
        for replica in replicas:  # every replica sees every instance
            listed = api_get(replica.url, tokens["deployer"], "/v1/fleet", env="production")
            assert sum(e["live"] for e in listed) == 20
    finally:
        fleet.close()
        for replica in replicas:
            replica.stop()
