"""Releases: immutable, idempotent, tagged, refused from a dirty tree, crash-safe."""

from __future__ import annotations

import json
import re
from pathlib import Path

import git

from promptctl.store import Store
from tests.conftest import Cli, commit_all

SUPPORT = "prompts/support.prompt.yaml"


def tags(repo: git.Repo) -> set[str]:
    return {t.name for t in repo.tags}


def test_release_records_every_artifact_and_creates_annotated_tags(cli: Cli, example_repo):
    result = cli("release", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert len(report["released"]) == 6
    assert tags(example_repo) == {
        "prompt/support/v1.0.0", "prompt/summarize-ticket/v1.1.0", "model/support-chat/v1.0.0",
        "tool/search-kb/v1.0.0", "tool/create-ticket/v1.0.0", "index/kb-docs/v1.0.0"}
    tag = example_repo.tags["prompt/support/v1.0.0"]
    assert tag.tag is not None, "tags must be annotated"
    assert tag.commit.hexsha == example_repo.head.commit.hexsha
    entry = next(r for r in report["released"] if r["key"] == "prompt/support@1.0.0")
    assert f"Content-Hash: {entry['hash']}" in tag.tag.message
    assert tag.tag.tagger.email == "author@example.com"


def test_release_twice_is_a_no_op(cli: Cli, example_repo):
    assert cli("release").exit_code == 0
    again = cli("release", "--json")
    assert again.exit_code == 0
    assert json.loads(again.stdout) | {"commit": None} == {
        "commit": None, "released": [], "unchanged": 6, "dry_run": False}


def test_changed_content_under_a_released_version_is_refused(cli: Cli, example_repo):
    first = json.loads(cli("release", "--json").stdout)
    old_hash = next(r["hash"] for r in first["released"] if r["key"] == "prompt/support@1.0.0")
    root = Path(example_repo.working_tree_dir)
    path = root / SUPPORT
    path.write_text(path.read_text().replace("Answer only", "Answer strictly"))
    commit_all(example_repo, "edit without bump")
    result = cli("release")
    assert result.exit_code == 4
    assert "prompt/support@1.0.0 is already released with content" in result.stderr
    assert "released versions are immutable, bump the version" in result.stderr
    hashes = re.search(r"with content ([0-9a-f]{12}), but .* now has ([0-9a-f]{12})",
                       result.stderr)
    assert hashes and hashes[1] == old_hash[:12] and hashes[2] != hashes[1]


def test_bumped_version_releases_only_the_new_one(cli: Cli, example_repo):
    cli("release")
    root = Path(example_repo.working_tree_dir)
    path = root / SUPPORT
    path.write_text(path.read_text().replace("version: 1.0.0", "version: 1.1.0")
                    .replace("Answer only", "Answer strictly"))
    commit_all(example_repo, "support 1.1.0")
    report = json.loads(cli("release", "--json").stdout)
    assert [r["key"] for r in report["released"]] == ["prompt/support@1.1.0"]
    versions = json.loads(cli("history", "support", "--json").stdout)
    assert [v["version"] for v in versions] == ["1.0.0", "1.1.0"]
    assert versions[1]["author"] == "Test Author <author@example.com>"
    # The old version stays resolvable from its stored snapshot.
    old = json.loads(cli("show", "support@1.0.0", "--json").stdout)
    assert "Answer only" in old["content"]["template"]["system"]


def test_dirty_files_are_not_released_and_nothing_is_written(cli: Cli, example_repo):
    root = Path(example_repo.working_tree_dir)
    (root / SUPPORT).write_text((root / SUPPORT).read_text() + "\n# local edit\n")
    result = cli("release")
    assert result.exit_code == 4
    assert f"{SUPPORT} has uncommitted changes: commit them before releasing" in result.stderr
    assert tags(example_repo) == set()
    assert cli("history", "support-chat").exit_code == 3


def test_untracked_new_file_is_dirty(cli: Cli, example_repo):
    root = Path(example_repo.working_tree_dir)
    text = (root / "prompts/search-kb.tool.yaml").read_text()
    (root / "prompts/search-web.tool.yaml").write_text(text.replace("search-kb", "search-web"))
    result = cli("release")
    assert result.exit_code == 4 and "search-web.tool.yaml has uncommitted" in result.stderr


def test_invalid_content_is_refused_with_exit_2_and_nothing_written(cli: Cli, example_repo):
    root = Path(example_repo.working_tree_dir)
    (root / SUPPORT).write_text((root / SUPPORT).read_text().replace("{{ question }}",
                                                                     "{{ questoin }}"))
    commit_all(example_repo, "typo")
    result = cli("release")
    assert result.exit_code == 2
    assert "template uses variable `questoin` that is not declared" in result.stderr
    assert tags(example_repo) == set()
    assert cli("list", "--json").exit_code == 0
    assert all(not row["released"] for row in json.loads(cli("list", "--json").stdout))


def test_prompt_ref_must_be_released_or_in_the_same_release(cli: Cli, example_repo):
    root = Path(example_repo.working_tree_dir)
    (root / "prompts/support-chat.model.yaml").unlink()
    commit_all(example_repo, "drop model")
    result = cli("release")
    assert result.exit_code == 2
    assert "model support-chat@1.0.0 does not exist" in result.stderr


def test_a_crash_between_rows_and_tags_is_completed_by_a_rerun(cli: Cli, example_repo):
    assert cli("release").exit_code == 0
    # Simulate a crash after the DB commit: the tags were never written.
    for tag in list(example_repo.tags):
        example_repo.delete_tag(tag)
    result = cli("release", "--json")
    assert result.exit_code == 0
    statuses = {r["status"] for r in json.loads(result.stdout)["released"]}
    assert statuses == {"tag-restored"}
    assert len(tags(example_repo)) == 6


def test_existing_tags_are_adopted_by_a_fresh_database(cli: Cli, example_repo, tmp_path):
    assert cli("release").exit_code == 0
    fresh = Cli(cli.root, f"sqlite:///{tmp_path / 'fresh.db'}")
    result = fresh("release", "--json")
    assert result.exit_code == 0
    assert len(json.loads(result.stdout)["released"]) == 6
    assert len(tags(example_repo)) == 6


def test_database_is_created_by_migrations(cli: Cli):
    assert cli("release").exit_code == 0
    store = Store(cli.db)
    assert store.current_revision() == store.head_revision()
