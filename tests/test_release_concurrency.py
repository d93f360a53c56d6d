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


def _crash_after_rows(cli: Cli) -> None:
    argv = [sys.executable, "-m", "promptctl.cli", "--repo", str(cli.root), "--db", cli.db,
            "release"]
    crashed = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                             env=os.environ | {"PROMPTCTL_FAILPOINTS": "release.after-rows"})
    assert crashed.returncode == CRASH_EXIT_CODE


def _release_keys(cli: Cli) -> set[str]:
    store = Store(cli.db)
    try:
        with store.engine.connect() as conn:
            rows = conn.execute(text("SELECT kind, name, version FROM releases")).all()
    finally:
        store.dispose()
    return {f"{k}/{n}@{v}" for k, n, v in rows}


@pytest.mark.slow
def test_a_crashed_release_whose_tag_git_then_refuses_leaves_no_orphan_row(
        cli: Cli, example_repo):
    _crash_after_rows(cli)
    example_repo.create_tag("tool/search-kb")  # now blocks tool/search-kb/v1.0.0

    rerun = cli("release")

    assert rerun.exit_code == 4
    assert "Traceback" not in rerun.output
    assert "could not create tag tool/search-kb/v1.0.0" in rerun.stderr
    assert "nothing was recorded for it" in rerun.stderr
    # support pins search-kb: its row goes too; the other four are completed.
    assert _release_keys(cli) == {"model/support-chat@1.0.0", "tool/create-ticket@1.0.0",
                                  "index/kb-docs@1.0.0", "prompt/summarize-ticket@1.1.0"}
    assert set(example_repo.git.tag("-l").split()) == {
        "tool/search-kb", "model/support-chat/v1.0.0", "tool/create-ticket/v1.0.0",
        "index/kb-docs/v1.0.0", "prompt/summarize-ticket/v1.1.0"}


@pytest.mark.slow
def test_a_crashed_release_row_that_a_rollout_serves_is_kept_when_its_tag_is_refused(
        cli: Cli, example_repo):
    _crash_after_rows(cli)
    assert cli("promote", "support", "1.0.0", "--env", "staging").exit_code == 0
    example_repo.create_tag("prompt/support")  # now blocks prompt/support/v1.0.0

    rerun = cli("release")

    assert rerun.exit_code == 4
    assert "could not create tag prompt/support/v1.0.0" in rerun.stderr
    assert "its row is kept because a rollout serves it" in rerun.stderr
    assert "prompt/support@1.0.0" in _release_keys(cli)
    assert len(_release_keys(cli)) == 6
