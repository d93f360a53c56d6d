"""The git side of releases: tags in bulk where one bad ref blocks nothing, files read at old
commits, and the author of each file's last change, each in a bounded number of processes."""

from __future__ import annotations

from pathlib import Path

import git

from promptctl.gitrepo import MAX_BATCH_RETRIES, GitRepo, NewTag
from tests.conftest import commit_all


def tag_names(repo: git.Repo) -> set[str]:
    return set(repo.git.tag("-l").split())


def test_refs_git_refuses_are_reported_and_every_other_tag_is_created(git_repo: git.Repo):
    head = commit_all(git_repo, "first")
    git_repo.create_tag("tool/a")  # blocks tool/a/v1
    names = ["ok/v1", "tool/a/v1", "bad..name/v1", "ok/v2", "x/v1", "x/v1/y"]
    refused = GitRepo(git_repo).create_tags(
        [NewTag(n, head, f"Release {n}\n") for n in names], "Tagger <t@example.com>")

    assert set(refused) == {"tool/a/v1", "bad..name/v1", "x/v1"}
    assert "'refs/tags/tool/a' exists" in refused["tool/a/v1"]
    assert "invalid ref format" in refused["bad..name/v1"]
    assert tag_names(git_repo) == {"tool/a", "ok/v1", "ok/v2", "x/v1/y"}
    assert git_repo.tags["ok/v1"].tag.message.strip() == "Release ok/v1"


def test_more_refusals_than_the_batch_retries_still_create_the_good_tags(git_repo: git.Repo):
    head = commit_all(git_repo, "first")
    bad = [f"bad{i}..x" for i in range(MAX_BATCH_RETRIES + 3)]
    good = [f"good/{i}" for i in range(5)]
    refused = GitRepo(git_repo).create_tags(
        [NewTag(n, head, "m\n") for n in [*bad, *good]], "Tagger <t@example.com>")
    assert set(refused) == set(bad)
    assert tag_names(git_repo) == set(good)


def test_tags_a_concurrent_process_created_are_reported_as_existing(git_repo: git.Repo):
    head = commit_all(git_repo, "first")
    git_repo.create_tag("p/v1", message="theirs")
    refused = GitRepo(git_repo).create_tags(
        [NewTag("p/v1", head, "ours\n"), NewTag("p/v2", head, "ours\n")], "T <t@x>")
    assert refused == {"p/v1": "the tag already exists"}
    assert tag_names(git_repo) == {"p/v1", "p/v2"}


def test_read_files_reads_each_commit_and_path_and_marks_missing_ones(git_repo: git.Repo):
    root = Path(git_repo.working_tree_dir)
    (root / "a.txt").write_text("one\n")
    first = commit_all(git_repo, "a")
    (root / "a.txt").write_text("two\n")
    second = commit_all(git_repo, "a again")
    files = GitRepo(git_repo).read_files([(first, "a.txt"), (second, "a.txt"),
                                          (first, "nope.txt"), (first, ".")])
    assert files == {(first, "a.txt"): b"one\n", (second, "a.txt"): b"two\n",
                     (first, "nope.txt"): None, (first, "."): None}


def test_last_authors_names_who_last_changed_each_file_as_of_a_commit(git_repo: git.Repo):
    root = Path(git_repo.working_tree_dir)
    (root / "p").mkdir()
    for name in ("a", "b"):
        (root / "p" / name).write_text("1\n")
    git_repo.git.add("-A")
    git_repo.git.commit("-m", "both", author="Ann <ann@x>")
    (root / "p/b").write_text("2\n")
    git_repo.git.add("-A")
    git_repo.git.commit("-m", "b", author="Ben <ben@x>")
    middle = git_repo.head.commit.hexsha
    (root / "p/a").write_text("3\n")
    git_repo.git.add("-A")
    git_repo.git.commit("-m", "a", author="Cat <cat@x>")
    repo = GitRepo(git_repo)

    assert repo.last_authors("HEAD", {"p/a", "p/b"}) == {"p/a": "Cat <cat@x>",
                                                         "p/b": "Ben <ben@x>"}
    assert repo.last_authors(middle, {"p/a", "p/b"}) == {"p/a": "Ann <ann@x>",
                                                         "p/b": "Ben <ben@x>"}
    assert repo.last_authors("HEAD", {"p/never"}) == {}
