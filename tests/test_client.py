"""The Python SDK against a real server (the app on an in-process uvicorn thread, real sockets):
lookups, live propagation, fallback, offline."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from promptctl.client import Registry
from promptctl.errors import (
    AuthError,
    BackendUnavailable,
    NotFoundError,
    PermissionDenied,
    UsageError,
)
from tests.proof_fixtures import sdk, wait_until
from tests.rollout_fixtures import LiveServer, Server, free_port

pytestmark = pytest.mark.slow


def test_get_returns_the_same_bundle_as_the_server(live_server: LiveServer, tmp_path: Path) -> None:
    with live_server.client("deployer") as http:
        http.post("/v1/envs/production/prompts/support/promote",
                  json={"version": "1.1.0", "percent": 50}).raise_for_status()
    with sdk(live_server, tmp_path) as reg, live_server.client("reader") as http:
        assert wait_until(lambda: reg.snapshot.doc["prompts"]["support"]["canary"], 5)
        for i in range(60):
            mine = reg.get("support", key=f"user-{i}")
            theirs = http.get("/v1/envs/production/prompts/support/resolve",
                              params={"key": f"user-{i}"}).json()
            assert (mine.version, mine.variant, mine.fingerprint) == \
                (theirs["version"], theirs["variant"], theirs["fingerprint"])
        bundle = reg.get("support", key="user-1")
        messages = bundle.render(customer="Ann", question="Where is my parcel?",
                                 order_id="A-1")
        assert "A-1" in messages[1]["content"]
        assert bundle.model == "gpt-4o-mini-2024-07-18" and bundle.params["max_tokens"] == 600
        assert bundle.trace()["fingerprint"] == bundle.fingerprint
        with pytest.raises(NotFoundError):
            reg.get("summarize-ticket", key="x")
        assert reg.names() == ["support"]


def test_a_rollback_reaches_a_connected_sdk_within_a_second(live_server: LiveServer,
                                                            tmp_path: Path) -> None:
    with live_server.client("deployer") as http:
        http.post("/v1/envs/production/prompts/support/promote",
                  json={"version": "1.1.0", "percent": 99}).raise_for_status()
    with sdk(live_server, tmp_path) as reg:
        assert wait_until(lambda: reg.get("support", key="u").variant == "canary"
                          or reg.get("support", key="v").variant == "canary", 5)
        keys = [f"k{i}" for i in range(50)]
        # through the API (the server wakes its own stream at once)
        with live_server.client("deployer") as http:
            http.post("/v1/envs/production/prompts/support/rollback").raise_for_status()
        assert wait_until(lambda: all(reg.get("support", k).variant == "stable" for k in keys),
                          1.0)
        # through the CLI against the database (another process's change, noticed by polling)
        live_server.cli("promote", "support", "1.2.0", "--env", "production", "-p", "99")
        assert wait_until(lambda: reg.snapshot.doc["prompts"]["support"]["canary"] == "1.2.0",
                          5)
        result = live_server.cli("rollback", "support", "--env", "production")
        assert result.exit_code == 0, result.output
        assert wait_until(lambda: all(reg.get("support", k).variant == "stable" for k in keys),
                          1.0)


def test_sdk_survives_the_server_and_a_new_one_starts_from_the_fallback(
        live_server: LiveServer, tmp_path: Path) -> None:
    fallback = tmp_path / "fallback.json"
    reg = sdk(live_server, tmp_path, name="fallback")
    before = reg.get("support", key="user-7")
    assert fallback.is_file()
    live_server.kill()
    for _ in range(200):  # keeps answering from memory, with no server
        assert reg.get("support", key="user-7").fingerprint == before.fingerprint
    time.sleep(0.5)  # the background thread notices and retries; get() is unaffected
    assert reg.get("support", key="user-7").version == before.version

    offline = Registry(live_server.url, "production", live_server.tokens["reader"],
                       fallback_path=fallback).start()
    assert offline.get("support", key="user-7").fingerprint == before.fingerprint
    with pytest.raises(BackendUnavailable, match="no fallback snapshot"):
        Registry(live_server.url, "production", live_server.tokens["reader"],
                 fallback_path=tmp_path / "none.json").start()

    # the server comes back with a change made meanwhile: both SDKs reconnect and see it
    live_server.cli("promote", "support", "1.1.0", "--env", "production")
    live_server.start()
    for live in (reg, offline):
        assert wait_until(lambda live=live: live.get("support", key="user-7").version == "1.1.0",
                          15)
    reg.close()
    offline.close()


def test_from_snapshot_works_fully_offline(live_server: LiveServer, tmp_path: Path) -> None:
    path = tmp_path / "snap.json"
    with live_server.client("reader") as http:
        path.write_bytes(http.get("/v1/envs/production/snapshot").content)
    live_server.stop()
    reg = Registry.from_snapshot(path)
    assert reg.env == "production"
    assert reg.get("support", key="anyone").version == "1.0.0"
    reg.close()


def test_bad_credentials_fail_loudly_instead_of_using_the_fallback(live_server: LiveServer,
                                                                   tmp_path: Path) -> None:
    fallback = tmp_path / "fallback.json"
    sdk(live_server, tmp_path, name="fallback").close()
    with pytest.raises(AuthError):
        Registry(live_server.url, "production", "pct_wrong", fallback_path=fallback).start()
    with pytest.raises(PermissionDenied):
        Registry(live_server.url, "production", live_server.tokens["reader_staging"]).start()
    with pytest.raises(NotFoundError):
        Registry(live_server.url, "moon", live_server.tokens["deployer"]).start()


def test_get_is_thread_safe_while_snapshots_swap(server: Server, tmp_path: Path) -> None:
    """Eight threads call get() flat out while the snapshot swaps. The server is a separate
    process here: on a thread of this one it would share the GIL with the readers and
    answer the promotions slowly, which is not what is tested."""
    errors: list[BaseException] = []
    seen: set[str] = set()
    stop = threading.Event()
    with sdk(server, tmp_path) as reg:
        def reader() -> None:
            i = 0
            while not stop.is_set():
                try:
                    seen.add(reg.get("support", key=f"u{i % 100}").version)
                except BaseException as exc:  # any failure fails the test
                    errors.append(exc)
                i += 1

        threads = [threading.Thread(target=reader) for _ in range(8)]
        for t in threads:
            t.start()
        with server.client("deployer") as http:
            for percent in (10, 30, 60, 90):
                http.post("/v1/envs/production/prompts/support/promote",
                          json={"version": "1.1.0", "percent": percent}).raise_for_status()
                time.sleep(0.1)
        assert wait_until(lambda: reg.snapshot.doc["prompts"]["support"]["percent"] == 90, 5)
        stop.set()
        for t in threads:
            t.join(10)
    assert errors == []
    assert seen == {"1.0.0", "1.1.0"}


def test_close_stops_the_background_thread(live_server: LiveServer, tmp_path: Path) -> None:
    reg = sdk(live_server, tmp_path)
    thread = reg._thread
    assert thread is not None and thread.is_alive()
    reg.close()
    assert wait_until(lambda: not thread.is_alive(), 5)
    # a closed registry still answers from its last snapshot
    assert reg.get("support", key="u").version == "1.0.0"


# -- lifecycle: configure, start, close ---------------------------------------------------------


def test_the_constructor_only_configures(tmp_path: Path) -> None:
    """No connection and no thread until start(): an unreachable server is fine to name."""
    before = set(threading.enumerate())  # an earlier test's threads may still be ending
    reg = Registry(f"http://127.0.0.1:{free_port()}", "production", "pct_x",
                   fallback_path=tmp_path / "none.json", timeout=0.5)
    assert set(threading.enumerate()) - before == set() and reg._thread is None
    with pytest.raises(UsageError, match=r"call start\(\)"):
        reg.get("support", key="u")
    with pytest.raises(BackendUnavailable, match="no fallback snapshot"):
        reg.start()
    with pytest.raises(UsageError, match="not an http"):
        Registry("ftp://example", "production")


def test_start_falls_back_and_the_context_manager_starts_and_closes(live_server: LiveServer,
                                                                   tmp_path: Path) -> None:
    fallback = tmp_path / "fallback.json"
    sdk(live_server, tmp_path, name="fallback").close()
    live_server.stop()
    reg = Registry(live_server.url, "production", live_server.tokens["reader"],
                   fallback_path=fallback, timeout=0.5)
    with reg as entered:
        assert entered is reg and reg.start() is reg  # a second start does nothing
        assert reg.get("support", key="u").version == "1.0.0"
        thread = reg._thread
        assert thread is not None and thread.is_alive()
    assert wait_until(lambda: not thread.is_alive(), 5)
    with pytest.raises(UsageError, match="closed"):
        reg.start()


def test_from_snapshot_is_an_offline_registry(live_server: LiveServer, tmp_path: Path) -> None:
    path = tmp_path / "snap.json"
    sdk(live_server, tmp_path, name="snap").close()
    live_server.stop()
    before = set(threading.enumerate())  # the server's worker threads may still be ending
    with Registry.from_snapshot(path) as reg:
        assert isinstance(reg, Registry) and reg.offline and reg._thread is None
        assert reg.get("support", key="u").version == "1.0.0"
        assert set(threading.enumerate()) - before == set()  # it started no thread
