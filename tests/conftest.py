"""Shared fixtures: real git repositories in temp dirs, real migrated databases, the CLI.

Databases: ``db_url`` is parametrised over SQLite (always) and PostgreSQL (when
``PROMPTCTL_TEST_PG`` names a server URL; `.ci/run` starts one). Locally a
missing PostgreSQL skips those cases; in CI (``CI=true``) it fails them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import git
import pytest
from typer.testing import CliRunner

from promptctl.cli.app import app

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_REGISTRY = REPO_ROOT / "prompts"
"""The shipped example registry in full, its eval suite included (``tests/evals`` use it)."""
EVAL_EXAMPLE_FILES = ("*.eval.yaml", "*.cases.jsonl", "standin_model.py", "__pycache__")


def _four_kinds_copy() -> Path:
    """The example registry without its eval suite, copied once per test process: the tests
    outside ``tests/evals`` were written against the four kinds (counts of artifacts, tags
    and release order), and an eval suite released beside them changes none of what they
    check."""
    import atexit
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="promptctl-examples-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    shutil.copytree(EXAMPLE_REGISTRY, folder / "prompts",
                    ignore=shutil.ignore_patterns(*EVAL_EXAMPLE_FILES))
    return folder / "prompts"


EXAMPLE_PROMPTS = _four_kinds_copy()
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Fixtures for rollout, API and SDK tests (released versions, a real uvicorn server).
pytest_plugins = ["tests.rollout_fixtures"]


def require_service(available: bool, what: str) -> None:
    """Skip locally when ``what`` is not running; fail in CI, where it must be."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available")
    pytest.skip(f"{what} not available")


# -- git ----------------------------------------------------------------------------------------


def make_repo(path: Path) -> git.Repo:
    repo = git.Repo.init(path, initial_branch="main")
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "Test Author")
        cfg.set_value("user", "email", "author@example.com")
        cfg.set_value("commit", "gpgsign", "false")
        cfg.set_value("tag", "gpgsign", "false")
    return repo


def commit_all(repo: git.Repo, message: str = "change") -> str:
    repo.git.add("-A")
    repo.git.commit("-m", message, "--allow-empty")
    return repo.head.commit.hexsha


@pytest.fixture
def git_repo(tmp_path: Path) -> git.Repo:
    """An empty git repository in a temp dir, with a committer identity."""
    return make_repo(tmp_path / "repo")


@pytest.fixture
def example_repo(git_repo: git.Repo) -> git.Repo:
    """A git repository holding this project's example ``prompts/``, committed."""
    root = Path(git_repo.working_tree_dir)
    shutil.copytree(EXAMPLE_PROMPTS, root / "prompts")
    (root / ".gitignore").write_text(".promptctl/\n")
    commit_all(git_repo, "example prompts")
    return git_repo


# -- databases ----------------------------------------------------------------------------------


def _pg_database(base_url: str) -> Iterator[str]:
    """Create a throwaway database on the server at ``base_url``; drop it afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"promptctl_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def pg_test_database() -> Iterator[str]:
    """A fresh database on the PostgreSQL server named by ``PROMPTCTL_TEST_PG``.

    Skips when that server is not configured (fails in CI); drops the database afterwards.
    """
    base = os.environ.get("PROMPTCTL_TEST_PG")
    require_service(bool(base), "PostgreSQL (PROMPTCTL_TEST_PG)")
    assert base is not None
    yield from _pg_database(base)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
        return
    yield from pg_test_database()


# -- CLI ----------------------------------------------------------------------------------------


class Cli:
    """Runs ``promptctl`` in-process against one repository and database."""

    def __init__(self, root: Path, db: str) -> None:
        self.root = root
        self.db = db
        self.runner = CliRunner()

    def __call__(self, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
        argv = ["--repo", str(self.root), "--db", self.db, *args]
        return self.runner.invoke(app, argv, env=env, catch_exceptions=False)


@pytest.fixture
def cli(example_repo: git.Repo, db_url: str) -> Cli:
    """The CLI bound to the example repository and a fresh database."""
    return Cli(Path(example_repo.working_tree_dir), db_url)


# -- parallel runs (pytest-xdist) -----------------------------------------------------------------

# The test command runs on 4 xdist workers with ``--dist loadfile``: each module on one worker,
# in order, so a module-scoped fixture (the wheel, the fuzzed server) is built once and a test
# that checks what the module's earlier tests did (schemathesis' request count) still sees it.
# Across modules everything is independent: own temp dirs, SQLite files, PostgreSQL databases
# and Unleash flags (unique names), loopback ports (``free_port`` reserves them run-wide).
if os.environ.get("PYTEST_XDIST_WORKER"):
    # A worker is started with COLUMNS=80 in its environment, which a serial run from a pipe
    # (CI) does not have: the in-process CLI would build its console 80 columns wide.
    for _name in ("COLUMNS", "LINES"):
        os.environ.pop(_name, None)


@pytest.fixture(autouse=True)
def _fresh_cli_consoles() -> None:
    """Each test's in-process CLI starts with new consoles, as each ``promptctl`` process does:
    a console keeps the ``COLUMNS`` it was built under, so otherwise one test's width (say 80)
    would leak into whichever tests the same worker runs next."""
    from promptctl.cli import output

    for lazy in (output.console, output.err_console):
        lazy._console = None  # type: ignore[attr-defined]
