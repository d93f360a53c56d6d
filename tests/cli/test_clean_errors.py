"""Inputs that used to end in a traceback: one line, the contract's exit code, nothing written."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import git
import pytest

from tests.cli.expect import one_line_error
from tests.conftest import Cli


@pytest.fixture
def released_examples(cli: Cli) -> Cli:
    assert cli("release").exit_code == 0
    return cli


def token_rows(cli: Cli) -> list[dict[str, object]]:
    return json.loads(cli("token", "list", "--json").stdout)


@pytest.mark.parametrize("token_id", ["99999999999999999999", "2147483648", "0", "-5"])
def test_revoking_a_token_id_beyond_the_column_is_exit_2_and_revokes_nothing(
        cli: Cli, token_id: str) -> None:
    assert cli("token", "create", "--role", "admin").exit_code == 0
    before = token_rows(cli)
    one_line_error(cli("token", "revoke", "--", token_id), 2, f"{token_id} is not a token id")
    assert token_rows(cli) == before


@pytest.mark.parametrize("spec", ["model/support-chat", "support-chat", "support-chat@1.0.0",
                                  "tool/search-kb", "index/kb-docs"])
def test_rendering_something_that_is_not_a_prompt_is_one_line_exit_2(
        released_examples: Cli, spec: str) -> None:
    name = spec.partition("/")[2] or spec
    kind = spec.partition("/")[0] if "/" in spec else "model"
    one_line_error(released_examples("render", spec), 2,
                   f"{name.partition('@')[0]} is a {kind}; only prompts render")


def test_rendering_a_prompt_still_works_by_every_spelling(released_examples: Cli) -> None:
    for spec in ("support", "prompt/support", "support@1.0.0"):
        result = released_examples("render", spec, "--var", "customer=Ann", "--var", "question=hi",
                                   "--json")
        assert result.exit_code == 0, result.output


def test_db_upgrade_to_an_unknown_revision_is_exit_2_and_changes_nothing(cli: Cli) -> None:
    assert cli("db", "upgrade").exit_code == 0
    before = cli("db", "current").stdout
    one_line_error(cli("db", "upgrade", "nope"), 2, "cannot upgrade the database to 'nope'",
                   "0001_releases")
    one_line_error(cli("db", "downgrade", "nope"), 2, "cannot downgrade the database to 'nope'")
    assert cli("db", "current").stdout == before


@pytest.fixture
def from_the_future(released_examples: Cli) -> Cli:
    """A database whose ``alembic_version`` names a revision this promptctl lacks."""
    path = released_examples.db.removeprefix("sqlite:///")
    if not released_examples.db.startswith("sqlite"):
        from sqlalchemy import create_engine, text

        engine = create_engine(released_examples.db)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))
        engine.dispose()
        return released_examples
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099_future'")
    return released_examples


@pytest.mark.parametrize("command", [
    ("list",), ("status",), ("release",), ("db", "upgrade"), ("db", "downgrade", "base"),
    ("token", "create", "--role", "admin"), ("show", "support"),
    ("promote", "support", "1.0.0", "--env", "production"),
])
def test_every_command_on_a_database_from_a_newer_promptctl_is_exit_5_and_writes_nothing(
        from_the_future: Cli, command: tuple[str, ...]) -> None:
    one_line_error(from_the_future(*command), 5, "schema revision '0099_future'",
                   "written by a newer or another promptctl")
    assert "0099_future (unknown to this promptctl" in from_the_future("db", "current").stdout


def test_a_database_driver_that_is_not_installed_is_one_line_exit_2(example_repo: git.Repo
                                                                   ) -> None:
    root = Path(example_repo.working_tree_dir)
    result = Cli(root, "mysql://app:Sup3rS3cretPw@127.0.0.1/registry")("list")
    line = one_line_error(result, 2, "the database driver of 'mysql://app:***@127.0.0.1/registry'"
                          " is not installed")
    assert "Sup3rS3cretPw" not in result.output and "MySQLdb" in line


@pytest.mark.parametrize("url", ["postgresql+psycopg://app:Sup3rS3cretPw@127.0.0.1:port/x",
                                 "postgresql+evil://app:Sup3rS3cretPw@127.0.0.1/x",
                                 "postgresql+psycopg://app:Sup3rS3cretPw@[::1/x"])
def test_a_malformed_database_url_is_exit_2_and_masks_the_password(
        example_repo: git.Repo, url: str) -> None:
    result = Cli(Path(example_repo.working_tree_dir), url)("status")
    one_line_error(result, 2, "invalid database URL 'postgresql+", "app:***@")
    assert "S3cret" not in result.output


@pytest.mark.parametrize("name", ["qa\n", "qa\r", "QA", "q a", "-qa", "", "a" * 65, "qa\x1b"])
def test_env_add_refuses_a_name_that_does_not_fully_match_and_adds_nothing(
        cli: Cli, name: str) -> None:
    before = cli("env", "list", "--json").stdout
    one_line_error(cli("env", "add", "--", name), 2, "is not a valid environment name")
    assert cli("env", "list", "--json").stdout == before
