"""Dashboard test fixtures, on SQLite only: the pages read through the same service as the
REST API, whose PostgreSQL behaviour the API tests cover.

Releasing three versions costs about a second, so it is done once per module and each test
gets its own copy of the repository and database (``api``): tests stay independent.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_PROMPTS, Cli, commit_all, make_repo
from tests.rollout_fixtures import Api, deploy_support, release_versions


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'registry.db'}"


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A released and deployed repository with its database (see ``deploy_support``)."""
    base = tmp_path_factory.mktemp("deployed")
    repo = make_repo(base / "repo")
    root = Path(repo.working_tree_dir or base)
    shutil.copytree(EXAMPLE_PROMPTS, root / "prompts")
    (root / ".gitignore").write_text(".promptctl/\n")
    commit_all(repo, "example prompts")
    cli = Cli(root, f"sqlite:///{base / 'registry.db'}")
    release_versions(cli, "1.1.0", "1.2.0")
    return base, deploy_support(cli)


@pytest.fixture
def api(deployed: tuple[Path, dict[str, str]], tmp_path: Path) -> Iterator[Api]:
    """The app in-process over a fresh copy of ``deployed``."""
    base, tokens = deployed
    shutil.copytree(base / "repo", tmp_path / "repo")
    for part in base.glob("registry.db*"):  # with its write-ahead log
        shutil.copy(part, tmp_path / part.name)
    with Api(Cli(tmp_path / "repo", f"sqlite:///{tmp_path / 'registry.db'}"), tokens) as app:
        yield app
