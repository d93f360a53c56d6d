"""Fixtures shared by the guarded-rollout tests: one released repository per module.

Releasing the example registry costs a second or two; the tests of a module that only
read, or that change disjoint things (their own instance ids, their own prompts), share
one (SQLite) so the suite stays quick."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_PROMPTS, Cli, commit_all, make_repo
from tests.rollout_fixtures import Api, deploy_support, release_versions


def released_repo(root: Path, toml: str = "", db: str | None = None) -> Cli:
    """A repository at ``root`` with the example prompts, support 1.0.0-1.2.0 released."""
    repo = make_repo(root)
    shutil.copytree(EXAMPLE_PROMPTS, root / "prompts")
    (root / ".gitignore").write_text(".promptctl/\n")
    if toml:
        (root / "promptctl.toml").write_text(toml)
    commit_all(repo, "example prompts")
    cli = Cli(root, db or f"sqlite:///{root / 'registry.db'}")
    release_versions(cli, "1.1.0", "1.2.0")
    return cli


@pytest.fixture(scope="module")
def shared_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The app in-process over one released repository for the whole module, deployed as
    :func:`tests.rollout_fixtures.deploy_support` says."""
    cli = released_repo(tmp_path_factory.mktemp("guards") / "repo")
    with Api(cli, deploy_support(cli)) as app:
        yield app
