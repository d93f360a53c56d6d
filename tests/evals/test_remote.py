"""With ``PROMPTCTL_URL`` set, ``eval run`` stores its run through the server (a deployer
token, no database access: released bundles come from the API too), and the server's gate
reads that evidence."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from promptctl.cli.app import app
from tests.conftest import Cli
from tests.rollout_fixtures import LiveServer, deploy_support

GATED = '[environments.production]\nrequire_eval = "support-golden"\n[environments.staging]\n'


@pytest.fixture
def gated_server(released: Cli) -> Iterator[LiveServer]:
    tokens = deploy_support(released)  # support 1.0.0 stable in production, before the gate
    (released.root / "promptctl.toml").write_text(GATED)
    server = LiveServer(released, tokens)
    server.start()
    yield server
    server.stop()


def remote(server: LiveServer, *args: str, role: str = "deployer"):  # type: ignore[no-untyped-def]
    env = {k: None for k in os.environ if k.startswith("PROMPTCTL_")}
    env |= {"PROMPTCTL_URL": server.url, "PROMPTCTL_TOKEN": server.tokens[role]}
    return CliRunner().invoke(app, ["--repo", str(server.cli.root), *args], env=env,
                              catch_exceptions=False)


def test_a_run_through_the_server_is_stored_there_and_opens_its_gate_for_deployers_only(
        gated_server: LiveServer) -> None:
    refused = remote(gated_server, "promote", "support", "1.1.0", "--env", "production")
    assert refused.exit_code == 1 and "requires a passing eval" in refused.output
    # support@1.1.0 and the baseline 1.0.0 are no longer in the tree: the API has them
    result = remote(gated_server, "eval", "run", "support@1.1.0", "--against", "production")
    assert result.exit_code == 0, result.output
    assert "against support@1.0.0 (production)" in result.output
    runs = json.loads(remote(gated_server, "eval", "list", "--json").output)
    assert [(r["version"], r["baseline_version"], r["complete"]) for r in runs] == \
        [("1.1.0", "1.0.0", True)]
    shown = json.loads(remote(gated_server, "eval", "show", str(runs[0]["id"]), "--json").output)
    assert len(shown["cases"]) == 120  # sent in several batches under the 64 KiB body limit
    assert "token:deployer" in shown["actor"]
    assert not (gated_server.cli.root / ".promptctl" / "registry.db").exists()
    promoted = remote(gated_server, "promote", "support", "1.1.0", "--env", "production")
    assert promoted.exit_code == 0, promoted.output

    # a reader token cannot write runs; a malformed upload is a 400 that stores nothing
    result = remote(gated_server, "eval", "run", "support@1.1.0", "--against", "staging",
                    role="reader")
    assert result.exit_code == 2 and "needs deployer" in result.output
    with gated_server.client("deployer") as http:
        bad = http.post("/v1/evals/runs", json={"run": {}, "cases_expected": 1,
                                                "gate": {"passed": True}})
        assert bad.status_code == 400 and bad.json()["error"] == "usage"
        assert http.get("/v1/evals/runs/77").status_code == 404
    assert len(json.loads(remote(gated_server, "eval", "list", "--json").output)) == 1
