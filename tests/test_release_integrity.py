"""Release integrity: a refused tag leaves no row and blocks nothing, release refuses what lint
refuses, a pre-existing tag is adopted only when its commit holds the same content, a bare
repository is refused, and every row says who wrote the version apart from who released it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import git
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from tests.conftest import EXAMPLE_PROMPTS, Cli, commit_all, make_repo

ALL_TAGS = {
    "prompt/support/v1.0.0", "prompt/summarize-ticket/v1.1.0", "model/support-chat/v1.0.0",
    "tool/search-kb/v1.0.0", "tool/create-ticket/v1.0.0", "index/kb-docs/v1.0.0"}
GITHUB_TOKEN = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def tags(repo: git.Repo) -> set[str]:
    return set(repo.git.tag("-l").split())  # git's view (GitPython lists lock files too)


def release_rows(db: str) -> set[str]:
    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT kind, name, version FROM releases")).all()
    finally:
        engine.dispose()
    return {f"{kind}/{name}@{version}" for kind, name, version in rows}


def one_line_error(result) -> str:  # type: ignore[no-untyped-def]
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def root_of(repo: git.Repo) -> Path:
    return Path(repo.working_tree_dir)


# -- 1. a tag git refuses ---------------------------------------------------------------------


def test_a_tag_blocked_by_an_existing_ref_leaves_no_row_and_the_other_tags_are_created(
        cli: Cli, example_repo: git.Repo) -> None:
    example_repo.create_tag("tool/create-ticket")  # a ref file where the tag's folder must go

    result = cli("release")

    assert result.exit_code == 4
    line = one_line_error(result)
    assert "could not create tag tool/create-ticket/v1.0.0 for tool/create-ticket@1.0.0" in line
    assert "'refs/tags/tool/create-ticket' exists" in line
    assert "nothing was recorded for it" in line
    # support pins create-ticket, so it is not released either; the rest is, row and tag.
    assert release_rows(cli.db) == {"model/support-chat@1.0.0", "tool/search-kb@1.0.0",
                                    "index/kb-docs@1.0.0", "prompt/summarize-ticket@1.1.0"}
    assert tags(example_repo) == ALL_TAGS - {"tool/create-ticket/v1.0.0",
                                             "prompt/support/v1.0.0"} | {"tool/create-ticket"}
    assert cli("history", "create-ticket").exit_code == 3


def test_a_stale_lock_file_blocks_only_its_own_tag_and_a_rerun_completes_the_release(
        cli: Cli, example_repo: git.Repo) -> None:
    lock = Path(example_repo.git_dir) / "refs/tags/model/support-chat/v1.0.0.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text("")

    result = cli("release")

    assert result.exit_code == 4
    line = one_line_error(result)
    assert "could not create tag model/support-chat/v1.0.0 for model/support-chat@1.0.0" in line
    assert "v1.0.0.lock" in line and "3 other artifact(s) released" in line
    # Both prompts pin the model: refused with it. Tools and index are released.
    assert release_rows(cli.db) == {"tool/search-kb@1.0.0", "tool/create-ticket@1.0.0",
                                    "index/kb-docs@1.0.0"}
    assert tags(example_repo) == {"tool/search-kb/v1.0.0", "tool/create-ticket/v1.0.0",
                                  "index/kb-docs/v1.0.0"}

    lock.unlink()
    rerun = cli("release", "--json")
    assert rerun.exit_code == 0, rerun.output
    assert len(json.loads(rerun.stdout)["released"]) == 3
    assert tags(example_repo) == ALL_TAGS
    assert len(release_rows(cli.db)) == 6


# -- 2. release refuses what lint refuses ------------------------------------------------------


def test_release_refuses_a_model_that_lint_fails_and_writes_nothing(
        cli: Cli, example_repo: git.Repo) -> None:
    path = root_of(example_repo) / "prompts/support-chat.model.yaml"
    path.write_text(path.read_text().replace("temperature: 0.2", "temperature: 9")
                    .replace('stop: ["\\nCustomer:"]', f'stop: ["{GITHUB_TOKEN}"]'))
    commit_all(example_repo, "hot model")

    lint = cli("lint", "--json")
    assert lint.exit_code == 1
    codes = {f["code"] for f in json.loads(lint.stdout)["findings"] if f["severity"] == "error"}
    assert "param-range" in codes and len(codes) >= 2

    result = cli("release")

    assert result.exit_code == 2
    line = one_line_error(result)
    assert "cannot release:" in line and "lint error(s)" in line
    assert "run `promptctl lint`" in line
    assert tags(example_repo) == set()
    assert release_rows(cli.db) == set()


def test_release_and_lint_agree_on_a_clean_tree(cli: Cli) -> None:
    assert cli("lint").exit_code == 0
    assert cli("release").exit_code == 0


def test_release_refuses_a_secret_without_repeating_it_and_releases_it_once_allowlisted(
        cli: Cli, example_repo: git.Repo) -> None:
    from promptctl.review.secrets import secret_hash

    path = root_of(example_repo) / "prompts/support.prompt.yaml"
    path.write_text(path.read_text().replace("Answer only", f"Token {GITHUB_TOKEN}. Answer only"))
    commit_all(example_repo, "a token in the text")

    refused = cli("release")
    assert refused.exit_code == 2
    assert GITHUB_TOKEN not in refused.output and "secret" in one_line_error(refused)
    assert release_rows(cli.db) == set() and tags(example_repo) == set()

    (cli.root / ".promptctl-secrets.allow").write_text(
        f"{secret_hash(GITHUB_TOKEN)}  # a revoked token quoted on purpose\n")
    commit_all(example_repo, "allow it")
    assert cli("lint").exit_code == 0
    assert cli("release").exit_code == 0
    assert len(release_rows(cli.db)) == 6


# -- 3. adopting pre-existing tags ------------------------------------------------------------


NEWT = """kind: tool
name: newt
version: 1.0.0
description: a new tool
parameters: {type: object, properties: {q: {type: string}}, required: [q]}
"""


@pytest.mark.parametrize("annotated", [True, False])
def test_a_tag_at_a_commit_without_the_file_is_not_adopted(
        cli: Cli, example_repo: git.Repo, annotated: bool) -> None:
    old = example_repo.head.commit.hexsha
    (root_of(example_repo) / "prompts/newt.tool.yaml").write_text(NEWT)
    commit_all(example_repo, "newt")
    ours = json.loads(cli("show", "newt", "--json").stdout)["content_hash"]
    # A stale tag at the old commit; annotated with the right hash, so only the commit tells.
    message = f"Release tool/newt@1.0.0\n\nContent-Hash: {ours}\nPath: prompts/newt.tool.yaml\n"
    example_repo.create_tag("tool/newt/v1.0.0", ref=old, message=message if annotated else None)

    result = cli("release")

    assert result.exit_code == 4
    line = one_line_error(result)
    assert f"tag tool/newt/v1.0.0 points at commit {old[:12]}" in line
    assert "no such artifact" in line and ours[:12] in line
    assert "refusing to adopt it" in line
    assert release_rows(cli.db) == set()
    assert tags(example_repo) == {"tool/newt/v1.0.0"}


def test_a_tag_at_a_commit_with_other_content_is_not_adopted_and_both_hashes_are_named(
        cli: Cli, example_repo: git.Repo) -> None:
    path = root_of(example_repo) / "prompts/newt.tool.yaml"
    path.write_text(NEWT)
    old = commit_all(example_repo, "newt")
    theirs = json.loads(cli("show", "newt", "--json").stdout)["content_hash"]
    example_repo.create_tag("tool/newt/v1.0.0", ref=old)  # lightweight: records no hash
    path.write_text(NEWT.replace("a new tool", "a changed tool"))
    commit_all(example_repo, "newt changed without a bump")
    ours = json.loads(cli("show", "newt", "--json").stdout)["content_hash"]

    result = cli("release")

    assert result.exit_code == 4
    line = one_line_error(result)
    assert f"tag tool/newt/v1.0.0 points at commit {old[:12]}" in line
    assert f"holds content {theirs[:12]}, not {ours[:12]}" in line
    assert release_rows(cli.db) == set()
    assert tags(example_repo) == {"tool/newt/v1.0.0"}


def test_a_fresh_database_adopts_existing_tags_with_their_commit_and_author(
        example_repo: git.Repo, db_url: str, tmp_path: Path) -> None:
    first = Cli(root_of(example_repo), f"sqlite:///{tmp_path / 'first.db'}")
    assert first("release").exit_code == 0
    released_at = example_repo.head.commit.hexsha
    (root_of(example_repo) / "NOTES.md").write_text("later work\n")
    commit_all(example_repo, "unrelated later commit")

    fresh = Cli(root_of(example_repo), db_url)  # an existing clone, a new database
    result = fresh("release", "--json")

    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["released"]) == 6
    assert len(release_rows(db_url)) == 6
    assert tags(example_repo) == ALL_TAGS
    history = json.loads(fresh("history", "support", "--json").stdout)
    assert history[0]["commit"] == released_at  # the tag's commit, not HEAD
    assert history[0]["author"] == "Test Author <author@example.com>"
    assert fresh("release", "--json").exit_code == 0


# -- 13. a bare repository ---------------------------------------------------------------------


def test_release_in_a_bare_repository_says_a_working_tree_is_needed(
        example_repo: git.Repo, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", example_repo.working_tree_dir, str(bare)],
                   check=True)
    db = tmp_path / "bare.db"

    result = Cli(bare, f"sqlite:///{db}")("release")

    assert result.exit_code == 2
    line = one_line_error(result)
    assert "is a bare repository: release needs a working tree" in line
    assert not db.exists()
    assert git.Repo(bare).tags == []


# -- issue 11 item 9: who wrote it, who released it --------------------------------------------


def test_history_and_show_name_the_commit_author_and_the_releaser_apart(
        cli: Cli, example_repo: git.Repo) -> None:
    assert cli("release").exit_code == 0
    root = root_of(example_repo)
    path = root / "prompts/support.prompt.yaml"
    path.write_text(path.read_text().replace("version: 1.0.0", "version: 1.1.0")
                    .replace("Answer only", "Answer strictly"))
    example_repo.git.add("-A")
    example_repo.git.commit("-m", "support 1.1.0", author="Alice Writer <alice@example.com>")
    (root / "NOTES.md").write_text("a later commit by someone else\n")
    example_repo.git.add("-A")
    example_repo.git.commit("-m", "notes", author="Bob Other <bob@example.com>")
    with example_repo.config_writer() as cfg:  # the person running release
        cfg.set_value("user", "name", "Rita Releaser")
        cfg.set_value("user", "email", "rita@example.com")

    assert cli("release").exit_code == 0

    rows = {r["version"]: r for r in json.loads(cli("history", "support", "--json").stdout)}
    assert rows["1.1.0"]["author"] == "Alice Writer <alice@example.com>"
    assert rows["1.1.0"]["released_by"] == "Rita Releaser <rita@example.com>"
    assert rows["1.0.0"]["author"] == "Test Author <author@example.com>"
    human = cli("history", "support", env={"COLUMNS": "200"}).stdout
    assert "released by" in human and "Alice Writer" in human and "Rita Releaser" in human

    shown = json.loads(cli("show", "support@1.1.0", "--json").stdout)["release"]
    assert shown["author"] == "Alice Writer <alice@example.com>"
    assert shown["released_by"] == "Rita Releaser <rita@example.com>"
    text_out = cli("show", "support@1.1.0").stdout
    assert "by Rita Releaser" in text_out and "author:       Alice Writer" in text_out


# -- property: whatever git refuses, rows and tags agree and a later release completes ---------

FUZZ_EXAMPLES = int(os.environ.get("PROMPTCTL_FUZZ_EXAMPLES", "8"))
BLOCKERS = st.sampled_from(["lock", "ref"])


def _block(repo: git.Repo, tag: str, how: str) -> None:
    if how == "ref":
        repo.create_tag(tag.rsplit("/", 1)[0])
    else:
        lock = Path(repo.git_dir) / "refs/tags" / f"{tag}.lock"
        lock.parent.mkdir(parents=True, exist_ok=True)
        lock.write_text("")


def _unblock(repo: git.Repo, tag: str, how: str) -> None:
    if how == "ref":
        repo.delete_tag(tag.rsplit("/", 1)[0])
    else:
        (Path(repo.git_dir) / "refs/tags" / f"{tag}.lock").unlink()


@settings(max_examples=FUZZ_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blocked=st.dictionaries(st.sampled_from(sorted(ALL_TAGS)), BLOCKERS, max_size=4))
def test_rows_and_tags_always_agree_whatever_tags_git_refuses(
        tmp_path_factory: pytest.TempPathFactory, blocked: dict[str, str]) -> None:
    root = tmp_path_factory.mktemp("fuzz") / "repo"
    repo = make_repo(root)
    shutil.copytree(EXAMPLE_PROMPTS, root / "prompts")
    (root / ".gitignore").write_text(".promptctl/\n")
    commit_all(repo, "example prompts")
    cli = Cli(root, f"sqlite:///{root.parent / 'fuzz.db'}")
    for tag, how in blocked.items():
        _block(repo, tag, how)

    result = cli("release")

    assert result.exit_code == (4 if blocked else 0), result.output
    if blocked:
        assert "could not create tag" in one_line_error(result)
    released = {f"{k.split('@')[0]}/v{k.split('@')[1]}" for k in release_rows(cli.db)}
    assert released == tags(repo) & ALL_TAGS  # every row has its tag and every tag its row
    assert not released & blocked.keys()

    for tag, how in blocked.items():
        _unblock(repo, tag, how)
    assert cli("release").exit_code == 0
    assert len(release_rows(cli.db)) == 6 and tags(repo) & ALL_TAGS == ALL_TAGS
