"""Rollout control over HTTP: promote, rollback, history, status (the app in-process)."""

from __future__ import annotations

import pytest

from tests.rollout_fixtures import Api

pytestmark = pytest.mark.slow


def test_promote_rollback_and_history_over_http(api: Api) -> None:
    base = "/v1/envs/production/prompts/support"
    with api.client("deployer") as http:
        canary = http.post(f"{base}/promote", json={"version": "1.1.0", "percent": 25,
                                                     "reason": "canary", "actor": "ann"})
        assert canary.status_code == 200, canary.text
        assert canary.json()["after"] == {"stable": "1.0.0", "canary": "1.1.0", "percent": 25,
                                          "stickiness": "default"}
        back = http.post(f"{base}/rollback", json={"reason": "latency"})
        assert back.status_code == 200
        assert back.json()["after"]["canary"] is None
        history = http.get(f"{base}/history").json()
        status = http.get("/v1/status", params={"env": "production"}).json()
    assert [e["action"] for e in history] == ["promote", "promote", "rollback"]
    assert history[1]["actor"].startswith("token:") and history[1]["actor"].endswith("(ann)")
    assert history[2]["reason"] == "latency"
    assert [(s["prompt"], s["stable"], s["canary"]) for s in status] == \
        [("support", "1.0.0", None)]


def test_rollback_without_a_body_is_accepted(api: Api) -> None:
    base = "/v1/envs/staging/prompts/support"
    with api.client("deployer") as http:
        http.post(f"{base}/promote", json={"version": "1.2.0"}).raise_for_status()
        response = http.post(f"{base}/rollback")
    assert response.status_code == 200
    assert response.json()["after"]["stable"] == "1.0.0"


def test_the_longest_token_name_and_claimed_actor_are_recorded_in_full(api: Api) -> None:
    """The audit actor is ``token:<name> (<claimed>)``: at both limits it still fits its
    column (PostgreSQL enforces the length, so an overflow there was a 500)."""
    name, claimed = "n" * 128, "a" * 100
    with api.client("admin") as http:
        created = http.post("/v1/tokens", json={"role": "deployer", "name": name})
        assert created.status_code == 201, created.text
    base = "/v1/envs/production/prompts/support"
    headers = {"Authorization": f"Bearer {created.json()['token']}"}
    with api.client(None) as http:
        response = http.post(f"{base}/promote", headers=headers,
                             json={"version": "1.1.0", "actor": claimed})
        assert response.status_code == 200, response.text
        too_long = http.post(f"{base}/rollback", headers=headers, json={"actor": claimed + "a"})
        assert too_long.status_code == 422 and too_long.json()["error"] == "validation"
    assert response.json()["actor"] == f"token:{name} ({claimed})"
