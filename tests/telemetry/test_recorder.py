"""The SDK's outcome recorder: ``track()`` is a bounded append, the background drain
aggregates per (prompt, version, variant, window), checks outputs and tool arguments, and
never lets a bad argument escape."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptctl.telemetry.buckets import bucket_index, merged, quantile, upper_bound
from promptctl.telemetry.recorder import Recorder

SCHEMA = {"type": "object", "properties": {"answer": {"type": "string"}},
          "required": ["answer"]}
TOOLS = [{"name": "search-kb", "description": "search",
          "parameters": {"type": "object", "properties": {"query": {"type": "string"}},
                         "required": ["query"]}}]


class FakeBundle:
    """Only the attributes the recorder reads (a real ResolvedBundle has them all)."""

    def __init__(self, variant: str = "stable", version: str = "1.0.0") -> None:
        self.name, self.version, self.variant = "support", version, variant
        self.fingerprint = f"fp-{version}"
        self.output_schema: dict[str, Any] | None = SCHEMA
        self.tools = TOOLS


def test_calls_add_up_per_variant_and_window() -> None:
    rec = Recorder(window_seconds=3600)
    stable, canary = FakeBundle(), FakeBundle("canary", "1.1.0")
    for _ in range(3):
        rec.track(stable, 0.2, 100, 20, 0.01)
    rec.track(canary, 0.5, 100, 30, 0.02, error="timeout", feedback=-1)
    rec.drain()
    docs = {doc["variant"]: doc for _, doc in rec.closed(0, everything=True)}
    assert docs["stable"]["calls"] == 3 and docs["stable"]["input_tokens"] == 300
    assert docs["stable"]["cost"] == pytest.approx(0.03)
    assert docs["canary"]["errors"] == {"timeout": 1}
    assert docs["canary"]["feedback"] == {"up": 0, "down": 1}
    assert docs["canary"]["version"] == "1.1.0"


def test_outputs_and_tool_arguments_are_checked_on_the_drain() -> None:
    rec = Recorder(window_seconds=3600)
    bundle = FakeBundle()
    rec.track(bundle, 0.1, output={"answer": "yes"})
    rec.track(bundle, 0.1, output='{"answer": "from JSON text"}')
    rec.track(bundle, 0.1, output={"reply": "wrong field"})
    rec.track(bundle, 0.1, output="not json")
    rec.track(bundle, 0.1, tool_calls=[{"name": "search-kb", "arguments": '{"query": "x"}'},
                                       {"name": "search-kb", "arguments": {"q": 1}},
                                       {"name": "no-such-tool", "arguments": {}}])
    rec.drain()
    [(_, doc)] = rec.closed(0, everything=True)
    assert doc["schema"] == {"checked": 4, "valid": 2}
    assert doc["tool_args"] == {"checked": 3, "valid": 1}


def test_track_never_raises_and_bad_calls_are_counted_not_aggregated() -> None:
    rec = Recorder(window_seconds=3600)
    rec.track(object(), -1.0)  # not a bundle, negative latency
    rec.track(FakeBundle(), float("nan"))
    rec.track(FakeBundle(), 0.1, input_tokens=-5)
    rec.track(FakeBundle(), 0.1, cost="lots")
    rec.drain()
    assert rec.rejected_calls == 4
    assert rec.closed(0, everything=True) == []


def test_the_queue_is_bounded_and_overflow_is_counted() -> None:
    rec = Recorder(max_queued=10)
    for _ in range(25):
        rec.track(FakeBundle(), 0.1)
    assert rec.dropped_calls == 15
    assert rec.drain() == 10


def test_windows_kept_too_long_are_dropped_and_counted() -> None:
    rec = Recorder(window_seconds=1, keep_seconds=5)
    rec.track(FakeBundle(), 0.1)
    rec.drain()
    [(key, _)] = rec.closed(0, everything=True)
    assert len(rec.closed(key[3] + 3)) == 1  # closed, within keep_seconds: still held
    assert rec.closed(key[3] + 7) == []  # older than keep_seconds: dropped
    assert rec.pending_windows == 0 and rec.dropped_windows == 1


def test_open_windows_are_not_sent_until_they_close() -> None:
    rec = Recorder(window_seconds=10)
    rec.track(FakeBundle(), 0.1)
    rec.drain()
    [(key, _)] = rec.closed(0, everything=True)
    assert rec.closed(key[3] + 5) == []
    assert len(rec.closed(key[3] + 10)) == 1


def test_buckets_bound_the_quantile_error() -> None:
    for seconds in (0.0005, 0.0013, 0.25, 1.0, 42.0):
        index = bucket_index(seconds)
        assert seconds <= upper_bound(index) <= max(seconds * 1.0906, 0.001)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.floats(0.001, 100), min_size=1, max_size=50), min_size=1,
                max_size=5))
def test_p95_of_merged_windows_is_the_p95_of_all_calls(parts: list[list[float]]) -> None:
    """Buckets merge by addition: the p95 over many windows (instances) equals the p95 of
    one window holding every call, within one bucket (9 %)."""
    windows = []
    for part in parts:
        counts: dict[int, int] = {}
        for value in part:
            counts[bucket_index(value)] = counts.get(bucket_index(value), 0) + 1
        windows.append(counts)
    everything = sorted(v for part in parts for v in part)
    exact = everything[max(0, -(-len(everything) * 95 // 100) - 1)]
    estimate = quantile(merged(windows), 0.95)
    assert estimate is not None and exact <= estimate <= exact * 1.0906 + 1e-9
