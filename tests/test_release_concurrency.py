"""Releases under concurrency and crashes: never a corrupt or half-finished registry."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from promptctl.failpoints import CRASH_EXIT_CODE
from promptctl.store import Store
from tests.conftest import Cli


@pytest.mark.slow
def test_two_processes_releasing_at_once_never_corrupt_anything(cli: Cli, example_repo):
    argv = [sys.executable, "-m", "promptctl.cli", "--repo", str(cli.root), "--db", cli.db,
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


@pytest.mark.slow
def test_a_process_killed_between_rows_and_tags_is_completed_by_a_rerun(cli: Cli, example_repo):
    argv = [sys.executable, "-m", "promptctl.cli", "--repo", str(cli.root), "--db", cli.db,
            "release"]
    crashed = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                             env=os.environ | {"PROMPTCTL_FAILPOINTS": "release.after-rows"})
    assert crashed.returncode == CRASH_EXIT_CODE
    assert len(example_repo.tags) == 0  # rows committed, tags never written

    rerun = cli("release", "--json")
    assert rerun.exit_code == 0
    assert {r["status"] for r in json.loads(rerun.stdout)["released"]} == {"tag-restored"}
    assert len(example_repo.tags) == 6
    assert json.loads(cli("release", "--json").stdout)["unchanged"] == 6
