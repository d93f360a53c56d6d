"""The SDK's fallback files survive a crash in the middle of any write.

A child process applies one change (a new release promoted: a new bundle and a changed
entry) and persists it, and dies at a named crash point (``registry/failpoints.py``):
after the bundle reached the pack, halfway through the journal line, or before the rename
of a full rewrite. Whatever the point, the files then give a usable state, the previous
one or the new one, never a broken one; and a write that is not interrupted is there
after a restart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from promptctl.bundle_store import fingerprint_of
from promptctl.canonical import canonical_json
from promptctl.failpoints import CRASH_EXIT_CODE
from promptctl.state import State
from promptctl.state_files import StateFiles, load_state_file

pytestmark = pytest.mark.slow


def bundle(text: str) -> bytes:
    return canonical_json({"prompt": {"name": "support", "template": {"user": text},
                                      "variables": {"name": {"type": "string"}}},
                           "model": {"provider": "openai", "model": "gpt-4o-mini"},
                           "tools": [], "index": None})


def entry(stable: str, fps: dict[str, str], change_id: int) -> dict[str, object]:
    return {"stable": stable, "canary": None, "percent": 0, "stickiness": "default",
            "change_id": change_id, "fingerprints": fps}


OLD, NEW = bundle("Hello {{ name }}"), bundle("Hi there {{ name }}")

CHILD = """
import sys
from promptctl.state import delta_doc
from promptctl.state_files import StateFiles, load_state_file
path, mode, raw, fp = sys.argv[1], sys.argv[2], sys.argv[3].encode(), sys.argv[4]
state, store = load_state_file(path)
store.add([raw], [fp])
state.apply(delta_doc("production", 1, 2, {"support": {
    "stable": "1.1.0", "canary": None, "percent": 0, "stickiness": "default",
    "change_id": 2, "fingerprints": {"1.1.0": fp}}}))
files = StateFiles(path)
if mode == "append":
    files.append(delta_doc("production", 1, 2, {"support": state.entry("support")}),
                 state, store)
else:
    files.write_full(state, store)
print("written")
"""


def saved(tmp_path: Path) -> Path:
    """Files holding change 1: support 1.0.0."""
    path = tmp_path / "sdk" / "state.json"
    store = StateFiles(path).open_store()
    [fp] = store.add([OLD])
    state = State("production", 1, {"support": entry("1.0.0", {"1.0.0": fp}, 1)}, store)
    StateFiles(path).write_full(state, store)
    store.close()
    return path


def child(path: Path, mode: str, failpoint: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROMPTCTL_FAILPOINTS": failpoint or ""}
    return subprocess.run([sys.executable, "-c", CHILD, str(path), mode, NEW.decode(),
                           fingerprint_of(NEW)], env=env, capture_output=True, text=True,
                          timeout=60)


def answer(path: Path) -> tuple[int, str, list[dict[str, str]]]:
    state, store = load_state_file(path)
    try:
        got = state.resolve("support", "user-1")
        return state.change_id, got.version, got.render(name="Ann")
    finally:
        store.close()


@pytest.mark.parametrize(("mode", "failpoint"), [
    ("append", "state-files.after-pack"),
    ("append", "state-files.torn-journal"),
    ("full", "atomic-file.before-rename"),
])
def test_a_crash_mid_write_leaves_the_previous_state_usable(
        tmp_path: Path, mode: str, failpoint: str) -> None:
    path = saved(tmp_path)
    before = answer(path)
    crashed = child(path, mode, failpoint)
    assert crashed.returncode == CRASH_EXIT_CODE, crashed.stderr
    assert f"failpoint {failpoint}: crashing" in crashed.stderr
    assert "written" not in crashed.stdout
    assert answer(path) == before == (1, "1.0.0", [{"role": "user", "content": "Hello Ann"}])
    # the next change after the crash is persisted whole (past a torn line, if any)
    done = child(path, "append", None)
    assert done.returncode == 0 and "written" in done.stdout, done.stderr
    assert answer(path) == (2, "1.1.0", [{"role": "user", "content": "Hi there Ann"}])


def test_a_change_written_without_a_crash_is_there_after_a_restart(tmp_path: Path) -> None:
    path = saved(tmp_path)
    done = child(path, "full", None)  # the fold of the journal into the state file
    assert done.returncode == 0, done.stderr
    assert answer(path) == (2, "1.1.0", [{"role": "user", "content": "Hi there Ann"}])
    assert not path.with_name("state.json.journal").exists()  # folded by the full write
    doc = json.loads(path.read_bytes())
    assert doc["change_id"] == 2 and set(doc["prompts"]["support"]["at"]) == \
        {fingerprint_of(NEW)}
