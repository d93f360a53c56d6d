"""``POST /v1/envs/{env}/outcomes``: SDK reports are counted whole or refused whole with a
4xx JSON body; refused ones leave no window, no fleet record and no metric series."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest

from tests.guard_fixtures import shared_api
from tests.rollout_fixtures import Api

pytestmark = pytest.mark.slow
api = shared_api  # one released repository for the module: refused reports change nothing
URL = "/v1/envs/production/outcomes"


def window(prompt: str = "support", version: str = "1.0.0", calls: int = 10,
           start: float | None = None) -> dict[str, Any]:
    return {"prompt": prompt, "version": version, "variant": "stable",
            "start": start if start is not None else float(int(time.time()) - 20),
            "calls": calls, "errors": {"timeout": 1},
            "latency": {"count": calls, "sum": 2.5, "buckets": {"60": calls}},
            "input_tokens": 1000, "output_tokens": 200, "cost": 0.05,
            "feedback": {"up": 1, "down": 1}, "schema": {"checked": 4, "valid": 3},
            "tool_args": {"checked": 2, "valid": 2}}


def report(*windows: dict[str, Any], instance: str = "app-1") -> dict[str, Any]:
    return {"instance": {"id": instance, "app": "checkout", "sdk_version": "0.1.0",
                         "host": "web-1", "change_id": 2, "source": "stream",
                         "swapped_at": time.time(), "started_at": time.time()},
            "window_seconds": 10, "windows": list(windows), "dropped": {"calls": 0}}


def test_a_report_is_stored_once_and_shows_in_fleet_and_metrics(api: Api) -> None:
    with api.client("reader") as http, api.client("deployer") as admin:
        body = report(window())
        first = http.post(URL, json=body)
        again = http.post(URL, json=body)  # the SDK resends a report whose answer it lost
        fleet = [e for e in admin.get("/v1/fleet", params={"env": "production"}).json()
                 if e["instance_id"] == "app-1"]
        metrics = admin.get("/metrics").text
    assert first.status_code == 202, first.text
    assert first.json()["windows"] == 1 and again.json() == {"instance": "app-1", "windows": 0,
                                                             "duplicates": 1}
    assert [(e["instance_id"], e["app"], e["host"], e["source"], e["live"]) for e in fleet] == \
        [("app-1", "checkout", "web-1", "stream", True)]
    series = ('promptctl_outcome_calls_total{env="production",prompt="support",'
              'variant="stable",version="1.0.0"} 10.0')
    assert series in metrics


BAD = {
    "negative latency": lambda r: r["windows"][0]["latency"].update(sum=-1.0),
    "unknown prompt": lambda r: r["windows"][0].update(prompt="no-such-prompt"),
    "unreleased version": lambda r: r["windows"][0].update(version="9.9.9"),
    "absurd calls": lambda r: r["windows"][0].update(calls=10**12),
    "more errors than calls": lambda r: r["windows"][0].update(errors={"x": 11}),
    "buckets not adding up": lambda r: r["windows"][0]["latency"].update(buckets={"3": 1}),
    "unknown variant": lambda r: r["windows"][0].update(variant="beta"),
    "future window": lambda r: r["windows"][0].update(start=time.time() + 86400),
    "unknown field": lambda r: r["windows"][0].update(extra=1),
    "bad source": lambda r: r["instance"].update(source="carrier-pigeon"),
}


@pytest.mark.parametrize("what", sorted(BAD))
def test_a_bad_report_is_refused_with_json_and_not_counted(api: Api, what: str) -> None:
    instance = f"bad-{what.replace(' ', '-')}"
    body = report(window(version="1.2.0"), window(version="1.1.0"), instance=instance)
    BAD[what](body)
    with api.client("reader") as http, api.client("deployer") as admin:
        response = http.post(URL, json=body)
        fleet = admin.get("/v1/fleet").json()
        metrics = admin.get("/metrics").text
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "validation" and response.json()["detail"]
    assert instance not in {e["instance_id"] for e in fleet}
    assert 'version="1.2.0"' not in metrics and "no-such-prompt" not in metrics


def test_a_huge_body_is_refused_before_it_is_read(api: Api) -> None:
    body = report(*[copy.deepcopy(window(start=float(int(time.time()) - 10 * i)))
                    for i in range(400)])
    with api.client("reader") as http:
        response = http.post(URL, json=body)
    assert response.status_code == 413 and response.json()["error"] == "payload_too_large"


def test_a_reader_reports_to_its_own_environment_only(api: Api) -> None:
    with api.client("reader_staging") as http, api.client("deployer") as admin:
        response = http.post(URL, json=report(window(), instance="staging-app"))
        fleet = admin.get("/v1/fleet").json()
    assert response.status_code == 403 and response.json()["error"] == "permission_denied"
    assert "staging-app" not in {e["instance_id"] for e in fleet}


def test_a_report_without_a_token_is_refused(api: Api) -> None:
    with api.client(None) as http:
        response = http.post(URL, json=report(window()))
    assert response.status_code == 401
