"""The database goes away: the API keeps resolving from its in-memory snapshot, refuses
writes with 503 JSON, and nothing is half-written. A server killed in the middle of a
write transaction leaves the state and the audit trail exactly as before."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from promptctl.api.auth import CACHE_SECONDS
from promptctl.failpoints import CRASH_EXIT_CODE
from tests.conftest import Cli
from tests.proof_fixtures import database_offline, pg_deployed, pg_url, sdk
from tests.rollout_fixtures import Server, create_token, free_port

pytestmark = pytest.mark.slow
__all__ = ["pg_deployed", "pg_url"]  # fixtures used by name

KEYS = [f"user-{i}" for i in range(50)]
RESOLVE = "/v1/envs/production/prompts/support/resolve"


def resolve_all(http: httpx.Client) -> dict[str, tuple[int, str | None]]:
    out = {}
    for key in KEYS:
        response = http.get(RESOLVE, params={"key": key})
        out[key] = (response.status_code, response.json().get("version"))
    return out


def audit_and_state(server: Server) -> tuple[list[dict], list[dict]]:  # type: ignore[type-arg]
    with server.client("deployer") as http:
        history = http.get("/v1/envs/production/prompts/support/history")
        status = http.get("/v1/status", params={"env": "production"})
        history.raise_for_status()
        status.raise_for_status()
        return history.json(), status.json()


def assert_consistent(history: list[dict], status: list[dict]) -> None:  # type: ignore[type-arg]
    """The last audit event's ``after`` is exactly the state being served."""
    [state] = [s for s in status if s["prompt"] == "support"]
    last = history[-1]["after"]
    assert {k: state[k] for k in last} == last


@pytest.fixture
def pg_server(pg_deployed: tuple[Cli, dict[str, str]]) -> Iterator[Server]:
    cli, tokens = pg_deployed
    server = Server(cli, free_port(), tokens=tokens)
    server.start()
    yield server
    server.stop()


def test_without_its_database_the_api_resolves_from_memory_and_refuses_writes(
        pg_server: Server, pg_url: str, tmp_path: Path) -> None:
    server = pg_server
    with server.client("deployer") as http:
        http.post("/v1/envs/production/prompts/support/promote",
                  json={"version": "1.1.0", "percent": 30}).raise_for_status()
    history_before, status_before = audit_and_state(server)
    with server.client("reader") as reader, server.client("deployer") as deployer, \
            server.client("admin") as admin, sdk(server, tmp_path) as reg:
        expected = resolve_all(reader)
        assert {code for code, _ in expected.values()} == {200}
        assert {v for _, v in expected.values()} == {"1.0.0", "1.1.0"}
        sdk_before = {k: reg.get("support", key=k).version for k in KEYS}

        with database_offline(pg_url):
            time.sleep(CACHE_SECONDS + 0.5)  # past the token cache: auth must cope too
            assert resolve_all(reader) == expected
            assert {k: reg.get("support", key=k).version for k in KEYS} == sdk_before

            writes = [
                deployer.post("/v1/envs/production/prompts/support/promote",
                              json={"version": "1.2.0"}),
                deployer.post("/v1/envs/production/prompts/support/rollback",
                              json={"reason": "during the outage"}),
                admin.post("/v1/tokens", json={"role": "reader", "env": "production"}),
            ]
            for response in writes:
                assert response.status_code == 503, response.text
                body = response.json()
                assert body["error"] == "backend_unavailable"
                assert body["detail"].startswith("database unavailable:")
            health = httpx.get(f"{server.url}/healthz", timeout=10)
            assert health.status_code == 503 and health.json()["error"] == "backend_unavailable"
            assert resolve_all(reader) == expected  # still serving after the failed writes

        # Back online: nothing of the refused writes was recorded, state matches the audit.
        history_after, status_after = audit_and_state(server)
        assert history_after == history_before
        assert status_after == status_before
        assert_consistent(history_after, status_after)
        deployer.post("/v1/envs/production/prompts/support/rollback").raise_for_status()
        assert len(audit_and_state(server)[0]) == len(history_before) + 1


@pytest.mark.parametrize("db_url", ["sqlite", "postgresql"], indirect=True)
def test_a_server_killed_mid_transaction_writes_nothing(released: Cli, tmp_path: Path) -> None:
    result = released("promote", "support", "1.0.0", "--env", "production")
    assert result.exit_code == 0, result.output
    tokens = {"deployer": create_token(released, "deployer")}
    server = Server(released, free_port(), tokens=tokens,
                    extra_env={"PROMPTCTL_FAILPOINTS": "rollout.before-audit"})
    server.start()
    try:
        history_before, status_before = audit_and_state(server)
        with server.client("deployer") as http, pytest.raises(httpx.TransportError):
            http.post("/v1/envs/production/prompts/support/promote",
                      json={"version": "1.1.0"})
        assert server.process is not None and server.process.wait(10) == CRASH_EXIT_CODE

        server.extra_env = {}
        server.start()
        history_after, status_after = audit_and_state(server)
        assert (history_after, status_after) == (history_before, status_before)
        assert_consistent(history_after, status_after)
        with server.client("deployer") as http:  # no lock or half-row left behind
            http.post("/v1/envs/production/prompts/support/promote",
                      json={"version": "1.1.0"}, timeout=10).raise_for_status()
        history, status = audit_and_state(server)
        assert len(history) == len(history_before) + 1
        assert history[-1]["before"]["stable"] == "1.0.0"
        assert_consistent(history, status)
    finally:
        server.stop()
