"""The SDK's state files start fast: each full write leaves the entries already packed
beside the JSON state, and a start reads those (no JSON parse) only while they were written
with the state file as it is; otherwise it reads the JSON, as before."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from promptctl.bundle_store import fingerprint_of
from promptctl.state import State
from promptctl.state_entries import MARK
from promptctl.state_files import StateFiles

BUNDLES = [json.dumps({"n": i}).encode() for i in range(3)]
FPS = [fingerprint_of(raw) for raw in BUNDLES]


def entry(stable: int, canary: int | None = None, **extra: Any) -> dict[str, Any]:
    fps = {f"1.{stable}.0": FPS[stable]}
    if canary is not None:
        fps[f"1.{canary}.0"] = FPS[canary]
    return {"stable": f"1.{stable}.0", "canary": None if canary is None else f"1.{canary}.0",
            "percent": 0 if canary is None else 30, "stickiness": "userId",
            "change_id": 4, "fingerprints": fps, **extra}


def saved(tmp_path: Path) -> StateFiles:
    files = StateFiles(tmp_path / "sdk.json")
    store = files.open_store()
    store.add(BUNDLES)
    state = State("production", 4, {
        "plain": entry(0), "canary": entry(1, 2),
        "odd \u00e9": entry(0, extra_field="kept as JSON")}, store)
    files.write_full(state, store)
    store.close()
    return files


def loaded(files: StateFiles) -> State:
    return files.load(files.open_store())


def test_a_full_write_leaves_the_packed_entries_and_a_start_reads_them(
        tmp_path: Path) -> None:
    files = saved(tmp_path)
    assert files.entries_path.is_file()
    again = loaded(files)
    assert again.doc == json.loads(files.path.read_bytes())  # the same state as the JSON
    kinds = {name: raw[0] == MARK for name, raw in again.raw_entries()}
    assert kinds == {"plain": True, "canary": True, "odd \u00e9": False}  # not parsed yet
    assert again.resolve("canary", "user-1").fingerprint in FPS[1:]
    assert again.entry("odd \u00e9")["extra_field"] == "kept as JSON"


def test_a_state_file_replaced_since_is_read_as_json_not_from_stale_entries(
        tmp_path: Path) -> None:
    files = saved(tmp_path)
    doc = json.loads(files.path.read_bytes())
    doc["change_id"] = 9
    doc["prompts"]["plain"]["percent"] = 0
    doc["prompts"]["plain"]["stable"] = "1.0.0"
    doc["prompts"].pop("canary")
    files.path.write_text(json.dumps(doc))  # by hand, or by another writer
    again = loaded(files)
    assert again.change_id == 9 and again.names() == ["odd \u00e9", "plain"]


def test_torn_or_foreign_packed_entries_are_ignored(tmp_path: Path) -> None:
    files = saved(tmp_path)
    whole = files.entries_path.read_bytes()
    stat = files.path.stat()
    for damaged in (whole[:-5], b"not ours" + whole, b""):
        files.entries_path.write_bytes(damaged)
        os.utime(files.path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        again = loaded(files)
        assert again.change_id == 4 and again.names() == ["canary", "odd \u00e9", "plain"]
