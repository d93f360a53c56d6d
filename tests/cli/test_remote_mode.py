"""With ``PROMPTCTL_URL`` set, every command that reads or changes rollout state,
environments, evals or tokens goes through the server, and never touches a local database:
not even to create its file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import git
import pytest
from typer.testing import CliRunner

from promptctl.cli.app import app
from tests.cli.expect import one_line_error
from tests.rollout_fixtures import Server, free_port

# Every rollout, environment, eval and token command (the token revoked is made up: the
# server is never reached, or answers for it).
COMMANDS = [
    ["promote", "support", "1.0.0", "--env", "production"],
    ["promote", "support", "1.0.0", "--env", "production", "--percent", "10"],
    ["rollback", "support", "--env", "production"],
    ["status"],
    ["status", "--env", "production"],
    ["history", "support", "--env", "production"],
    ["env", "add", "qa"],
    ["env", "list"],
    ["eval", "record", "support", "1.0.0", "--env", "production", "--passed", "--suite", "s"],
    ["token", "create", "--role", "admin"],
    ["token", "create", "--role", "reader", "--env", "production"],
    ["token", "list"],
    ["token", "revoke", "1"],
]


def no_promptctl_env() -> dict[str, str | None]:
    """Unset every PROMPTCTL_ variable of the test process for one invocation."""
    return {k: None for k in os.environ if k.startswith("PROMPTCTL_")}


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_with_a_server_url_no_command_falls_back_to_the_local_database(
        example_repo: git.Repo, tmp_path: Path, args: list[str]) -> None:
    root = Path(example_repo.working_tree_dir or "")
    never = tmp_path / "never.db"
    env = no_promptctl_env() | {"PROMPTCTL_URL": f"http://127.0.0.1:{free_port()}",
                                "PROMPTCTL_TOKEN": "pct_whatever",
                                "PROMPTCTL_DB": f"sqlite:///{never}"}
    for json_flag in ([], ["--json"]):
        result = CliRunner().invoke(app, ["--repo", str(root), *args, *json_flag], env=env,
                                    catch_exceptions=False)
        if json_flag:
            assert result.exit_code == 5, result.output
            assert json.loads(result.stderr or result.output)["error"] == "backend_unavailable"
        else:
            one_line_error(result, 5, "cannot reach http://127.0.0.1:")
    assert not never.exists()
    assert not (root / ".promptctl").exists()


def api_env(server: Server, role: str) -> dict[str, str]:
    return {"PROMPTCTL_URL": server.url, "PROMPTCTL_TOKEN": server.tokens[role]}


def test_environments_evals_and_tokens_are_managed_through_the_server(server: Server) -> None:
    cli, admin, deployer = server.cli, api_env(server, "admin"), api_env(server, "deployer")
    # the server answers, with the calling token's role: a reader may not add environments
    one_line_error(cli("env", "add", "qa", env=api_env(server, "reader")), 2, "needs admin")
    result = cli("env", "add", "qa", env=admin)
    assert result.exit_code == 0 and "added environment qa" in result.output, result.output
    assert "qa" in cli("env", "list", env=deployer).output.split()
    one_line_error(cli("env", "add", "qa", env=admin), 4, "already exists")

    result = cli("eval", "record", "support", "1.1.0", "--env", "qa", "--passed", "--suite",
                 "smoke", "--score", "0.9", "--json", env=deployer)
    assert result.exit_code == 0, result.output
    recorded = json.loads(result.output)
    assert recorded["actor"].startswith("token:deployer")  # the server recorded the token
    assert recorded["actor"].endswith("(Test Author <author@example.com>)")
    assert (recorded["suite"], recorded["passed"], recorded["score"]) == ("smoke", True, 0.9)
    one_line_error(cli("eval", "record", "support", "1.1.0", "--env", "production", "--passed",
                       "--suite", "smoke", env=api_env(server, "reader")), 2, "needs deployer")
    one_line_error(cli("eval", "record", "support", "9.9.9", "--env", "qa", "--failed",
                       "--suite", "smoke", env=deployer), 3, "not released")

    result = cli("token", "create", "--role", "reader", "--env", "qa", "--json", env=admin)
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    assert created["token"].startswith("pct_") and created["env"] == "qa"
    one_line_error(cli("token", "list", env=deployer), 2, "needs admin")
    listed = {t["id"]: t for t in json.loads(cli("token", "list", "--json", env=admin).output)}
    assert listed[created["id"]]["created_by"].startswith("token:admin")
    assert created["token"] not in cli("token", "list", env=admin).output
    result = cli("token", "revoke", str(created["id"]), env=admin)
    assert result.exit_code == 0 and f"revoked token {created['id']}" in result.output
    listed = {t["id"]: t for t in json.loads(cli("token", "list", "--json", env=admin).output)}
    assert listed[created["id"]]["revoked"] is True
    one_line_error(cli("token", "revoke", "424242", env=admin), 3, "no token with id 424242")


# Modules a command through a server must not load: they cost start-up time, and loading
# them would mean the command reached for the database or GitPython.
LOCAL_ONLY = ("sqlalchemy", "sqlmodel", "alembic", "git", "fastapi", "uvicorn")

IN_SUBPROCESS = """
import json, sys
from promptctl.cli.app import app
codes = []
for args in json.loads(sys.argv[1]):
    try:
        app(["--repo", sys.argv[2], *args], standalone_mode=False)
        codes.append(0)
    except SystemExit as exc:
        codes.append(exc.code)
print(json.dumps({"codes": codes, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def test_commands_through_a_server_load_neither_the_database_nor_gitpython(
        server: Server) -> None:
    commands = [["promote", "support", "1.1.0", "--env", "production", "-p", "10"],
                ["rollback", "support", "--env", "production"], ["status"],
                ["history", "support", "--env", "production"], ["env", "list"],
                ["token", "list"]]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTCTL_")}
    result = subprocess.run(
        [sys.executable, "-c", IN_SUBPROCESS, json.dumps(commands), str(server.cli.root)],
        env=env | api_env(server, "admin"), capture_output=True, text=True, timeout=60,
        check=False)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["codes"] == [0] * len(commands), result.stdout
    assert set(report["modules"]).isdisjoint(LOCAL_ONLY), \
        sorted(set(report["modules"]) & set(LOCAL_ONLY))
