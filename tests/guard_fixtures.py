"""Fixtures shared by the guarded-rollout tests: one released repository per module.

Releasing the example registry costs a second or two; the tests of a module that only
read, or that change disjoint things (their own instance ids, their own prompts), share
one (SQLite) so the suite stays quick."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_PROMPTS, Cli, commit_all, make_repo
from tests.rollout_fixtures import Api, deploy_support, release_versions

_TEMPLATE: list[Path] = []  # one released SQLite repository per test session, copied


def released_repo(root: Path, toml: str = "", db: str | None = None) -> Cli:
    """A repository at ``root`` with the example prompts, support 1.0.0-1.2.0 released, and
    ``toml`` as its promptctl.toml. On SQLite it is a copy of one released once per session
    (releasing costs seconds, copying milliseconds); ``db`` releases into that database."""
    if db is not None:
        return _release_into(root, toml, db)
    if not _TEMPLATE:
        template = Path(tempfile.mkdtemp(prefix="promptctl-guards-")) / "repo"
        _release_into(template, "", f"sqlite:///{template / 'registry.db'}")
        _TEMPLATE.append(template)
        atexit.register(shutil.rmtree, template.parent, True)
    shutil.copytree(_TEMPLATE[0], root, symlinks=True)
    if toml:
        (root / "promptctl.toml").write_text(toml)
    return Cli(root, f"sqlite:///{root / 'registry.db'}")


def _release_into(root: Path, toml: str, db: str) -> Cli:
    repo = make_repo(root)
    shutil.copytree(EXAMPLE_PROMPTS, root / "prompts")
    (root / ".gitignore").write_text(".promptctl/\nregistry.db*\n")
    if toml:
        (root / "promptctl.toml").write_text(toml)
    commit_all(repo, "example prompts")
    cli = Cli(root, db)
    release_versions(cli, "1.1.0", "1.2.0")
    return cli


@pytest.fixture(scope="module")
def shared_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The app in-process over one released repository for the whole module, deployed as
    :func:`tests.rollout_fixtures.deploy_support` says."""
    cli = released_repo(tmp_path_factory.mktemp("guards") / "repo")
    with Api(cli, deploy_support(cli)) as app:
        yield app
