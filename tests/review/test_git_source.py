"""Loading the registry from git objects: revisions, default base, errors."""

from __future__ import annotations

import pytest

from registry.errors import NotFoundError, UsageError
from registry.review.git_source import default_base, load_revision, resolve_revision
from tests.review.history import History


def test_load_revision_reads_the_registry_as_committed(git_repo):
    history = History(git_repo)
    first = history.commit("one")
    history["chat.model.yaml"]["version"] = "1.1.0"
    history.commit("two")
    loaded = load_revision(history.root, resolve_revision(history.root, first), "prompts")
    versions = {i.artifact.key.name: i.artifact.version for i in loaded.artifacts}
    assert versions == {"chat": "1.0.0", "search-kb": "2.0.1", "kb-docs": "3.1.0",
                        "support": "1.0.0"}
    assert loaded.findings == []


def test_unknown_revision_is_not_found(git_repo):
    History(git_repo).commit()
    with pytest.raises(NotFoundError, match="unknown git revision 'no-such-branch'"):
        resolve_revision(git_repo.working_tree_dir, "no-such-branch")
    with pytest.raises(UsageError):
        resolve_revision(git_repo.working_tree_dir, "--output=x")


def test_default_base_is_the_merge_base_of_main_and_head(git_repo):
    history = History(git_repo)
    fork = history.commit("on main")
    git_repo.git.checkout("-b", "feature")
    history["chat.model.yaml"]["version"] = "1.0.1"
    history.commit("on feature")
    git_repo.git.checkout("main")
    history.files = {k: v for k, v in history.files.items()}
    (history.root / "README").write_text("main moves on\n")
    history.repo.git.add("README")
    history.repo.git.commit("-m", "main moves on")
    git_repo.git.checkout("feature")
    base = default_base(history.root)
    assert base.commit == fork
    assert base.label == "merge-base(main, HEAD)"
