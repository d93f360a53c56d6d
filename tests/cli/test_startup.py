"""The CLI starts light: ``promptctl --help`` loads Typer and promptctl's own light modules,
and a rollback through the API loads none of the database, git or template stack. Each
check runs the real entry point in a fresh interpreter and reads its ``sys.modules`` at
exit, so what the test process imported does not count. (Timings: ``bench/startup.py``.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.rollout_fixtures import Server

# What `promptctl --help` never needs: the store, git, templates, schemas, the secret
# scanner, the server, HTTP, the models and Rich (help is Click's plain formatter).
NOT_FOR_HELP = ("sqlalchemy", "sqlmodel", "alembic", "git", "jinja2", "jsonschema",
                "detect_secrets", "fastapi", "starlette", "uvicorn", "httpx", "pydantic",
                "rich", "yaml")
# What a rollback through the server never needs: it sends one HTTP request.
NOT_FOR_API_ROLLBACK = ("sqlalchemy", "sqlmodel", "alembic", "git", "jinja2", "jsonschema",
                        "detect_secrets", "fastapi", "uvicorn", "pydantic", "yaml", "httpx")

RUN_MAIN_AND_REPORT = """
import atexit, json, sys
atexit.register(lambda: sys.stderr.write(
    "\\nMODULES " + json.dumps(sorted({m.split(".")[0] for m in sys.modules})) + "\\n"))
sys.argv = ["promptctl", *sys.argv[1:]]
from promptctl.cli.app import main
main()
"""


def modules_after(*args: str, env: dict[str, str] | None = None
                  ) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``promptctl ARGS`` in a fresh interpreter; its result and top-level modules."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTCTL_")}
    result = subprocess.run([sys.executable, "-c", RUN_MAIN_AND_REPORT, *args],
                            capture_output=True, text=True, timeout=120, env=base | (env or {}),
                            check=False)
    line = next(x for x in result.stderr.splitlines() if x.startswith("MODULES "))
    return result, set(json.loads(line.removeprefix("MODULES ")))


@pytest.mark.parametrize("args", [("--help",), ("rollback", "--help"), ("db", "--help"),
                                  ("--version",)])
def test_help_loads_no_heavy_dependency(args: tuple[str, ...]) -> None:
    result, loaded = modules_after(*args)
    assert result.returncode == 0, result.stderr
    assert loaded.isdisjoint(NOT_FOR_HELP), sorted(loaded & set(NOT_FOR_HELP))


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
