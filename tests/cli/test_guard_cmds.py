"""``promote --plan``, ``plan status|pause|resume|abort``, ``fleet`` and ``status`` with a
plan, on the CLI against the database: one-line errors with their exit codes, nothing
written by a refused command."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from promptctl.cli.wait_option import expand_wait
from tests.conftest import Cli
from tests.guard_fixtures import released_repo

PLANS = """
[plans.careful]
steps = [5, 50, 100]
hold_seconds = 600
min_samples = 100
[plans.careful.guards]
cost_per_call = 1.2
schema_valid_rate = 2
"""


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    cli = released_repo(tmp_path_factory.mktemp("cmds") / "repo", PLANS)
    for env in ("production", "staging", "development"):
        assert cli("promote", "support", "1.0.0", "--env", env).exit_code == 0
    yield cli


def test_promote_with_a_plan_starts_it_at_its_first_step(cli: Cli) -> None:
    result = cli("promote", "support", "1.1.0", "--env", "staging", "--plan", "careful")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("started plan careful for support@1.1.0 in staging: "
                                    "step 1/3 (5%)")
    status = cli("status", "--env", "staging")
    assert "staging/support: plan careful running, 1.1.0 vs stable 1.0.0, step 1/3 [5%]" \
        in status.output
    [entry] = json.loads(cli("status", "--env", "staging", "--json").output)
    assert (entry["canary"], entry["percent"]) == ("1.1.0", 5)
    assert entry["plan"]["plan"] == "careful" and entry["plan"]["status"] == "running"
    again = cli("promote", "support", "1.2.0", "--env", "staging", "--plan", "careful")
    assert again.exit_code == 4 and "already has a running plan" in again.output


def test_pause_resume_and_abort_and_their_errors(cli: Cli) -> None:
    assert cli("promote", "support", "1.1.0", "--env", "development", "--plan",
               "careful").exit_code == 0
    paused = cli("plan", "pause", "support", "--env", "development")
    assert paused.exit_code == 0 and paused.output.strip() == \
        "plan careful of support in development: paused"
    twice = cli("plan", "pause", "support", "--env", "development")
    assert twice.exit_code == 2 and "already paused" in twice.output
    assert cli("plan", "resume", "support", "--env", "development").exit_code == 0
    assert cli("plan", "abort", "support", "--env", "development").exit_code == 0
    none = cli("plan", "abort", "support", "--env", "development")
    assert none.exit_code == 3 and "no running or paused plan" in none.output
    assert "Traceback" not in none.output


def test_an_unknown_plan_is_exit_3_and_changes_nothing(cli: Cli) -> None:
    before = cli("history", "support", "--env", "production", "--json").output
    result = cli("promote", "support", "1.1.0", "--env", "production", "--plan", "fast")
    assert result.exit_code == 3
    assert result.output.strip() == ("error: no plan named 'fast' in promptctl.toml [plans] "
                                     "(known: careful)")
    assert cli("history", "support", "--env", "production", "--json").output == before


def test_an_invalid_plan_in_the_configuration_is_one_error_naming_each_problem(
        tmp_path: Path, cli: Cli) -> None:
    (cli.root / "promptctl.toml").write_text(
        PLANS + '\n[plans.bad]\nsteps = [50, 10]\nmin_samples = -1\n'
        '[plans.bad.guards]\ncost = 2\n')
    try:
        result = cli("status")
    finally:
        (cli.root / "promptctl.toml").write_text(PLANS)
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    for problem in ("plans.bad.steps must rise strictly and end at 100",
                    "plans.bad.hold_seconds is required", "plans.bad.min_samples must be",
                    "plans.bad.guards has no guard 'cost'"):
        assert problem in result.output


def test_fleet_without_instances_says_so(cli: Cli) -> None:
    result = cli("fleet", "--env", "production")
    assert result.exit_code == 0 and result.output.strip() == \
        "no SDK instances have reported yet"


def test_wait_with_nothing_live_converges_at_once(cli: Cli) -> None:
    result = cli("promote", "support", "1.2.0", "--env", "production", "--wait")
    assert result.exit_code == 0, result.output
    assert "0/0 instances serve support 1.2.0 (change " in result.output


@pytest.mark.parametrize(("args", "expanded"), [
    (["rollback", "s", "--wait"], ["rollback", "s", "--wait", "30.0"]),
    (["rollback", "--wait", "--env", "p"], ["rollback", "--wait", "30.0", "--env", "p"]),
    (["rollback", "--wait", "5", "s"], ["rollback", "--wait", "5", "s"]),
])
def test_wait_takes_an_optional_number_of_seconds(args: list[str],
                                                  expanded: list[str]) -> None:
    assert expand_wait(args) == expanded
