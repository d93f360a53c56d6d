"""The CLI starts light: ``promptctl --help`` loads Typer and promptctl's own light modules,
a rollback through the API loads none of the database, git or template stack, and
promote/rollback/status against the database load SQLAlchemy Core and nothing heavier; none
of them imports another command's module (``--help`` imports none). Each
check runs the real entry point in a fresh interpreter and reads its ``sys.modules`` at
exit, so what the test process imported does not count. (Timings: ``bench/startup.py``.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from promptctl.cli.app import COMMANDS
from tests.conftest import Cli
from tests.rollout_fixtures import Server

# What `promptctl --help` never needs: the store, git, templates, schemas, the secret
# scanner, the server, HTTP, the models and Rich (help is Click's plain formatter).
NOT_FOR_HELP = ("sqlalchemy", "sqlmodel", "alembic", "git", "jinja2", "jsonschema",
                "detect_secrets", "fastapi", "starlette", "uvicorn", "httpx", "pydantic",
                "rich", "yaml")
# What a rollback through the server never needs: it sends one HTTP request.
NOT_FOR_API_ROLLBACK = ("sqlalchemy", "sqlmodel", "alembic", "git", "jinja2", "jsonschema",
                        "detect_secrets", "fastapi", "uvicorn", "pydantic", "yaml", "httpx")

# What promote, rollback and status against the database never need: they run on SQLAlchemy
# Core (promptctl.store.rollouts), and the schema is read without Alembic when it is current.
NOT_FOR_DB_ROLLOUT = ("sqlmodel", "sqlalchemy.orm", "alembic", "mako", "git", "jinja2",
                      "jsonschema", "detect_secrets", "fastapi", "uvicorn", "httpx", "pydantic",
                      "yaml")

# The command modules a promote, rollback or status never imports: the top-level group
# builds only the command being run (promptctl.cli.app.COMMANDS), and `--help` none at all.
OTHER_COMMAND_MODULES = tuple(sorted(
    f"promptctl.cli.{module}" for module, _ in COMMANDS.values() if module != "rollout_cmds"))
ALL_COMMAND_MODULES = (*OTHER_COMMAND_MODULES, "promptctl.cli.rollout_cmds")

RUN_MAIN_AND_REPORT = """
import atexit, json, sys
atexit.register(lambda: sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n"))
sys.argv = ["promptctl", *sys.argv[1:]]
from promptctl.cli.app import main
main()
"""


def modules_after(*args: str, env: dict[str, str] | None = None
                  ) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``promptctl ARGS`` in a fresh interpreter; its result and the modules it held
    (every dotted name, and every top-level package)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTCTL_")}
    result = subprocess.run([sys.executable, "-c", RUN_MAIN_AND_REPORT, *args],
                            capture_output=True, text=True, timeout=120, env=base | (env or {}),
                            check=False)
    line = next(x for x in result.stderr.splitlines() if x.startswith("MODULES "))
    names = set(json.loads(line.removeprefix("MODULES ")))
    return result, names | {name.split(".")[0] for name in names}


@pytest.mark.parametrize("args", [("--help",), ("rollback", "--help"), ("db", "--help"),
                                  ("--version",)])
def test_help_loads_no_heavy_dependency(args: tuple[str, ...]) -> None:
    result, loaded = modules_after(*args)
    assert result.returncode == 0, result.stderr
    assert loaded.isdisjoint(NOT_FOR_HELP), sorted(loaded & set(NOT_FOR_HELP))
    own = f"promptctl.cli.{COMMANDS[args[0]][0]}" if args[0] in COMMANDS else None
    others = {*ALL_COMMAND_MODULES} - {own}  # `--help` alone imports no command module
    assert loaded.isdisjoint(others), sorted(loaded & others)


@pytest.mark.slow
def test_a_rollback_through_the_api_loads_no_database_git_or_templates(server: Server
                                                                       ) -> None:
    promoted = server.cli("promote", "support", "1.1.0", "--env", "production", "--percent",
                          "10")
    assert promoted.exit_code == 0, promoted.output
    result, loaded = modules_after(
        "--repo", str(server.cli.root), "rollback", "support", "--env", "production",
        env={"PROMPTCTL_URL": server.url, "PROMPTCTL_TOKEN": server.tokens["deployer"]})
    assert result.returncode == 0, result.stderr
    assert "rolled back support in production" in result.stdout
    assert loaded.isdisjoint(NOT_FOR_API_ROLLBACK), sorted(loaded & set(NOT_FOR_API_ROLLBACK))
    assert loaded.isdisjoint(OTHER_COMMAND_MODULES), sorted(loaded & set(OTHER_COMMAND_MODULES))


@pytest.mark.slow
def test_promote_rollback_and_status_against_the_database_load_sqlalchemy_core_only(
        released: Cli) -> None:
    base = ("--repo", str(released.root), "--db", released.db)
    said = {}
    for args in (("promote", "support", "1.0.0", "--env", "production"),
                 ("promote", "support", "1.1.0", "--env", "production", "--percent", "10"),
                 ("rollback", "support", "--env", "production"),
                 ("status", "--env", "production")):
        result, loaded = modules_after(*base, *args)
        assert result.returncode == 0, result.stderr
        assert "sqlalchemy" in loaded, args  # it did use the database
        # a status prints a table (Rich); a promote or rollback prints one plain line
        heavy = sorted(loaded & {*NOT_FOR_DB_ROLLOUT, *(("rich",) if args[0] != "status" else ()),
                                 *OTHER_COMMAND_MODULES})
        assert not heavy, (args, heavy)
        said[args[0]] = result.stdout
    assert "rolled back support in production: 1.0.0 + 1.1.0 @ 10% -> 1.0.0" in said["rollback"]
    assert "support" in said["status"] and "1.0.0" in said["status"]
