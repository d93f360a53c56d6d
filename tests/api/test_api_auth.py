"""Every token role boundary, against the real server."""

from __future__ import annotations

import httpx
import pytest

from tests.proof_fixtures import wait_until
from tests.rollout_fixtures import Server, create_token

pytestmark = pytest.mark.slow

RESOLVE = "/v1/envs/{env}/prompts/support/resolve"
PROMOTE = "/v1/envs/{env}/prompts/support/promote"


def call(server: Server, method: str, path: str, token: str | None, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.request(method, server.url + path, headers=headers, timeout=10, **kwargs)


def test_missing_malformed_or_unknown_tokens_are_401(server: Server) -> None:
    path = RESOLVE.format(env="production")
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"},
                    {"Authorization": "Bearer pct_not-a-real-token"}):
        response = httpx.get(server.url + path, headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"] == "auth"


def test_a_reader_resolves_only_in_its_environment(server: Server) -> None:
    reader, staging_reader = server.tokens["reader"], server.tokens["reader_staging"]
    assert call(server, "GET", RESOLVE.format(env="production"), reader).status_code == 200
    assert call(server, "GET", "/v1/envs/production/snapshot", reader).status_code == 200
    assert call(server, "GET", RESOLVE.format(env="staging"), staging_reader).status_code == 200
    for path in (RESOLVE.format(env="production"), "/v1/envs/production/snapshot",
                 "/v1/envs/production/events"):
        denied = call(server, "GET", path, staging_reader)
        assert denied.status_code == 403, path
        assert denied.json() == {"error": "permission_denied", "detail":
                                 "this token is scoped to environment 'staging', not "
                                 "'production'"}


def test_a_reader_cannot_change_or_inspect_rollouts(server: Server) -> None:
    reader = server.tokens["reader"]
    promote = call(server, "POST", PROMOTE.format(env="production"), reader,
                   json={"version": "1.1.0", "percent": 10})
    assert promote.status_code == 403
    assert call(server, "POST", "/v1/envs/production/prompts/support/rollback",
                reader).status_code == 403
    assert call(server, "GET", "/v1/envs/production/prompts/support/history",
                reader).status_code == 403
    assert call(server, "GET", "/v1/status", reader).status_code == 403
    assert call(server, "POST", "/v1/tokens", reader, json={"role": "admin"}).status_code == 403
    # nothing changed
    state = call(server, "GET", "/v1/status", server.tokens["deployer"]).json()
    assert all(s["canary"] is None for s in state)


def test_a_deployer_promotes_but_does_not_manage_tokens(server: Server) -> None:
    deployer = server.tokens["deployer"]
    assert call(server, "POST", PROMOTE.format(env="production"), deployer,
                json={"version": "1.1.0", "percent": 10}).status_code == 200
    assert call(server, "GET", RESOLVE.format(env="staging"), deployer).status_code == 200
    assert call(server, "POST", "/v1/tokens", deployer,
                json={"role": "reader", "env": "staging"}).status_code == 403
    assert call(server, "GET", "/v1/tokens", deployer).status_code == 403


def test_a_deployer_scoped_to_staging_cannot_touch_production(server: Server) -> None:
    scoped = create_token(server.cli, "deployer", "staging")
    assert call(server, "POST", PROMOTE.format(env="staging"), scoped,
                json={"version": "1.1.0", "percent": 10}).status_code == 200
    assert call(server, "POST", PROMOTE.format(env="production"), scoped,
                json={"version": "1.1.0", "percent": 10}).status_code == 403


def test_an_admin_creates_lists_and_revokes_tokens(server: Server) -> None:
    admin = server.tokens["admin"]
    created = call(server, "POST", "/v1/tokens", admin,
                   json={"role": "reader", "env": "staging", "name": "web"})
    assert created.status_code == 201
    secret = created.json()["token"]
    assert call(server, "GET", RESOLVE.format(env="staging"), secret).status_code == 200
    listed = call(server, "GET", "/v1/tokens", admin).json()
    assert "web" in [t["name"] for t in listed]
    assert all("token" not in t and "token_hash" not in t for t in listed)
    assert call(server, "POST", "/v1/tokens", admin,
                json={"role": "reader"}).status_code == 400  # readers need an env
    assert call(server, "POST", "/v1/tokens", admin,
                json={"role": "root"}).status_code == 400
    assert call(server, "DELETE", f"/v1/tokens/{created.json()['id']}", admin).status_code == 200
    # the server caches a token for 2 s
    assert wait_until(
        lambda: call(server, "GET", RESOLVE.format(env="staging"), secret).status_code == 401,
        10, step=0.25), "a revoked token still works"
