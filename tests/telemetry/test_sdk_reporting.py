"""The SDK reports outcomes and its fleet record to a real server (in-process uvicorn)."""

from __future__ import annotations

import importlib.metadata
import time

import httpx
import pytest

from promptctl.client import Registry
from tests.guard_fixtures import released_repo
from tests.rollout_fixtures import LiveServer, deploy_support

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    cli = released_repo(tmp_path_factory.mktemp("sdk") / "repo")
    srv = LiveServer(cli, deploy_support(cli))
    srv.start()
    yield srv
    srv.stop()


def _until(check, timeout: float = 5.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_tracked_calls_reach_the_server_and_the_instance_shows_in_the_fleet(
        server: LiveServer) -> None:
    with Registry(server.url, "production", server.tokens["reader"], app_name="checkout",
                  instance_id="sdk-test-1", flush_interval=0.2) as reg:
        bundle = reg.get("support", key="u1")
        for _ in range(20):
            reg.track(bundle, 0.3, input_tokens=100, output_tokens=10, cost=0.002,
                      output={"answer": "hi", "sources": []})

        def series() -> str | None:
            text = httpx.get(f"{server.url}/metrics").text
            line = next((ln for ln in text.splitlines()
                         if ln.startswith("promptctl_outcome_schema_valid_total{")), None)
            return line if line and line.endswith(" 20.0") else None

        assert _until(series)
    fleet = httpx.get(f"{server.url}/v1/fleet", headers={
        "Authorization": f"Bearer {server.tokens['deployer']}"}).json()
    [me] = [e for e in fleet if e["instance_id"] == "sdk-test-1"]
    assert me["app"] == "checkout" and me["source"] == "stream" and me["live"]
    assert me["sdk_version"] == importlib.metadata.version("promptctl")
    assert me["change_id"] == reg.change_id and me["lag"] == 0


def test_track_stays_cheap_and_silent_when_the_server_is_gone(server: LiveServer) -> None:
    reg = Registry("http://127.0.0.1:9", "production", server.tokens["reader"],
                   flush_interval=0.1)
    with Registry(server.url, "production", server.tokens["reader"], telemetry=False) as live:
        bundle = live.get("support", key="u")
        live.track(bundle, 0.1)  # telemetry off: kept nowhere
        assert live._recorder.drain() == 0
    for _ in range(1000):
        reg.track(bundle, 0.1)  # never started: nothing to send to, nothing raised
    assert reg._recorder.drain() == 1000


def test_windows_wait_while_the_server_is_down_and_arrive_once_it_is_back(
        server: LiveServer) -> None:
    def calls() -> float:
        text = httpx.get(f"{server.url}/metrics").text
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith('promptctl_outcome_calls_total{env="production",'
                                      'prompt="support",variant="stable",version="1.0.0"}'))

    with Registry(server.url, "production", server.tokens["reader"], instance_id="sdk-down",
                  flush_interval=0.2) as reg:
        bundle = reg.get("support", key="u1")
        stable = reg.snapshot.bundle_of("support", bundle.version)
        assert stable is not None
        server.kill()  # its metrics go with it: the restarted one counts from 0
        for _ in range(7):
            reg.track(stable, 0.2)
        time.sleep(0.6)  # a few flushes fail meanwhile
        assert reg._recorder.pending_windows >= 1
        server.start()
        assert _until(lambda: calls() == 7, 10)
        assert reg._recorder.pending_windows == 0
