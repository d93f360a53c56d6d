"""Fixtures for the multi-replica, fault and load tests (issue 5).

Import what a module needs (``from proof_fixtures import ...``); the fixtures here build on
``rollout_fixtures``: a released repository, real ``promptctl serve`` processes, real SDKs.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import git
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from promptctl.client import Registry
from tests.conftest import Cli, pg_test_database
from tests.rollout_fixtures import Endpoint, Server, create_token, free_port, release_versions


def wait_until(predicate: Callable[[], object], timeout: float, step: float = 0.005) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh database on the PostgreSQL server named by ``PROMPTCTL_TEST_PG``."""
    yield from pg_test_database()


def deploy(cli: Cli) -> dict[str, str]:
    """Release support 1.0.0-1.2.0, make 1.0.0 stable in production; return tokens by role."""
    release_versions(cli, "1.1.0", "1.2.0")
    result = cli("promote", "support", "1.0.0", "--env", "production")
    assert result.exit_code == 0, result.output
    return {"reader": create_token(cli, "reader", "production"),
            "deployer": create_token(cli, "deployer"),
            "admin": create_token(cli, "admin")}


@pytest.fixture
def pg_deployed(example_repo: git.Repo, pg_url: str) -> tuple[Cli, dict[str, str]]:
    """The CLI on a released repository whose registry is a PostgreSQL database."""
    cli = Cli(Path(example_repo.working_tree_dir), pg_url)
    return cli, deploy(cli)


@pytest.fixture
def replicas(pg_deployed: tuple[Cli, dict[str, str]]) -> Iterator[tuple[Server, Server]]:
    """Two API replicas (two uvicorn processes) on one PostgreSQL database."""
    cli, tokens = pg_deployed
    servers = (Server(cli, free_port(), tokens=tokens), Server(cli, free_port(), tokens=tokens))
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


def sdk(server: Endpoint, tmp_path: Path, name: str = "sdk", **kwargs: object) -> Registry:
    """A started SDK ``Registry`` on ``server``'s production environment."""
    return Registry(server.url, "production", server.tokens["reader"],
                    fallback_path=tmp_path / f"{name}.json",
                    **kwargs).start()  # type: ignore[arg-type]


@contextlib.contextmanager
def database_offline(db_url: str) -> Iterator[None]:
    """Make the PostgreSQL database of ``db_url`` unreachable, then bring it back.

    Real and deterministic, and it leaves the server (shared by the whole test session)
    running: new connections to this database are refused and existing ones are closed.
    """
    url = make_url(db_url)
    name = url.database
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :name AND pid <> pg_backend_pid()"),
                         {"name": name})
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()
