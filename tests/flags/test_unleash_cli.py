"""`promptctl promote` / `rollback` with ``PROMPTCTL_FLAGS=unleash``: what the CLI changes is what
an app's ``UnleashClient`` sees, within its refresh interval.

Needs rollout control (``promptctl promote``, issue 3); until that is on the branch the module is
skipped. Each test works in its own new promptctl environment, so the flags it writes to the
shared Unleash server (``promptctl.<env>.support``) are its own.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from UnleashClient import UnleashClient

pytest.importorskip("promptctl.rollout", reason="rollout control (promote/rollback) not merged yet")

from promptctl.bucketing import in_rollout
from promptctl.flags.unleash_reader import resolve_version
from tests.conftest import Cli
from tests.flags.conftest import KEYS, first_key_in, wait_until
from tests.rollout_fixtures import release_versions


def run(cli: Cli, env: dict[str, str], *args: str) -> dict:
    result = cli(*args, "--json", env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def start_canary(cli: Cli, unleash_env: dict[str, str], client: UnleashClient) -> tuple[str, str]:
    """Release support 1.0.0 and 1.1.0, make 1.0.0 stable and 1.1.0 a 30% canary in a new
    environment, wait until ``client`` sees it; return the environment and a canary key."""
    release_versions(cli, "1.1.0")
    env = f"u{uuid.uuid4().hex[:8]}"
    run(cli, unleash_env, "env", "add", env)
    run(cli, unleash_env, "promote", "support", "1.0.0", "--env", env)
    run(cli, unleash_env, "promote", "support", "1.1.0", "--env", env, "--percent", "30")
    probe = first_key_in(30, "support")
    wait_until(lambda: resolve_version(client, env, "support", {"userId": probe})
               == ("1.1.0", "canary"))
    return env, probe


@pytest.fixture
def unleash_env(unleash: dict[str, str]) -> dict[str, str]:
    """The variables a user sets to make the CLI publish to Unleash."""
    return {"PROMPTCTL_FLAGS": "unleash",
            "PROMPTCTL_UNLEASH_URL": unleash["PROMPTCTL_TEST_UNLEASH_URL"],
            "PROMPTCTL_UNLEASH_TOKEN": unleash["PROMPTCTL_TEST_UNLEASH_ADMIN_TOKEN"]}


@pytest.mark.slow
def test_promote_then_rollback_through_the_cli_reach_an_unleash_client(
    cli: Cli, unleash_env: dict[str, str], client: UnleashClient
) -> None:
    env, probe = start_canary(cli, unleash_env, client)
    for key in KEYS[:2000]:
        expected = ("1.1.0", "canary") if in_rollout(30, "support", {"userId": key}) \
            else ("1.0.0", "stable")
        assert resolve_version(client, env, "support", {"userId": key}) == expected

    run(cli, unleash_env, "rollback", "support", "--env", env)
    wait_until(lambda: resolve_version(client, env, "support", {"userId": probe})
               == ("1.0.0", "stable"))
    assert {resolve_version(client, env, "support", {"userId": k}) for k in KEYS[:2000]} \
        == {("1.0.0", "stable")}


@pytest.mark.slow
def test_an_unreachable_unleash_fails_the_promote_with_one_clear_line(
    cli: Cli, tmp_path: Path
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert cli("release").exit_code == 0
    env = {"PROMPTCTL_FLAGS": "unleash", "PROMPTCTL_UNLEASH_URL": f"http://127.0.0.1:{port}",
           "PROMPTCTL_UNLEASH_TOKEN": "*:*.x"}
    result = cli("promote", "support", "1.0.0", "--env", "production", env=env)
    assert result.exit_code != 0
    assert "unreachable" in result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_the_sdk_can_let_an_unleash_client_pick_the_version(
    cli: Cli, unleash_env: dict[str, str], client: UnleashClient
) -> None:
    """`Registry(..., unleash=client)`: the version comes from the real Unleash server, the bundle
    from promptctl's snapshot, and the answer is the built-in backend's, key for key."""
    from promptctl.client import Registry
    from tests.rollout_fixtures import LiveServer, create_token

    env, probe = start_canary(cli, unleash_env, client)
    server = LiveServer(cli)
    server.start()
    try:
        token = create_token(cli, "reader", env)
        with Registry(server.url, env, token, unleash=client) as via_unleash, \
                Registry(server.url, env, token) as builtin:
            for key in KEYS[:2000]:
                a, b = via_unleash.get("support", key=key), builtin.get("support", key=key)
                assert (a.version, a.variant, a.fingerprint) == \
                    (b.version, b.variant, b.fingerprint)
            assert via_unleash.get("support", key=probe).version == "1.1.0"
    finally:
        server.stop()
