"""The SDK on states and bundles against the real app: a change arrives as a delta, a
restart from its files fetches no bundle, and a tampered bundle (on the wire or on disk) is
refused and fetched again."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families

from promptctl import bundle_fetch, client
from promptctl.api import create_app
from promptctl.client import Registry
from promptctl.config import load_settings
from promptctl.errors import BackendUnavailable, ValidationError
from promptctl.store import Store
from tests.conftest import Cli
from tests.proof_fixtures import wait_until
from tests.rollout_fixtures import create_token, free_port

pytestmark = pytest.mark.slow


class Tamper:
    """ASGI middleware: damages bundle bytes in the next ``count`` answers of ``path``."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.count = 0
        self.path = "/v1/bundles"
        self.bundle_queries: list[str] = []  # the query string of each /v1/bundles asked

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/bundles":
            self.bundle_queries.append(scope["query_string"].decode())
        if scope["type"] != "http" or scope["path"] != self.path or self.count <= 0:
            await self.app(scope, receive, send)
            return
        self.count -= 1

        async def corrupt(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body" and message.get("body"):
                message = {**message, "body": message["body"].replace(b"support agent",
                                                                      b"supp0rt agent")}
            await send(message)

        await self.app(scope, receive, corrupt)


class App:
    def __init__(self, url: str, tamper: Tamper, reader: str, deployer: str) -> None:
        self.url, self.tamper, self.reader, self.deployer = url, tamper, reader, deployer

    def requests(self, route: str) -> float:
        """How many GETs of ``route`` (its template) the server has answered so far."""
        text = httpx.get(f"{self.url}/metrics").text
        return sum(s.value for family in text_string_to_metric_families(text)
                   for s in family.samples
                   if s.name == "promptctl_http_requests_total"
                   and s.labels.get("route") == route)

    def promote(self, version: str, percent: int = 100) -> None:
        httpx.post(f"{self.url}/v1/envs/production/prompts/support/promote",
                   headers={"Authorization": f"Bearer {self.deployer}"},
                   json={"version": version, "percent": percent}).raise_for_status()

    def sdk(self, path: Path, **kwargs: Any) -> Registry:
        return Registry(self.url, "production", self.reader, fallback_path=path,
                        **kwargs).start()


@pytest.fixture
def app(released: Cli) -> Iterator[App]:
    """The real app, behind a middleware that can tamper with bundles, in a thread."""
    assert released("promote", "support", "1.0.0", "--env", "production").exit_code == 0
    store = Store.open(released.db)
    tamper = Tamper(create_app(load_settings(released.root, db=released.db), store=store))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(tamper, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert wait_until(lambda: server.started, 15, 0.05)
    yield App(f"http://127.0.0.1:{port}", tamper, create_token(released, "reader", "production"),
              create_token(released, "deployer"))
    server.should_exit = True
    thread.join(10)
    store.dispose()


def first(reg: Registry, pred: Callable[[Registry], bool]) -> bool:
    return wait_until(lambda: pred(reg), 10)


def test_a_change_arrives_as_a_delta_with_the_bundles_new_to_the_environment(
        app: App, tmp_path: Path) -> None:
    with app.sdk(tmp_path / "sdk.json") as reg:
        assert reg.get("support", key="u").version == "1.0.0"
        full, bundles = app.requests("/v1/envs/{env}/snapshot"), app.requests("/v1/bundles")
        app.promote("1.1.0", 50)  # a version new to the environment: its bundle comes along
        assert first(reg, lambda r: r.snapshot.doc["prompts"]["support"]["canary"] == "1.1.0")
        app.promote("1.1.0", 90)  # same bundles: nothing to fetch
        assert first(reg, lambda r: r.snapshot.doc["prompts"]["support"]["percent"] == 90)
        assert app.requests("/v1/envs/{env}/snapshot") == full  # never the whole state again
        assert app.requests("/v1/envs/{env}/state") == 0
        assert app.requests("/v1/bundles") == bundles  # the event carried the new bundle
        versions = {reg.get("support", key=f"k{i}").version for i in range(100)}
        assert versions == {"1.0.0", "1.1.0"}
    # the deltas were persisted (journal): the files alone give the same answers
    offline = Registry.from_snapshot(tmp_path / "sdk.json")
    assert offline.change_id == reg.change_id
    assert [offline.get("support", key=f"k{i}").fingerprint for i in range(100)] == \
        [reg.get("support", key=f"k{i}").fingerprint for i in range(100)]


def test_a_restart_from_its_files_fetches_no_bundle(app: App, tmp_path: Path) -> None:
    app.promote("1.1.0", 30)
    app.sdk(tmp_path / "sdk.json").close()
    bundles = app.requests("/v1/bundles")
    with app.sdk(tmp_path / "sdk.json") as again:
        assert {again.get("support", key=f"k{i}").version for i in range(50)} == \
            {"1.0.0", "1.1.0"}
    assert app.requests("/v1/bundles") == bundles


def test_a_tampered_bundle_on_the_wire_is_refused_and_fetched_again(
        app: App, tmp_path: Path) -> None:
    app.tamper.count = 1
    with app.sdk(tmp_path / "sdk.json") as reg:
        assert reg._store is not None and reg._store.refused == 1
        served = httpx.get(f"{app.url}/v1/envs/production/prompts/support/resolve",
                           params={"key": "u"},
                           headers={"Authorization": f"Bearer {app.reader}"}).json()
        assert reg.get("support", key="u").fingerprint == served["fingerprint"]
        assert reg.get("support", key="u").templates["system"].startswith("You are the support")
    app.tamper.count = 100  # a server that only ever sends damaged bytes: refused, loudly
    with pytest.raises(BackendUnavailable, match="refused: bytes not matching their fingerpr"):
        app.sdk(tmp_path / "other.json", timeout=2)


def test_a_tampered_bundle_in_a_change_event_is_refused_and_fetched_again(
        app: App, tmp_path: Path) -> None:
    app.tamper.path, app.tamper.count = "/v1/envs/production/events", 1
    with app.sdk(tmp_path / "sdk.json") as reg:
        bundles = app.requests("/v1/bundles")
        app.promote("1.2.0", 50)
        assert first(reg, lambda r: r.snapshot.doc["prompts"]["support"]["canary"] == "1.2.0")
        assert reg._store is not None and reg._store.refused == 1
        assert app.requests("/v1/bundles") == bundles + 1  # fetched again, undamaged
        canary = next(b for b in (reg.get("support", key=f"k{i}") for i in range(50))
                      if b.variant == "canary")
        assert canary.version == "1.2.0"
        assert canary.templates["system"].startswith("You are the support agent")


def test_a_tampered_bundle_on_disk_is_refused_and_fetched_again(
        app: App, tmp_path: Path) -> None:
    path = tmp_path / "sdk.json"
    app.sdk(path).close()
    pack = path.with_name("sdk.json.pack")
    pack.write_bytes(pack.read_bytes().replace(b"support agent", b"suppert agent"))
    with pytest.raises(ValidationError, match="does not match its fingerprint"):
        Registry.from_snapshot(path).get("support", key="u")  # offline: refused, not served
    bundles = app.requests("/v1/bundles")
    with app.sdk(path) as reg:  # online: refused and fetched again
        assert reg.get("support", key="u").templates["system"].startswith("You are the support")
    assert app.requests("/v1/bundles") == bundles + 1
    assert Registry.from_snapshot(path).get("support", key="u").version == "1.0.0"


def test_an_sdk_follows_many_changes_without_a_gap(app: App, tmp_path: Path) -> None:
    with app.sdk(tmp_path / "sdk.json") as reg:
        for percent in range(5, 100, 5):
            app.promote("1.2.0", percent)
        assert first(reg, lambda r: r.snapshot.doc["prompts"]["support"]["percent"] == 95)
        time.sleep(0.2)
        assert reg.snapshot.doc["prompts"]["support"]["canary"] == "1.2.0"


def test_changes_that_bring_no_new_bundle_never_pass_over_the_whole_state(
        app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dropping the bundles no longer served reads every entry of the state, so it runs
    once ``RETAIN_EVERY`` bundles new to the SDK have come in, never because a change
    moved a percentage (at 10,000 prompts such a pass costs a hundred changes' CPU)."""
    monkeypatch.setattr(client, "RETAIN_EVERY", 2)
    with app.sdk(tmp_path / "sdk.json") as reg:
        assert reg._store is not None
        passes: list[int] = []
        retain = reg._store.retain
        monkeypatch.setattr(reg._store, "retain",
                            lambda served: passes.append(len(served)) or retain(served))
        for percent in (10, 20, 30, 40):  # 1.1.0's bundle is new, once
            app.promote("1.1.0", percent)
        assert first(reg, lambda r: r.snapshot.doc["prompts"]["support"]["percent"] == 40)
        assert passes == []
        app.promote("1.2.0", 50)  # the second new bundle
        assert first(reg, lambda r: r.snapshot.doc["prompts"]["support"]["canary"] == "1.2.0")
        assert wait_until(lambda: len(passes) == 1, 5)
        assert passes == [2]  # what the state serves now: 1.0.0 and 1.2.0


def test_a_first_fetch_with_requests_in_flight_checks_every_bundle(
        app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A first start with many bundle batches fetches them in a thread, a request ahead of
    the hashing (``bundle_fetch``): one bundle per request here, as if there were thousands.
    A damaged answer among them is refused and that bundle fetched again."""
    monkeypatch.setattr(client, "BUNDLES_PER_REQUEST", 1)
    monkeypatch.setattr(bundle_fetch, "CONNECTIONS", 1)  # two batches are "many"
    app.promote("1.1.0", 50)
    app.tamper.count = 1
    before = app.requests("/v1/bundles")
    with app.sdk(tmp_path / "sdk.json") as reg:
        assert reg._store is not None and reg._store.refused == 1
        assert app.requests("/v1/bundles") == before + 3  # two batches, one of them twice
        assert {reg.get("support", key=f"k{i}").version for i in range(50)} == \
            {"1.0.0", "1.1.0"}


def test_a_fleet_asks_for_its_bundles_by_the_same_urls(
        app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, released: Cli) -> None:
    """A first start asks for its bundles in fingerprint order, so that every instance
    starting from the same state asks for the same ``/v1/bundles`` URLs, whose answers are
    immutable: a shared HTTP cache in front of the server can answer a fleet's start."""
    assert released("promote", "summarize-ticket", "1.1.0", "--env",
                    "production").exit_code == 0
    app.promote("1.1.0", 50)  # three bundles in all
    monkeypatch.setattr(client, "BUNDLES_PER_REQUEST", 1)
    app.sdk(tmp_path / "one.json").close()
    first, app.tamper.bundle_queries = app.tamper.bundle_queries, []
    app.sdk(tmp_path / "two.json").close()
    assert app.tamper.bundle_queries == first
    asked = [query.removeprefix("fp=") for query in first]
    assert len(asked) == 3 and asked == sorted(asked)
