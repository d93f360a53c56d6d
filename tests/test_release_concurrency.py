"""Two processes releasing at once: one wins, the other no-ops or conflicts cleanly."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from sqlalchemy import text

from registry.store import Store
from tests.conftest import Cli


@pytest.mark.slow
def test_two_processes_releasing_at_once_never_corrupt_anything(cli: Cli, example_repo):
    argv = [sys.executable, "-m", "cli", "--repo", str(cli.root), "--db", cli.db,
            "release", "--json"]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outcomes = [(p.wait(timeout=120), *p.communicate()) for p in procs]

    released = 0
    for code, out, err in outcomes:
        assert "Traceback" not in err
        if code == 0:
            released += len([r for r in json.loads(out)["released"] if r["status"] == "released"])
        else:
            assert code == 4 and "another release ran at the same time" in out + err
    assert released == 6, outcomes

    store = Store(cli.db)
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM releases")).scalar() == 6
        if store.is_sqlite:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    assert len(example_repo.tags) == 6
    assert json.loads(cli("release", "--json").stdout)["unchanged"] == 6
