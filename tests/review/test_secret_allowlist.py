"""A reviewed allowlist outside the prompt text, keyed by the finding's short hash,
turns a known false positive into a note; any other secret still fails."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import git
import pytest
import yaml

from promptctl.review.secrets import redacted, secret_hash
from tests.conftest import EXAMPLE_PROMPTS, Cli, commit_all

# The example token of RFC 7519 / jwt.io, quoted in a real prompt's documentation.
EXAMPLE_JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6Ikpva"
               "G4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
GITHUB = "ghp_R4nd0mT0k3nV4lu3F0rT3st1ngXyZ1234567"
DOCS = "prompts/jwt-docs.prompt.yaml"


def _docs_prompt(name: str, example: str) -> str:
    return yaml.safe_dump({
        "kind": "prompt", "name": name, "version": "1.0.0",
        "description": "Explains how our API authenticates", "model": "support-chat@1.0.0",
        "template": {"system": "You explain JSON Web Tokens to developers. A token looks like "
                               f"{example} and has three parts separated by dots."}},
        sort_keys=False)


@pytest.fixture
def docs_repo(git_repo: git.Repo, tmp_path: Path) -> Cli:
    """The example registry (base commit) plus a committed prompt quoting the example JWT."""
    root = Path(git_repo.working_tree_dir)
    shutil.copytree(EXAMPLE_PROMPTS, root / "prompts")
    (root / ".gitignore").write_text(".promptctl/\n")
    commit_all(git_repo, "example prompts")
    (root / DOCS).write_text(_docs_prompt("jwt-docs", EXAMPLE_JWT))
    commit_all(git_repo, "a prompt that explains JWTs")
    return Cli(root, f"sqlite:///{tmp_path / 'registry.db'}")


def _allow(cli: Cli, *lines: str) -> None:
    (cli.root / ".promptctl-secrets.allow").write_text(
        "# Reviewed false positives of the secret scanner\n" + "\n".join(lines) + "\n")


def _findings(cli: Cli) -> tuple[int, list[dict[str, str]]]:
    result = cli("lint", "--json")
    return result.exit_code, json.loads(result.stdout)["findings"]


def test_an_allowlisted_hash_turns_the_example_jwt_into_a_note(docs_repo: Cli):
    code, findings = _findings(docs_repo)
    [secret] = [f for f in findings if f["code"] == "secret"]
    assert code == 1 and secret["severity"] == "error"
    assert secret_hash(EXAMPLE_JWT) in secret["message"]  # what to put in the allowlist
    assert docs_repo("diff", "--check", "HEAD~1", "HEAD").exit_code == 1

    _allow(docs_repo, f"{secret_hash(EXAMPLE_JWT)}  # RFC 7519 example token, not a credential")
    code, findings = _findings(docs_repo)
    assert code == 0
    [note] = [f for f in findings if f["path"] == DOCS]
    assert note["severity"] == "note" and note["code"] == "secret-allowed"
    assert "RFC 7519 example token" in note["message"]
    assert docs_repo("lint", "--strict").exit_code == 0  # a note is not a warning
    commit_all(git.Repo(docs_repo.root), "allow the example JWT")
    check = docs_repo("diff", "--check", "HEAD~2", "HEAD")
    assert check.exit_code == 0, check.stdout
    assert "allowlisted" in check.stdout and EXAMPLE_JWT not in check.stdout
    assert redacted(EXAMPLE_JWT) in check.stdout


def test_a_different_secret_still_fails_lint_and_the_check(docs_repo: Cli):
    _allow(docs_repo, f"{secret_hash(EXAMPLE_JWT)}  # RFC 7519 example token")
    (docs_repo.root / "prompts" / "gh.prompt.yaml").write_text(_docs_prompt("gh", GITHUB))
    code, findings = _findings(docs_repo)
    assert code == 1
    assert [f["path"] for f in findings if f["severity"] == "error"] == ["prompts/gh.prompt.yaml"]
    result = docs_repo("diff", "--check", "HEAD~1")  # the working tree, with its allowlist
    assert result.exit_code == 1
    assert "gh.prompt.yaml" in result.stdout and GITHUB not in result.stdout


def test_an_entry_with_a_path_allows_the_secret_in_that_file_only(docs_repo: Cli):
    (docs_repo.root / "prompts" / "copy.prompt.yaml").write_text(
        _docs_prompt("copy", EXAMPLE_JWT))
    _allow(docs_repo, f"{secret_hash(EXAMPLE_JWT)}  {DOCS}  # documented example")
    code, findings = _findings(docs_repo)
    assert code == 1
    assert {(f["path"], f["severity"]) for f in findings if "secret" in f["code"]} == {
        (DOCS, "note"), ("prompts/copy.prompt.yaml", "error")}


def test_diff_check_reads_the_allowlist_of_the_head_revision(docs_repo: Cli):
    _allow(docs_repo, f"{secret_hash(EXAMPLE_JWT)}  # RFC 7519 example token")  # uncommitted
    assert docs_repo("diff", "--check", "HEAD~1", "HEAD").exit_code == 1
    assert docs_repo("diff", "--check", "HEAD~1").exit_code == 0


@pytest.mark.parametrize(("line", "says"), [
    (f"{secret_hash(EXAMPLE_JWT)}", "needs a reason after `#`"),
    (f"{secret_hash(EXAMPLE_JWT)}   #   ", "needs a reason after `#`"),
    ("sha256:xyz  # too short", "expected `sha256:<12 hex digits>`, an optional path"),
    (f"{EXAMPLE_JWT}  # pasted the token itself", "holds a secret itself"),
    (f"{secret_hash(EXAMPLE_JWT)} a b  # two paths", "expected `sha256:"),
])
def test_a_malformed_allowlist_is_a_one_line_error_naming_the_line(docs_repo: Cli, line, says):
    _allow(docs_repo, line)
    for result in (docs_repo("lint"), docs_repo("diff", "--check", "HEAD~1")):
        assert result.exit_code == 2
        message = result.stderr.strip()
        assert message.startswith("error: .promptctl-secrets.allow line 2")
        assert says in message and len(message.splitlines()) == 1
        assert EXAMPLE_JWT not in result.stdout + result.stderr
