"""The SDK's fallback when the event stream is not available (say, a proxy that does not
pass Server-Sent Events): it polls the snapshot with ``If-None-Match`` instead."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from promptctl.api import create_app
from promptctl.client import Registry
from promptctl.config import load_settings
from promptctl.store import Store
from tests.conftest import Cli
from tests.proof_fixtures import wait_until
from tests.rollout_fixtures import create_token, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def server_without_events(released: Cli) -> Iterator[str]:
    """The real app, minus its event stream, served by uvicorn in a thread."""
    assert released("promote", "support", "1.0.0", "--env", "production").exit_code == 0
    settings = load_settings(released.root, db=released.db)
    store = Store.open(released.db)
    app = create_app(settings, store=store)
    app.router.routes = [r for r in app.router.routes
                         if getattr(r, "path", "") != "/v1/envs/{env}/events"]
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    store.dispose()


def test_without_an_event_stream_the_sdk_polls_the_snapshot(
        released: Cli, server_without_events: str, tmp_path: Path) -> None:
    token = create_token(released, "reader", "production")
    with Registry(server_without_events, "production", token, poll_interval=0.2,
                  fallback_path=tmp_path / "snap.json") as reg:
        assert reg.get("support", key="u1").version == "1.0.0"
        result = released("promote", "support", "1.1.0", "--env", "production")
        assert result.exit_code == 0, result.output
        assert wait_until(lambda: reg.get("support", key="u1").version == "1.1.0", 10,
                          step=0.05), "the SDK did not pick up the change by polling"
    assert Registry.from_snapshot(tmp_path / "snap.json").get("support", "u1").version == "1.1.0"
