"""Who is acting, when no one is named: one rule for rollouts, evals, tokens and releases."""

from __future__ import annotations

import getpass
from pathlib import Path

import git
import pytest

from promptctl.actors import current_actor
from promptctl.gitrepo import GitRepo


@pytest.fixture
def no_global_git_identity(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def test_the_git_identity_of_the_repository_acts(git_repo: git.Repo) -> None:
    root = Path(git_repo.working_tree_dir or "")
    assert current_actor(root) == "Test Author <author@example.com>"
    assert GitRepo.discover(root).author() == current_actor(root)  # releases: the same rule


@pytest.mark.usefixtures("no_global_git_identity")
def test_without_a_git_identity_the_os_login_acts(tmp_path: Path) -> None:
    assert current_actor(tmp_path) == getpass.getuser()
    assert current_actor() == getpass.getuser()


def test_without_git_installed_the_os_login_acts(git_repo: git.Repo,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    assert current_actor(Path(git_repo.working_tree_dir or "")) == getpass.getuser()


def test_without_any_login_someone_is_still_named(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def no_login() -> str:
        raise OSError("no login")

    monkeypatch.setattr(getpass, "getuser", no_login)
    monkeypatch.setenv("PATH", "")
    assert current_actor(tmp_path) == "unknown"
