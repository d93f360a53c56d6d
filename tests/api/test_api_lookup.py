"""Lookup over HTTP against the real app (in-process, through ASGI): resolve, snapshot/ETag,
events, metrics."""

from __future__ import annotations

import json
import queue
import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families

from promptctl.state import Snapshot
from tests.rollout_fixtures import Api

pytestmark = pytest.mark.slow


def test_resolve_returns_the_bundle_to_use(api: Api) -> None:
    with api.client("reader") as http:
        response = http.get("/v1/envs/production/prompts/support/resolve", params={"key": "u-1"})
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["version"], body["variant"]) == ("support", "1.0.0", "stable")
    assert len(body["fingerprint"]) == 64
    assert body["templates"]["system"].startswith("You are the support agent")
    assert body["model"]["model"] == "gpt-4o-mini-2024-07-18"
    assert [t["name"] for t in body["tools"]] == ["search-kb", "create-ticket"]
    assert body["index"]["name"] == "kb-docs"
    assert body["output_schema"]["required"] == ["answer", "sources"]


def test_resolve_and_the_snapshot_agree_key_by_key(api: Api) -> None:
    with api.client("deployer") as http:
        assert http.post("/v1/envs/production/prompts/support/promote",
                         json={"version": "1.1.0", "percent": 40}).status_code == 200
    with api.client("reader") as http:
        local = Snapshot.from_json(http.get("/v1/envs/production/snapshot").content)
        for i in range(150):
            remote = http.get("/v1/envs/production/prompts/support/resolve",
                              params={"key": f"k{i}"}).json()
            mine = local.resolve("support", f"k{i}")
            assert (remote["version"], remote["variant"], remote["fingerprint"]) == \
                (mine.version, mine.variant, mine.fingerprint)
    variants = {local.resolve("support", f"k{i}").variant for i in range(150)}
    assert variants == {"stable", "canary"}


def test_snapshot_is_conditional_on_its_etag(api: Api) -> None:
    with api.client("reader") as http:
        first = http.get("/v1/envs/production/snapshot")
        assert first.status_code == 200
        etag = first.headers["etag"]
        doc = first.json()
        assert doc["env"] == "production" and doc["prompts"]["support"]["stable"] == "1.0.0"
        assert set(doc["prompts"]["support"]["versions"]) == {"1.0.0"}
        again = http.get("/v1/envs/production/snapshot", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
    with api.client("deployer") as http:
        http.post("/v1/envs/production/prompts/support/promote",
                  json={"version": "1.2.0", "percent": 5}).raise_for_status()
    with api.client("reader") as http:
        changed = http.get("/v1/envs/production/snapshot", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()["change_id"] > doc["change_id"]
    assert changed.json()["prompts"]["support"]["canary"] == "1.2.0"


def test_event_stream_announces_each_change(api: Api) -> None:
    events: queue.Queue[tuple[str, dict]] = queue.Queue()

    def listen() -> None:
        with api.client("reader") as http, http.stream(
                "GET", "/v1/envs/production/events") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            name = ""
            for line in response.iter_lines():
                if line.startswith("event:"):
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    events.put((name, json.loads(line.split(":", 1)[1])))
                    if name == "change":
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    hello = events.get(timeout=10)
    assert hello[0] == "hello"
    with api.client("deployer") as http:
        change = http.post("/v1/envs/production/prompts/support/rollback",
                           json={"reason": "test"})
    # production had one stable version only: nothing to roll back to, no event
    assert change.status_code == 400
    with api.client("deployer") as http:
        done = http.post("/v1/envs/production/prompts/support/promote",
                         json={"version": "1.1.0", "percent": 10}).json()
    name, data = events.get(timeout=10)
    assert name == "change" and data == {"env": "production", "change_id": done["id"]}
    thread.join(10)


def test_healthz_and_prometheus_metrics(api: Api) -> None:
    with api.client(None) as anonymous:
        assert anonymous.get("/healthz").json() == {"status": "ok"}
    with api.client("reader") as http:
        for key in ("a", "b", "c"):
            http.get("/v1/envs/production/prompts/support/resolve", params={"key": key})
        http.get("/v1/envs/production/prompts/nope/resolve")
    with api.client(None) as anonymous:
        metrics = anonymous.get("/metrics").text
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(metrics)
               for s in family.samples}
    route = "/v1/envs/{env}/prompts/{name}/resolve"

    def sample(name: str, **labels: str) -> float | None:
        return samples.get((name, tuple(sorted(labels.items()))))

    assert sample("promptctl_http_requests_total", method="GET", route=route,
                  status="200") == 3
    assert sample("promptctl_http_requests_total", method="GET", route=route,
                  status="404") == 1
    assert sample("promptctl_http_request_duration_seconds_count", method="GET",
                  route=route) == 4
    assert sample("promptctl_resolves_total", env="production", prompt="support",
                  version="1.0.0", variant="stable") == 3
