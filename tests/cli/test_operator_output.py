"""What operators see: no terminal escape sequences from user data, no Rich markup taken from
it, no passwords from URLs, and token names that give nothing of the secret away."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

from tests.cli.expect import one_line_error
from tests.conftest import Cli

HOSTILE = "\x1b[2J\x1b]0;pwned\x07[red]alert[/red]\u202e"
SHOWN = "\\x1b[2J\\x1b]0;pwned\\x07[red]alert[/red]\\u202e"
WIDE = {"COLUMNS": "400"}  # so that no table cell wraps in the middle of what is asserted


@pytest.fixture
def sqlite_cli(example_repo: git.Repo, tmp_path: Path) -> Cli:
    return Cli(Path(example_repo.working_tree_dir), f"sqlite:///{tmp_path / 'registry.db'}")


def assert_no_control_characters(text: str) -> None:
    assert not any((ord(c) < 0x20 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F for c in text)
    assert "\u202e" not in text


def test_list_escapes_control_characters_and_markup_in_descriptions(sqlite_cli: Cli) -> None:
    (sqlite_cli.root / "prompts" / "evil.tool.yaml").write_text(
        'kind: tool\nname: evil\nversion: 1.0.0\n'
        'description: "\\e[2J\\e]0;pwned\\a[red]alert[/red]\\u202e"\n'
        "parameters: {type: object}\n", encoding="utf-8")
    result = sqlite_cli("list", env=WIDE)
    assert result.exit_code == 0, result.output
    assert_no_control_characters(result.stdout)
    assert SHOWN in result.stdout
    rows = json.loads(sqlite_cli("list", "--json").stdout)
    assert next(r for r in rows if r["name"] == "evil")["description"] == HOSTILE


def test_history_escapes_the_actor_and_the_reason(sqlite_cli: Cli) -> None:
    repo = git.Repo(sqlite_cli.root)
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "Eve\x1b[2J")
    assert sqlite_cli("release").exit_code == 0
    assert sqlite_cli("promote", "support", "1.0.0", "--env", "production",
                      "--reason", HOSTILE).exit_code == 0
    result = sqlite_cli("history", "support", "--env", "production", env=WIDE)
    assert result.exit_code == 0, result.output
    assert_no_control_characters(result.stdout)
    assert "Eve\\x1b[2J" in result.stdout and SHOWN in result.stdout
    change = json.loads(sqlite_cli("history", "support", "--env", "production", "--json").stdout)
    assert change[0]["reason"] == HOSTILE and change[0]["actor"].startswith("Eve\x1b[2J")


def test_token_list_escapes_the_token_name(sqlite_cli: Cli) -> None:
    created = sqlite_cli("token", "create", "--role", "admin", "--name", HOSTILE)
    assert created.exit_code == 0
    assert_no_control_characters(created.stdout)
    listed = sqlite_cli("token", "list", env=WIDE)
    assert_no_control_characters(listed.stdout)
    assert SHOWN in listed.stdout
    assert json.loads(sqlite_cli("token", "list", "--json").stdout)[0]["name"] == HOSTILE


def test_an_error_message_quoting_user_data_is_not_read_as_markup(sqlite_cli: Cli) -> None:
    one_line_error(sqlite_cli("show", "[red]x"), 3, "no artifact named '[red]x'")


def test_the_default_token_name_is_the_role_and_the_id(sqlite_cli: Cli) -> None:
    first = json.loads(sqlite_cli("token", "create", "--role", "deployer", "--json").stdout)
    second = sqlite_cli("token", "create", "--role", "reader", "--env", "production")
    assert first["name"] == f"deployer-{first['id']}"
    assert f"created reader token 'reader-production-{first['id'] + 1}' for production" \
        in second.stdout
    assert first["token"][4:10] not in first["name"]


# -- passwords in URLs -------------------------------------------------------------------------

PASSWORD = "Sup3rS3cretPw"


def test_an_unreachable_server_is_named_without_its_password(sqlite_cli: Cli) -> None:
    result = sqlite_cli("status", env={"PROMPTCTL_URL": f"http://ops:{PASSWORD}@127.0.0.1:1",
                                       "PROMPTCTL_TOKEN": "pct_x"})
    one_line_error(result, 5, "cannot reach http://ops:***@127.0.0.1:1")
    assert PASSWORD not in result.output


def test_a_malformed_server_url_is_named_without_its_password(sqlite_cli: Cli) -> None:
    result = sqlite_cli("status", env={"PROMPTCTL_URL": f"htp://ops:{PASSWORD}@127.0.0.1:1"})
    one_line_error(result, 2, "PROMPTCTL_URL 'htp://ops:***@127.0.0.1:1'")
    assert PASSWORD not in result.output


def test_an_unreachable_unleash_is_named_without_its_password(sqlite_cli: Cli) -> None:
    assert sqlite_cli("release").exit_code == 0
    result = sqlite_cli("promote", "support", "1.0.0", "--env", "production", env={
        "PROMPTCTL_FLAGS": "unleash", "PROMPTCTL_UNLEASH_URL": f"http://ops:{PASSWORD}@127.0.0.1:1",
        "PROMPTCTL_UNLEASH_TOKEN": "*:*.x"})
    one_line_error(result, 5, "Unleash at http://ops:***@127.0.0.1:1")
    assert PASSWORD not in result.output


def test_a_database_url_is_named_without_its_password(sqlite_cli: Cli) -> None:
    result = Cli(sqlite_cli.root, f"postgresql+evil://app:{PASSWORD}@127.0.0.1/x")("list")
    one_line_error(result, 2, "invalid database URL 'postgresql+evil://app:***@127.0.0.1/x'")
    assert PASSWORD not in result.output
