"""Packed state entries: exact round trips, and a state smaller in memory than its JSON."""

from __future__ import annotations

import gc
import hashlib
import json
import tracemalloc
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptctl.bundle_store import BundleStore
from promptctl.state import State, entry_json
from promptctl.state_entries import pack, packed_fingerprints, packed_json, unpack


def fp(seed: object) -> str:
    return hashlib.sha256(str(seed).encode()).hexdigest()


def entry(i: int, *, at: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "stable": "1.0.0", "canary": "1.1.0", "percent": 50, "stickiness": "default",
        "change_id": i, "fingerprints": {"1.0.0": fp((i, 0)), "1.1.0": fp((i, 1))}}
    if at:
        out["at"] = {fp((i, 0)): [i * 4700, 2349], fp((i, 1)): [i * 4700 + 2350, 2349]}
    return out


versions = st.from_regex(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(-[a-z0-9.]{1,8})?",
                         fullmatch=True)


@settings(max_examples=40, deadline=None)
@given(stable=versions, canary=st.one_of(st.none(), versions),
       percent=st.integers(0, 100), change=st.integers(-2**40, 2**62),
       stickiness=st.sampled_from(["default", "userId", "sessionId", "tenant_id"]),
       placed=st.booleans())
def test_a_packed_entry_gives_back_the_same_entry_and_json(
        stable: str, canary: str | None, percent: int, change: int, stickiness: str,
        placed: bool) -> None:
    fps = {stable: fp(stable), **({canary: fp(canary)} if canary else {})}
    original: dict[str, Any] = {"stable": stable, "canary": canary, "percent": percent,
                                "stickiness": stickiness, "change_id": change,
                                "fingerprints": fps}
    if placed:
        original["at"] = {fp(stable): [7, 2349]}
    packed = pack(original)
    assert packed is not None
    assert unpack(packed) == original
    assert packed_json(packed) == entry_json(original)
    assert sorted(packed_fingerprints(packed)) == sorted(fps.values())
    assert len(packed) < 0.6 * len(entry_json(original))


@pytest.mark.parametrize("change", [
    {"extra": 1}, {"percent": True}, {"percent": 50.0}, {"stable": "1 0"},
    {"stable": "2.0.0"}, {"at": {}}, {"at": {fp("x"): [1, 2]}},
    {"at": {fp((1, 0)): [-1, 2]}}, {"fingerprints": {"1.0.0": "ABC", "1.1.0": fp(1)}},
    {"stickiness": "ünïcode"},
])
def test_an_entry_that_cannot_come_back_exactly_is_not_packed(change: dict[str, Any]) -> None:
    assert pack({**entry(1), **change}) is None


def test_an_entry_that_is_not_packed_still_reads_from_the_state() -> None:
    odd = {**entry(1), "stickiness": "ünïcode"}
    doc = State("production", 2, {"odd": odd, "plain": entry(2)}, BundleStore()).to_json()
    state = State.parse(doc, BundleStore())
    assert state.entry("odd") == odd and state.entry("plain") == entry(2)
    assert State.parse(state.to_json(), BundleStore()).doc == state.doc


def test_a_state_of_5000_prompts_takes_less_memory_than_its_json() -> None:
    """The SDK's bound is RSS <= 2 x bundles used + the state: the state in memory must not
    cost more than its document (a JSON line per entry would cost twice as much)."""
    entries = {f"prompt-{i:05d}": entry(i, at=True) for i in range(5000)}
    data = State("production", 5000, entries, BundleStore()).to_json()
    gc.collect()
    tracemalloc.start()
    try:
        state = State.parse(data, BundleStore())
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(state) == 5000 and state.entry("prompt-00042") == entries["prompt-00042"]
    assert held < 0.75 * len(data), f"{held} bytes in memory for {len(data)} of JSON"
    assert json.loads(state.to_json()) == json.loads(data)
