"""promote/rollback/status/history through the API when PROMPTCTL_URL is set."""

from __future__ import annotations

import json

import pytest

from tests.cli.expect import one_line_error
from tests.rollout_fixtures import LiveServer, free_port

pytestmark = pytest.mark.slow


def api_env(server: LiveServer, role: str = "deployer") -> dict[str, str]:
    return {"PROMPTCTL_URL": server.url, "PROMPTCTL_TOKEN": server.tokens[role]}


def test_promote_rollback_status_and_history_go_through_the_server(live_server: LiveServer) -> None:
    cli, env = live_server.cli, api_env(live_server)
    result = cli("promote", "support", "1.1.0", "--env", "production", "-p", "10",
                 "--reason", "via api", env=env)
    assert result.exit_code == 0, result.output
    assert "promoted support@1.1.0 to 10% of production" in result.output
    status = json.loads(cli("status", "--env", "production", "--json", env=env).output)
    assert [(s["prompt"], s["stable"], s["canary"], s["percent"]) for s in status] == \
        [("support", "1.0.0", "1.1.0", 10)]
    result = cli("rollback", "support", "--env", "production", env=env)
    assert result.exit_code == 0 and "rolled back support in production" in result.output
    history = json.loads(cli("history", "support", "--env", "production", "--json",
                             env=env).output)
    assert [e["action"] for e in history] == ["promote", "promote", "rollback"]
    assert history[1]["reason"] == "via api"
    assert history[1]["actor"].startswith("token:")
    assert history[1]["actor"].endswith("(Test Author <author@example.com>)")
    # the database sees exactly what the server wrote
    assert json.loads(cli("history", "support", "--env", "production", "--json").output) \
        == history


SERVER_ERRORS = [  # args, token role, exit code, message
    (["promote", "support", "9.9.9", "--env", "production"], "deployer", 3, "not released"),
    (["promote", "support", "1.1.0", "--env", "production", "-p", "0"], "deployer", 2,
     "1 to 100"),
    (["promote", "support", "1.1.0", "--env", "moon"], "deployer", 3, "unknown environment"),
    (["promote", "support", "1.1.0", "--env", "production"], "reader", 2, "needs deployer"),
    (["rollback", "support", "--env", "production"], "reader", 2, "needs deployer"),
]


def test_errors_from_the_server_keep_their_exit_codes(live_server: LiveServer) -> None:
    for args, role, code, message in SERVER_ERRORS:
        result = live_server.cli(*args, env=api_env(live_server, role))
        assert result.exit_code == code, (args, result.output)
        assert message in result.output, args


def test_a_bad_token_or_an_unreachable_server_is_a_clear_error(live_server: LiveServer) -> None:
    bad = {"PROMPTCTL_URL": live_server.url, "PROMPTCTL_TOKEN": "pct_nope"}
    result = live_server.cli("status", env=bad)
    assert result.exit_code == 2 and "invalid or revoked token" in result.output
    down = {"PROMPTCTL_URL": f"http://127.0.0.1:{free_port()}", "PROMPTCTL_TOKEN": "x"}
    result = live_server.cli("rollback", "support", "--env", "production", env=down)
    assert result.exit_code == 5 and "cannot reach" in result.output
    result = live_server.cli("status", env={"PROMPTCTL_URL": live_server.url})
    assert result.exit_code == 2 and "PROMPTCTL_TOKEN" in result.output


# --- the plain http.client transport (issue 12) ---


def test_an_unreachable_server_s_password_is_masked_in_its_one_line_error(
        live_server: LiveServer) -> None:
    down = {"PROMPTCTL_URL": f"http://ops:s3cret@127.0.0.1:{free_port()}",
            "PROMPTCTL_TOKEN": live_server.tokens["deployer"]}
    result = live_server.cli("rollback", "support", "--env", "production", env=down)
    line = one_line_error(result, 5, "cannot reach http://ops:***@127.0.0.1:")
    assert "s3cret" not in result.output, line


def test_https_to_a_plain_http_server_is_a_one_line_error_and_changes_nothing(
        live_server: LiveServer) -> None:
    deployer = api_env(live_server)
    promoted = live_server.cli("promote", "support", "1.1.0", "--env", "production", "-p", "10",
                               env=deployer)
    assert promoted.exit_code == 0, promoted.output
    https = deployer | {"PROMPTCTL_URL": live_server.url.replace("http://", "https://")}
    result = live_server.cli("rollback", "support", "--env", "production", env=https)
    one_line_error(result, 5, "cannot reach https://127.0.0.1:")
    status = json.loads(live_server.cli("status", "--env", "production", "--json",
                                        env=deployer).output)
    assert [(s["canary"], s["percent"]) for s in status if s["prompt"] == "support"] == \
        [("1.1.0", 10)]


def test_a_path_prefix_of_the_server_url_is_kept(live_server: LiveServer) -> None:
    """A URL with a path sends every request under it: here one the server does not have."""
    prefixed = api_env(live_server) | {"PROMPTCTL_URL": f"{live_server.url}/behind/proxy"}
    result = live_server.cli("status", env=prefixed)
    assert result.exit_code != 0 and "Traceback" not in result.output, result.output
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
