"""Eval tests use the full example registry (the golden suite included) and run on SQLite
only: what they check lies above the store, whose behaviour on PostgreSQL the store's own
tests cover (and the suite's time budget is tight)."""

from __future__ import annotations

import shutil
from pathlib import Path

import git
import pytest

from tests.conftest import EXAMPLE_REGISTRY, Cli, commit_all


@pytest.fixture
def example_repo(git_repo: git.Repo) -> git.Repo:
    """The example registry in full: with its golden suite, dataset and stand-in provider."""
    root = Path(git_repo.working_tree_dir or "")
    shutil.copytree(EXAMPLE_REGISTRY, root / "prompts",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (root / ".gitignore").write_text(".promptctl/\n")
    commit_all(git_repo, "example prompts")
    return git_repo


@pytest.fixture
def cli(example_repo: git.Repo, tmp_path: Path) -> Cli:
    return Cli(Path(example_repo.working_tree_dir or ""),
               f"sqlite:///{tmp_path / 'registry.db'}")
