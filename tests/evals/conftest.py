"""Eval tests run on SQLite only: what they check lies above the store, whose behaviour on
PostgreSQL the store's own tests cover (and the suite's time budget is tight)."""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from tests.conftest import Cli


@pytest.fixture
def cli(example_repo: git.Repo, tmp_path: Path) -> Cli:
    return Cli(Path(example_repo.working_tree_dir), f"sqlite:///{tmp_path / 'registry.db'}")
