"""What a new user meets first: ``init`` keeps secrets out of git, ``init`` and ``new`` say
what they did (also as JSON), and the help text is plain and complete."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from promptctl.scaffold import GITIGNORE_ENTRIES
from tests.conftest import REPO_ROOT, Cli
from tests.rollout_fixtures import PROMPTCTL


def fresh_cli(tmp_path: Path) -> Cli:
    root = tmp_path / "fresh"
    root.mkdir()
    return Cli(root, f"sqlite:///{tmp_path / 'db.sqlite'}")


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True,
                          text=True).stdout


# -- item 11: no documented flow commits a token ------------------------------------------------


def test_a_token_file_written_into_an_initialised_repository_is_never_committed(tmp_path: Path
                                                                               ) -> None:
    cli = fresh_cli(tmp_path)
    assert cli("init").exit_code == 0
    token = '{"token": "pct_live-secret"}\n'
    for name in ("reader.json", "deployer.json", "admin.json", "ci.token", "app.token.json",
                 "staging-token.json"):
        (cli.root / name).write_text(token)
    git(cli.root, "add", "-A")
    staged = git(cli.root, "diff", "--cached", "--name-only").split()
    assert staged and not any("token" in name or name.endswith(".json") for name in staged), \
        staged
    assert "pct_live-secret" not in git(cli.root, "diff", "--cached")


def test_init_adds_each_missing_gitignore_entry_once_after_what_is_there(tmp_path: Path
                                                                        ) -> None:
    cli = fresh_cli(tmp_path)
    (cli.root / ".gitignore").write_text("node_modules/\n.promptctl/\n")
    assert cli("init").exit_code == 0
    assert cli("init").exit_code == 0  # twice: nothing is added again
    lines = (cli.root / ".gitignore").read_text().splitlines()
    assert lines[:2] == ["node_modules/", ".promptctl/"]
    assert sorted(lines) == sorted({"node_modules/", *GITIGNORE_ENTRIES})
    assert len(lines) == len(set(lines))


# -- item 12: --json on every command but serve --------------------------------------------------


def leaf_commands() -> dict[str, object]:
    """Every runnable command of the real CLI by its name (``"token list"``)."""
    import typer.main

    from promptctl.cli.app import app

    found: dict[str, object] = {}

    def walk(command: Any, prefix: str) -> None:
        if not hasattr(command, "list_commands"):
            found[prefix] = command
            return
        for name in command.list_commands(None):  # the top level loads each on demand
            walk(command.get_command(None, name), f"{prefix} {name}".strip())

    walk(typer.main.get_command(app), "")
    return found


def test_every_command_but_serve_takes_json_as_the_readme_says() -> None:
    """``diff`` has ``--format json`` instead (text, markdown or JSON)."""
    without = sorted(name for name, command in leaf_commands().items()
                     if not any("--json" in p.opts  # type: ignore[attr-defined]
                                for p in command.params))  # type: ignore[attr-defined]
    assert without == ["diff", "serve"]
    readme = (REPO_ROOT / "README.md").read_text()
    assert "Every command except `serve`" in readme and "`diff`: `--format json`" in readme


def test_init_and_new_say_what_they_did_as_json(tmp_path: Path) -> None:
    cli = fresh_cli(tmp_path)
    first = json.loads(cli("init", "--json").stdout)
    assert first["git_initialised"] is True and Path(first["root"]) == cli.root.resolve()
    assert "prompts/assistant.prompt.yaml" in first["created"]
    assert ".gitignore" in first["created"]
    again = json.loads(cli("init", "--json").stdout)
    assert again == {"root": first["root"], "git_initialised": False, "created": []}
    made = json.loads(cli("new", "prompt", "triage", "--json").stdout)
    assert made == {"kind": "prompt", "name": "triage", "path": "prompts/triage.prompt.yaml",
                    "model": "chat@1.0.0"}
    refused = cli("new", "prompt", "triage", "--json")
    assert refused.exit_code == 4
    assert json.loads(refused.stdout)["error"] == "conflict"


def test_db_commands_report_the_revision_as_json(cli: Cli) -> None:
    empty = json.loads(cli("db", "current", "--json").stdout)
    assert empty["revision"] is None and empty["state"] == "upgrade available"
    upgraded = json.loads(cli("db", "upgrade", "--json").stdout)
    assert upgraded == {"revision": empty["head"]}
    assert json.loads(cli("db", "current", "--json").stdout) == {
        "revision": empty["head"], "head": empty["head"], "state": "up to date"}
    assert json.loads(cli("db", "downgrade", "base", "--json").stdout) == {"revision": None}
    bad = cli("db", "downgrade", "nosuch", "--json")
    assert bad.exit_code != 0 and "error" in json.loads(bad.stdout)


# -- item 16: help text --------------------------------------------------------------------------


def help_of(*command: str) -> str:
    from typer.testing import CliRunner

    from promptctl.cli.app import app

    result = CliRunner().invoke(app, [*command, "--help"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_no_help_shows_a_python_type_markup_or_a_literal_backtick() -> None:
    for name in ["", *leaf_commands()]:
        text = help_of(*name.split())
        assert "<bool>" not in text and "list[" not in text, (name, text)
        assert "`" not in text, (name, text)


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    result = subprocess.run([str(PROMPTCTL), "--version"], capture_output=True, text=True,
                            check=False)
    assert (result.returncode, result.stdout) == (0, f"promptctl {version('promptctl')}\n")
    assert result.stdout == "promptctl 0.1.0\n"


def test_brackets_in_help_are_printed_as_written() -> None:
    result = subprocess.run([str(PROMPTCTL), "show", "--help"], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert "NAME[@VERSION]" in result.stdout.splitlines()[0]
    assert "Also KIND/NAME[@VERSION]." in result.stdout
    assert "base removes every table" in help_of("db", "downgrade")


@pytest.mark.parametrize(("command", "option", "choices"), [
    (("list",), "--kind", "prompt|model|tool|index"),
    (("show",), "--kind", "prompt|model|tool|index"),
    (("history",), "--kind", "prompt|model|tool|index"),
    (("serve",), "--log-level", "critical|error|warning|info|debug|trace"),
])
def test_kind_and_log_level_list_their_choices_with_help(command: tuple[str, ...], option: str,
                                                         choices: str) -> None:
    text = help_of(*command)
    line = next(x for x in text.splitlines() if option in x)
    assert choices in line
    after = text[text.index(line) + len(line):].split("\n  -")[0]
    assert re.search(r"[A-Z][a-z]+ ", after), f"{option} has no help text:\n{text}"


def test_a_value_outside_the_choices_is_one_error_line_and_exit_2(tmp_path: Path) -> None:
    result = subprocess.run([str(PROMPTCTL), "--repo", str(tmp_path), "list", "--kind", "widget"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and "'widget' is not one of" in line
    assert "prompt" in line and "promptctl list --help" in line


def test_promoting_a_model_says_only_prompts_are_promoted(cli: Cli) -> None:
    assert cli("release").exit_code == 0
    result = cli("promote", "support-chat", "1.0.0", "--env", "production")
    assert result.exit_code == 3
    assert "support-chat is a model; only prompts are promoted" in result.stderr
    assert cli("status", "--json").stdout.strip() == "[]"
