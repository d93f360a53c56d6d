"""Every token role boundary, against the real app (in-process, through ASGI)."""

from __future__ import annotations

import httpx
import pytest

from tests.proof_fixtures import wait_until
from tests.rollout_fixtures import Api, create_token

pytestmark = pytest.mark.slow

RESOLVE = "/v1/envs/{env}/prompts/support/resolve"
PROMOTE = "/v1/envs/{env}/prompts/support/promote"


def call(api: Api, method: str, path: str, token: str | None, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    with api.client(None) as http:
        return http.request(method, path, headers=headers, **kwargs)


def test_missing_malformed_or_unknown_tokens_are_401(api: Api) -> None:
    path = RESOLVE.format(env="production")
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"},
                    {"Authorization": "Bearer pct_not-a-real-token"}):
        with api.client(None) as http:
            response = http.get(path, headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"] == "auth"


def test_a_reader_resolves_only_in_its_environment(api: Api) -> None:
    reader, staging_reader = api.tokens["reader"], api.tokens["reader_staging"]
    assert call(api, "GET", RESOLVE.format(env="production"), reader).status_code == 200
    assert call(api, "GET", "/v1/envs/production/snapshot", reader).status_code == 200
    assert call(api, "GET", RESOLVE.format(env="staging"), staging_reader).status_code == 200
    for path in (RESOLVE.format(env="production"), "/v1/envs/production/snapshot",
                 "/v1/envs/production/events"):
        denied = call(api, "GET", path, staging_reader)
        assert denied.status_code == 403, path
        assert denied.json() == {"error": "permission_denied", "detail":
                                 "this token is scoped to environment 'staging', not "
                                 "'production'"}


def test_a_reader_cannot_change_or_inspect_rollouts(api: Api) -> None:
    reader = api.tokens["reader"]
    promote = call(api, "POST", PROMOTE.format(env="production"), reader,
                   json={"version": "1.1.0", "percent": 10})
    assert promote.status_code == 403
    assert call(api, "POST", "/v1/envs/production/prompts/support/rollback",
                reader).status_code == 403
    assert call(api, "GET", "/v1/envs/production/prompts/support/history",
                reader).status_code == 403
    assert call(api, "GET", "/v1/status", reader).status_code == 403
    assert call(api, "POST", "/v1/tokens", reader, json={"role": "admin"}).status_code == 403
    # nothing changed
    state = call(api, "GET", "/v1/status", api.tokens["deployer"]).json()
    assert all(s["canary"] is None for s in state)


def test_a_deployer_promotes_but_does_not_manage_tokens(api: Api) -> None:
    deployer = api.tokens["deployer"]
    assert call(api, "POST", PROMOTE.format(env="production"), deployer,
                json={"version": "1.1.0", "percent": 10}).status_code == 200
    assert call(api, "GET", RESOLVE.format(env="staging"), deployer).status_code == 200
    assert call(api, "POST", "/v1/tokens", deployer,
                json={"role": "reader", "env": "staging"}).status_code == 403
    assert call(api, "GET", "/v1/tokens", deployer).status_code == 403


def test_a_deployer_scoped_to_staging_cannot_touch_production(api: Api) -> None:
    scoped = create_token(api.cli, "deployer", "staging")
    assert call(api, "POST", PROMOTE.format(env="staging"), scoped,
                json={"version": "1.1.0", "percent": 10}).status_code == 200
    assert call(api, "POST", PROMOTE.format(env="production"), scoped,
                json={"version": "1.1.0", "percent": 10}).status_code == 403


def test_an_admin_creates_lists_and_revokes_tokens(api: Api) -> None:
    admin = api.tokens["admin"]
    created = call(api, "POST", "/v1/tokens", admin,
                   json={"role": "reader", "env": "staging", "name": "web"})
    assert created.status_code == 201
    secret = created.json()["token"]
    assert call(api, "GET", RESOLVE.format(env="staging"), secret).status_code == 200
    listed = call(api, "GET", "/v1/tokens", admin).json()
    assert "web" in [t["name"] for t in listed]
    assert all("token" not in t and "token_hash" not in t for t in listed)
    assert call(api, "POST", "/v1/tokens", admin,
                json={"role": "reader"}).status_code == 400  # readers need an env
    assert call(api, "POST", "/v1/tokens", admin,
                json={"role": "root"}).status_code == 400
    assert call(api, "DELETE", f"/v1/tokens/{created.json()['id']}", admin).status_code == 200
    # the app caches a token for 2 s
    assert wait_until(
        lambda: call(api, "GET", RESOLVE.format(env="staging"), secret).status_code == 401,
        10, step=0.25), "a revoked token still works"
