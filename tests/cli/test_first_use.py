"""What a new user meets first: ``init`` keeps secrets out of git, ``init`` and ``new`` say
what they did (also as JSON), and the help text is plain and complete."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from promptctl.scaffold import GITIGNORE_ENTRIES
from tests.conftest import Cli


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
