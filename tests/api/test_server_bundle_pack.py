"""The server's bundle bytes live in an on-disk pack beside its database, behind a small
cache: they survive a restart (read back, not computed again), and a damaged pack entry is
computed again from the store, never served."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from promptctl.api import create_app
from promptctl.config import load_settings
from promptctl.limits import Limits
from promptctl.store import Store
from promptctl.urls import sqlite_file
from tests.conftest import Cli
from tests.rollout_fixtures import create_token

STATE = "/v1/envs/production/state"
# The pack lives beside a SQLite file (other stores get one per process): SQLite only.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def serve(released: Cli, reader: dict[str, str]) -> tuple[list[bytes], Path, int]:
    """One server's life: the bodies of ``/v1/bundles`` for every served fingerprint (one
    at a time, each past a cache too small for two), its pack and what it refused."""
    store = Store.open(released.db)
    app = create_app(load_settings(released.root, db=released.db), store=store,
                     limits=Limits(server_bundle_cache_bytes=3000))
    try:
        with TestClient(app) as client:
            fps = sorted(client.get(STATE, headers=reader).json()
                         ["prompts"]["support"]["fingerprints"].values())
            bodies = []
            for fp in [*fps, *fps]:
                response = client.get("/v1/bundles", params={"fp": fp}, headers=reader)
                assert response.status_code == 200
                assert hashlib.sha256(response.content[:-1]).hexdigest() == fp
                bodies.append(response.content)
            pack = app.state.api.snapshots.states.pack
            return bodies, pack.pack.path, pack.refused
    finally:
        store.dispose()


def released_with_canary(released: Cli) -> dict[str, str]:
    assert released("promote", "support", "1.0.0", "--env", "production").exit_code == 0
    assert released("promote", "support", "1.1.0", "--env", "production",
                    "--percent", "50").exit_code == 0
    return {"Authorization": f"Bearer {create_token(released, 'reader', 'production')}"}


def test_the_bundle_pack_survives_a_server_restart(released: Cli) -> None:
    db = sqlite_file(released.db)
    assert db is not None
    reader = released_with_canary(released)
    first, path, _ = serve(released, reader)
    assert path == Path(db).with_name(Path(db).name + ".bundles.pack")
    size = path.stat().st_size
    assert size > 2 * 2000  # both bundles are on disk, not only in memory
    again, _, refused = serve(released, reader)
    assert again == first and refused == 0
    assert path.stat().st_size == size  # read back from the pack, not appended again


def test_a_damaged_pack_entry_is_computed_again_never_served(released: Cli) -> None:
    reader = released_with_canary(released)
    first, path, _ = serve(released, reader)
    data = path.read_bytes()
    path.write_bytes(data.replace(b"support agent", b"suppert agent", 1))
    assert path.read_bytes() != data
    again, _, refused = serve(released, reader)
    assert again == first  # the right bytes, computed again from the store
    assert refused == 1 and path.stat().st_size > len(data)  # and appended anew
