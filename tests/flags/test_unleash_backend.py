"""The Unleash flag backend against a real Unleash server (started by `.ci/services.sh`).

What a user relies on: a state published through the Admin API is what an ``UnleashClient``
connected to the same server evaluates, key for key the same split as promptctl's built-in
bucketing; raising the percent only adds keys; a rollback reaches the client within its
refresh interval. Each test uses its own prompt name, so runs never see each other's flags.
"""

from __future__ import annotations

import socket

import httpx
import pytest
from UnleashClient import UnleashClient

from promptctl.bucketing import in_rollout
from promptctl.errors import BackendUnavailable, NotFoundError
from promptctl.flags.base import FlagState
from promptctl.flags.unleash import UnleashFlagBackend, flag_name
from promptctl.flags.unleash_reader import resolve_version
from tests.flags.conftest import KEYS, first_key_in, wait_until


def sides(client: UnleashClient, env: str, prompt: str, context_field: str = "userId"
          ) -> dict[str, tuple[str, str]]:
    return {k: resolve_version(client, env, prompt, {context_field: k}) for k in KEYS}


@pytest.mark.slow
def test_canary_split_matches_builtin_bucketing_key_for_key(
    backend: UnleashFlagBackend, client: UnleashClient, prompt: str
) -> None:
    previous = 0
    for percent in (1, 10, 50, 99):
        canary = f"1.{percent}.0"
        backend.publish(FlagState("production", prompt, "1.0.0", canary, percent))
        probe = first_key_in(percent, prompt, outside_of=previous)
        wait_until(lambda p=probe, c=canary: resolve_version(
            client, "production", prompt, {"userId": p}) == (c, "canary"))

        got = sides(client, "production", prompt)
        expected = {k: (canary, "canary") if in_rollout(percent, prompt, {"userId": k})
                    else ("1.0.0", "stable") for k in KEYS}
        assert got == expected
        in_canary = sum(variant == "canary" for _, variant in got.values())
        assert abs(in_canary / len(KEYS) * 100 - percent) <= 1.5
        previous = percent


@pytest.mark.slow
def test_raising_the_percent_only_adds_keys_to_the_canary(
    backend: UnleashFlagBackend, client: UnleashClient, prompt: str
) -> None:
    """Stickiness on ``sessionId`` (the default's fallback when there is no userId)."""
    canary_keys: set[str] = set()
    previous = 0
    for percent in (5, 20, 60):
        backend.publish(FlagState("staging", prompt, "2.0.0", "2.1.0", percent))
        probe = first_key_in(percent, prompt, outside_of=previous)
        wait_until(lambda p=probe: resolve_version(
            client, "staging", prompt, {"sessionId": p})[1] == "canary")
        now = {k for k, (_, variant) in sides(client, "staging", prompt, "sessionId").items()
               if variant == "canary"}
        assert canary_keys <= now
        assert len(now) > len(canary_keys)
        canary_keys, previous = now, percent


@pytest.mark.slow
def test_custom_stickiness_field_buckets_like_builtin(
    backend: UnleashFlagBackend, client: UnleashClient, prompt: str
) -> None:
    backend.publish(FlagState("production", prompt, "1.0.0", "1.1.0", 30, stickiness="tenantId"))
    probe = next(k for k in KEYS if in_rollout(30, prompt, {"tenantId": k}, "tenantId"))
    wait_until(lambda: resolve_version(
        client, "production", prompt, {"properties": {"tenantId": probe}})[1] == "canary")
    for key in KEYS[:2000]:
        _, variant = resolve_version(client, "production", prompt,
                                     {"properties": {"tenantId": key}})
        assert (variant == "canary") == in_rollout(30, prompt, {"tenantId": key}, "tenantId")


@pytest.mark.slow
def test_rollback_reaches_the_client_within_its_refresh_interval(
    backend: UnleashFlagBackend, client: UnleashClient, prompt: str
) -> None:
    backend.publish(FlagState("production", prompt, "1.0.0", "1.1.0", 50))
    probe = first_key_in(50, prompt)
    wait_until(lambda: resolve_version(
        client, "production", prompt, {"userId": probe}) == ("1.1.0", "canary"))

    backend.publish(FlagState("production", prompt, "1.0.0"))  # rollback: canary cleared
    wait_until(lambda: resolve_version(
        client, "production", prompt, {"userId": probe}) == ("1.0.0", "stable"))
    assert set(sides(client, "production", prompt).values()) == {("1.0.0", "stable")}


@pytest.mark.slow
def test_promoting_the_canary_to_stable_leaves_one_strategy(
    backend: UnleashFlagBackend, client: UnleashClient, prompt: str, unleash: dict[str, str]
) -> None:
    backend.publish(FlagState("development", prompt, "1.0.0", "1.1.0", 10))
    backend.publish(FlagState("development", prompt, "1.1.0"))
    wait_until(lambda: set(sides(client, "development", prompt).values())
               == {("1.1.0", "stable")})

    strategies = httpx.get(
        f"{backend.url}/admin/projects/default/features/{flag_name('development', prompt)}"
        "/environments/development/strategies",
        headers={"Authorization": unleash["PROMPTCTL_TEST_UNLEASH_ADMIN_TOKEN"]}, timeout=10,
    ).json()
    assert [s["title"] for s in strategies] == ["promptctl stable"]


@pytest.mark.slow
def test_strategies_added_by_hand_are_removed_on_publish(
    backend: UnleashFlagBackend, prompt: str, unleash: dict[str, str]
) -> None:
    """A stray 100 % strategy in front of ours would hand everyone the wrong version."""
    backend.publish(FlagState("production", prompt, "1.0.0"))
    path = (f"{backend.url}/admin/projects/default/features/{flag_name('production', prompt)}"
            "/environments/development/strategies")
    headers = {"Authorization": unleash["PROMPTCTL_TEST_UNLEASH_ADMIN_TOKEN"]}
    httpx.post(path, headers=headers, timeout=10, json={
        "name": "flexibleRollout", "sortOrder": -1,
        "parameters": {"rollout": "100", "stickiness": "default", "groupId": "x"},
    }).raise_for_status()

    backend.publish(FlagState("production", prompt, "1.0.0", "1.1.0", 20))
    titles = [s["title"] for s in httpx.get(path, headers=headers, timeout=10).json()]
    assert titles == ["promptctl canary", "promptctl stable"]


@pytest.mark.slow
def test_unknown_flag_is_not_found_for_the_reader(client: UnleashClient, prompt: str) -> None:
    with pytest.raises(NotFoundError, match=prompt):
        resolve_version(client, "production", prompt, {"userId": "u1"})


@pytest.mark.slow
def test_a_client_token_as_admin_token_is_a_clear_error(
    unleash: dict[str, str], prompt: str
) -> None:
    backend = UnleashFlagBackend(unleash["PROMPTCTL_TEST_UNLEASH_URL"],
                                 unleash["PROMPTCTL_TEST_UNLEASH_CLIENT_TOKEN"])
    with pytest.raises(BackendUnavailable, match="admin API token"):
        backend.publish(FlagState("production", prompt, "1.0.0"))


def test_an_unreachable_unleash_is_a_clear_error() -> None:
    with socket.socket() as sock:  # a loopback port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = UnleashFlagBackend(f"http://127.0.0.1:{port}", "*:*.token", timeout=2)
    with pytest.raises(BackendUnavailable, match=f"127.0.0.1:{port}/api is unreachable"):
        backend.publish(FlagState("production", "summarize", "1.0.0"))
