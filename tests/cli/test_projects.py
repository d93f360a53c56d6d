"""A database is only ever created in a project, and only by a command that writes.

A project is a folder with ``promptctl.toml`` or a git work tree. Outside one there is no
default database: commands that need it say so (exit 2). In a project whose database
does not exist yet, read-only commands read an empty one and create no file; the first
writing command (``release``, ``promote``, ``token create``, ...) creates it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from promptctl.cli.app import app
from promptctl.scaffold import init_repo
from tests.cli.expect import one_line_error
from tests.conftest import commit_all, make_repo

READ_ONLY = [("list",), ("status",), ("status", "--env", "production"), ("token", "list"),
             ("env", "list"), ("db", "current"), ("lint",), ("show", "assistant"),
             ("render", "assistant", "--var", "question=hi"),
             ("history", "assistant", "--env", "production")]


def run(*args: str, cwd: Path | None = None):  # type: ignore[no-untyped-def]
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(app, list(args), catch_exceptions=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(cwd)
        return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def fresh_project(tmp_path: Path) -> Path:
    """``promptctl init`` output, committed, before any command has made a database."""
    repo = make_repo(tmp_path / "fresh")
    root = Path(repo.working_tree_dir)
    init_repo(root)
    commit_all(repo, "init")
    return root


@pytest.mark.parametrize("command", [("list",), ("status",), ("token", "list"), ("show", "a"),
                                     ("token", "create", "--role", "admin"),
                                     ("promote", "a", "1.0.0", "--env", "production")])
def test_outside_a_project_a_command_that_needs_the_database_exits_2_and_creates_nothing(
        tmp_path: Path, command: tuple[str, ...]) -> None:
    folder = tmp_path / "not-a-project"
    folder.mkdir()
    one_line_error(run(*command, cwd=folder), 2, f"{folder} is not inside a promptctl project",
                   "promptctl init", "PROMPTCTL_DB", "(--db)")
    one_line_error(run("--repo", str(folder), *command), 2, "not inside a promptctl project")
    assert list(folder.iterdir()) == []


def test_release_outside_a_project_says_so_and_creates_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-project"
    folder.mkdir()
    result = run("--repo", str(folder), "release")
    assert result.exit_code in (2, 3)
    one_line_error(result, result.exit_code, str(folder))
    assert list(folder.iterdir()) == []


def test_a_repo_folder_that_does_not_exist_is_exit_2_and_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    one_line_error(run("-C", str(missing), "status"), 2, f"{missing} does not exist (--repo)")
    assert not (tmp_path / "no").exists()
    a_file = tmp_path / "file"
    a_file.write_text("")
    one_line_error(run("-C", str(a_file), "list"), 2, "is not a folder")


@pytest.mark.parametrize("command", READ_ONLY)
def test_read_only_commands_in_a_fresh_project_work_and_create_no_database(
        fresh_project: Path, command: tuple[str, ...]) -> None:
    result = run("--repo", str(fresh_project), *command)
    assert result.exit_code in (0, 3), result.output  # history of an unreleased prompt: 3
    assert "Traceback" not in result.output
    assert not (fresh_project / ".promptctl").exists()


def test_list_in_a_fresh_project_shows_the_drafts(fresh_project: Path) -> None:
    result = run("--repo", str(fresh_project), "list", "--json")
    assert result.exit_code == 0
    assert {(r["kind"], r["name"], r["draft"]) for r in json.loads(result.stdout)} >= {
        ("prompt", "assistant", "1.0.0"), ("model", "chat", "1.0.0")}
    assert not (fresh_project / ".promptctl").exists()


def test_the_first_writing_command_creates_the_database_and_reads_then_see_it(
        fresh_project: Path) -> None:
    assert run("--repo", str(fresh_project), "release").exit_code == 0
    assert (fresh_project / ".promptctl" / "registry.db").is_file()
    listed = json.loads(run("--repo", str(fresh_project), "list", "--json").stdout)
    assert all(row["released"] == ["1.0.0"] for row in listed)


def test_a_named_sqlite_file_that_does_not_exist_is_not_created_by_a_read(
        fresh_project: Path, tmp_path: Path) -> None:
    db = tmp_path / "elsewhere" / "registry.db"
    result = run("--repo", str(fresh_project), "--db", f"sqlite:///{db}", "status")
    assert result.exit_code == 0, result.output
    assert not db.parent.exists()


def test_outside_a_project_a_named_database_still_works(tmp_path: Path) -> None:
    """An API host has no git checkout: ``PROMPTCTL_DB`` alone is enough."""
    folder = tmp_path / "api-host"
    folder.mkdir()
    db = f"sqlite:///{tmp_path / 'registry.db'}"
    created = run("--repo", str(folder), "--db", db, "token", "create", "--role", "admin")
    assert created.exit_code == 0, created.output
    assert run("--repo", str(folder), "--db", db, "token", "list").exit_code == 0
    assert list(folder.iterdir()) == []
