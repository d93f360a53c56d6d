"""The state, delta and bundle endpoints, in process: a small state with an ETag, deltas
since a change id, content-addressed bundles with long-lived cache headers, clear 4xx."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from promptctl.api import create_app
from promptctl.config import load_settings
from promptctl.state import STATE_MEDIA_TYPE
from promptctl.store import Store
from tests.conftest import Cli
from tests.rollout_fixtures import create_token

STATE = "/v1/envs/production/state"


@pytest.fixture
def api(released: Cli) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    assert released("promote", "support", "1.0.0", "--env", "production").exit_code == 0
    headers = {role: {"Authorization": f"Bearer {create_token(released, role, env)}"}
               for role, env in (("reader", "production"), ("deployer", None))}
    headers["staging"] = {"Authorization":
                          f"Bearer {create_token(released, 'reader', 'staging')}"}
    store = Store.open(released.db)
    with TestClient(create_app(load_settings(released.root, db=released.db), store=store)
                    ) as client:
        yield client, headers
    store.dispose()


def promote(client: TestClient, headers: dict[str, dict[str, str]], version: str,
            percent: int = 100) -> int:
    response = client.post("/v1/envs/production/prompts/support/promote",
                           headers=headers["deployer"],
                           json={"version": version, "percent": percent})
    response.raise_for_status()
    return int(response.json()["id"])


def test_the_state_is_small_and_conditional_on_its_etag(api) -> None:  # type: ignore[no-untyped-def]
    client, headers = api
    response = client.get(STATE, headers=headers["reader"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(STATE_MEDIA_TYPE)
    doc = response.json()
    entry = doc["prompts"]["support"]
    assert (doc["format"], doc["env"], entry["stable"], entry["canary"]) == \
        (2, "production", "1.0.0", None)
    assert set(entry["fingerprints"]) == {"1.0.0"} and len(response.content) < 400
    again = client.get(STATE, headers={**headers["reader"],
                                       "If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    # the snapshot endpoint gives the same document when asked for it
    negotiated = client.get("/v1/envs/production/snapshot",
                            headers={**headers["reader"], "Accept": STATE_MEDIA_TYPE})
    assert negotiated.json() == doc and negotiated.headers["etag"] == response.headers["etag"]
    assert "versions" in client.get("/v1/envs/production/snapshot",
                                    headers=headers["reader"]).json()["prompts"]["support"]


def test_a_delta_holds_only_what_changed_since(api) -> None:  # type: ignore[no-untyped-def]
    client, headers = api
    before = client.get(STATE, headers=headers["reader"]).json()["change_id"]
    assert client.get(STATE, params={"since": before},
                      headers=headers["reader"]).status_code == 304
    first = promote(client, headers, "1.1.0", 20)
    second = promote(client, headers, "1.1.0", 40)
    delta = client.get(STATE, params={"since": before}, headers=headers["reader"]).json()
    assert (delta["since"], delta["change_id"]) == (before, second)
    assert list(delta["changes"]) == ["support"]
    assert delta["changes"]["support"]["percent"] == 40
    assert delta["changes"]["support"]["change_id"] == second
    later = client.get(STATE, params={"since": first}, headers=headers["reader"]).json()
    assert later["since"] == first and later["changes"]["support"]["percent"] == 40
    assert client.get(STATE, params={"since": second + 100},
                      headers=headers["reader"]).status_code == 304  # nothing newer here


def test_bundles_are_their_fingerprints_bytes_and_cacheable_for_a_year(api) -> None:  # type: ignore[no-untyped-def]
    client, headers = api
    promote(client, headers, "1.1.0", 50)
    fps = sorted(client.get(STATE, headers=headers["reader"]).json()
                 ["prompts"]["support"]["fingerprints"].values())
    response = client.get("/v1/bundles", params={"fp": ",".join(fps)},
                          headers=headers["staging"])  # any reader token will do
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    lines = response.content.split(b"\n")[:-1]
    assert [hashlib.sha256(line).hexdigest() for line in lines] == fps
    assert json.loads(lines[0])["model"]["provider"] == "openai"
    unknown = client.get("/v1/bundles", params=[("fp", fps[0]), ("fp", "0" * 64)],
                         headers=headers["reader"])
    assert unknown.status_code == 200 and unknown.content.split(b"\n")[:-1] == lines[:1]
    assert unknown.headers["cache-control"] == "no-store"
    assert unknown.headers["x-promptctl-missing"] == "1"


@pytest.mark.parametrize(("params", "detail"), [
    ({"fp": "not-a-fingerprint"}, "is not a bundle fingerprint"),
    ({"fp": ",".join(["a" * 64] * 1 + [f"{i:064x}" for i in range(201)])}, "1 to 200"),
])
def test_bad_bundle_requests_are_clear_422s(api, params, detail) -> None:  # type: ignore[no-untyped-def]
    client, headers = api
    response = client.get("/v1/bundles", params=params, headers=headers["reader"])
    assert response.status_code == 422
    assert response.json()["error"] == "validation" and detail in response.json()["detail"]


def test_state_endpoints_check_tokens_and_environments(api) -> None:  # type: ignore[no-untyped-def]
    client, headers = api
    assert client.get(STATE).status_code == 401
    assert client.get(STATE, headers=headers["staging"]).status_code == 403
    assert client.get("/v1/envs/moon/state", headers=headers["deployer"]).status_code == 404
    assert client.get(STATE, params={"since": -1}, headers=headers["reader"]).status_code == 422
    assert client.get("/v1/bundles", params={"fp": "a" * 64}).status_code == 401


def test_the_server_keeps_bundle_bytes_within_its_budget_and_serves_them_still(
        released: Cli) -> None:
    """``server_bundle_cache_bytes`` bounds the bundle bytes a server holds: those dropped
    are computed again from the store, byte for byte, with the same cache headers and ETag."""
    from promptctl.limits import Limits

    assert released("promote", "support", "1.0.0", "--env", "production").exit_code == 0
    assert released("promote", "support", "1.1.0", "--env", "production",
                    "--percent", "50").exit_code == 0
    reader = {"Authorization": f"Bearer {create_token(released, 'reader', 'production')}"}
    store = Store.open(released.db)
    budget = 3000  # one bundle of the example (2.3 KB), not two
    app = create_app(load_settings(released.root, db=released.db), store=store,
                     limits=Limits(server_bundle_cache_bytes=budget))
    try:
        with TestClient(app) as client:
            fps = sorted(client.get(STATE, headers=reader).json()
                         ["prompts"]["support"]["fingerprints"].values())
            cache = app.state.api.snapshots.states.bundles
            seen = []
            for fp in [*fps, *fps]:  # each one is dropped by the other in between
                response = client.get("/v1/bundles", params={"fp": fp}, headers=reader)
                assert response.status_code == 200
                assert hashlib.sha256(response.content[:-1]).hexdigest() == fp
                assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
                seen.append(response.headers["etag"])
                assert cache.bytes <= budget and len(cache) == 1
            assert seen[:2] == seen[2:] and seen[0] != seen[1]
            again = client.get("/v1/bundles", params={"fp": fps[0]},
                               headers={**reader, "If-None-Match": seen[0]})
            assert again.status_code == 304 and again.content == b""
            # the resolve endpoint reads the same bounded bundles
            resolved = client.get("/v1/envs/production/prompts/support/resolve",
                                  params={"key": "user-1"}, headers=reader)
            assert resolved.status_code == 200 and resolved.json()["fingerprint"] in fps
    finally:
        store.dispose()
