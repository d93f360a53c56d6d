"""Dashboard tests run on SQLite only: the pages read through the same service as the REST
API, whose PostgreSQL behaviour the API tests cover."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'registry.db'}"
