"""The eval gate, end to end through the CLI on the shipped example suite (120 cases, the
deterministic stand-in provider): the checklists' failure is caught before production."""

from __future__ import annotations

import json
import re

import git
import pytest

from tests.conftest import Cli, commit_all
from tests.evals.suites import IMPROVED_SYSTEM, REWRITE_SYSTEM, rewrite_support

GATED = '[environments.production]\nrequire_eval = "support-golden"\n[environments.staging]\n'


@pytest.fixture
def gated(cli: Cli) -> Cli:
    """The example registry released, with production gated on the support-golden suite."""
    (cli.root / "promptctl.toml").write_text(GATED)
    commit_all(git.Repo(cli.root), "gate production on the golden suite")
    assert cli("release").exit_code == 0
    return cli


def release_rewrite(cli: Cli, version: str, system: str) -> None:
    rewrite_support(cli.root, version, system)
    commit_all(git.Repo(cli.root), f"support {version}")
    result = cli("release")
    assert result.exit_code == 0, result.output


def test_the_rewrite_that_costs_40_percent_more_and_fails_3_cases_never_reaches_production(
        gated: Cli) -> None:
    cli = gated
    # no stable yet: the suite's absolute thresholds alone decide
    first = cli("eval", "run", "support@1.0.0", "--against", "production")
    assert first.exit_code == 0, first.output
    assert "120/120 cases pass" in first.output and "no stable version" in first.output
    assert cli("promote", "support", "1.0.0", "--env", "production").exit_code == 0

    release_rewrite(cli, "1.1.0", REWRITE_SYSTEM)
    result = cli("eval", "run", "support@1.1.0", "--against", "production")
    assert result.exit_code == 1, result.output
    out = " ".join(result.output.split())
    assert "117/120 cases pass" in out
    assert "regressions (3): delivery-01, delivery-02, delivery-03" in out
    cost = re.search(r"cost per case \+(\d+)\.\d%", out)
    assert cost and int(cost.group(1)) >= 40, out
    assert "FAIL max_cost_increase" in out and "FAIL max_regressions" in out
    data = json.loads(cli("eval", "run", "support@1.1.0", "--against", "production",
                          "--json", "--no-store").output)
    tokens = [c["input_tokens"] + c["output_tokens"] for c in data["run"]["cases"]]
    assert data["comparison"]["regressions"] == ["delivery-01", "delivery-02", "delivery-03"]
    assert data["run"]["summary"]["cached"] == 120  # the re-run cost nothing
    assert sum(tokens) / len(tokens) >= 1.4 * 96  # tokens per call: 96 on 1.0.0

    refused = cli("promote", "support", "1.1.0", "--env", "production")
    assert refused.exit_code == 1
    assert "requires a passing eval of suite 'support-golden'" in refused.output
    assert "failed" in refused.output and "Traceback" not in refused.output
    status = json.loads(cli("status", "--env", "production", "--json").output)
    assert [s["stable"] for s in status if s["prompt"] == "support"] == ["1.0.0"]

    # the version that is live passes against itself, and a real improvement passes
    assert cli("eval", "run", "support@1.0.0", "--against", "production").exit_code == 0
    release_rewrite(cli, "1.2.0", IMPROVED_SYSTEM)
    better = cli("eval", "run", "support@1.2.0", "--against", "production")
    assert better.exit_code == 0, better.output
    assert "FAIL" not in better.output and "0 regression(s)" in better.output
    promoted = cli("promote", "support", "1.2.0", "--env", "production")
    assert promoted.exit_code == 0, promoted.output


def test_evidence_against_a_stable_that_is_no_longer_live_does_not_count(gated: Cli) -> None:
    cli = gated
    assert cli("eval", "run", "support@1.0.0", "--against", "production").exit_code == 0
    assert cli("promote", "support", "1.0.0", "--env", "production").exit_code == 0
    release_rewrite(cli, "1.2.0", IMPROVED_SYSTEM)
    assert cli("eval", "run", "support@1.2.0", "--against", "production").exit_code == 0
    release_rewrite(cli, "1.3.0", IMPROVED_SYSTEM.replace("Acme support agent.",
                                                          "Acme's support agent."))
    assert cli("eval", "run", "support@1.3.0", "--against", "production").exit_code == 0
    assert cli("promote", "support", "1.3.0", "--env", "production").exit_code == 0
    # 1.2.0's run compared with 1.0.0, which is not production's stable any more
    stale = cli("promote", "support", "1.2.0", "--env", "production")
    assert stale.exit_code == 1
    assert "was compared with 1.0.0, which is not live there now" in stale.output


def test_runs_are_listed_and_shown_with_their_evidence(gated: Cli) -> None:
    cli = gated
    assert cli("eval", "run", "support", "--against", "production").exit_code == 0
    runs = json.loads(cli("eval", "list", "--json").output)
    assert len(runs) == 1 and runs[0]["passed"] and runs[0]["env"] == "production"
    shown = json.loads(cli("eval", "show", str(runs[0]["id"]), "--json").output)
    assert shown["provider"]["type"] == "python" and shown["provider"]["source_sha256"]
    assert len(shown["cases"]) == 120 and shown["complete"]
    assert shown["summary"]["per_assertion"]["cites-source"] == 1.0
    assert {"p50_latency_ms", "p95_latency_ms", "p95_tokens", "cost_per_case"} <= \
        shown["summary"].keys()
    human = cli("eval", "show", str(runs[0]["id"]))
    assert human.exit_code == 0 and "suite hash" in human.output
    markdown = cli("eval", "run", "support", "--format", "markdown", "--no-store")
    assert markdown.output.startswith("<!-- promptctl-eval -->")
    assert cli("eval", "show", "999").exit_code == 3
