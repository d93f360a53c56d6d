"""Cost of provider call arguments for a cached bundle: the example ``support`` prompt (two
messages, two tools, an output schema) resolved from an in-memory snapshot.

Timed per call (µs): ``bundle.openai(**values)`` etc., which render the messages and add
them to the bundle's cached per-API part, and, apart, the mapping alone (cached part +
already-rendered messages) and ``render()`` alone, so the figures say where the time goes.
Target: kwargs for a cached bundle <= 20 µs median.
Usage: .venv/bin/python bench/call_args.py [--calls 50000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from _support import ROOT, percentile

from promptctl.bundle import Bundle, resolve_bundle
from promptctl.catalog import Catalog, Entry
from promptctl.loader import load_directory
from promptctl.providers.calls import call_kwargs
from promptctl.snapshot import SNAPSHOT_FORMAT, ResolvedBundle
from promptctl.state import Snapshot

VALUES = {"customer": "Ann", "question": "Where is my parcel?", "order_id": "A-1"}
ANTHROPIC = {"kind": "model", "name": "support-claude", "version": "1.0.0",
             "description": "Claude", "provider": "anthropic", "model": "claude-x",
             "params": {"max_tokens": 600, "stop": ["\nCustomer:"]}}
RESPONSES_PARAMS = {"temperature": 0.2, "top_p": 1.0, "max_tokens": 600}


def bundle(model: dict[str, Any] | None = None) -> ResolvedBundle:
    tree = load_directory(ROOT / "prompts", relative_to=ROOT)
    catalog = Catalog(Entry(item.artifact, item.path) for item in tree.artifacts)
    doc = resolve_bundle(catalog.find("prompt/support").artifact, catalog).to_dict()
    if model:
        doc["model"] = model
    entry = {"fingerprint": Bundle.from_dict(doc).fingerprint, "bundle": doc}
    return Snapshot({"format": SNAPSHOT_FORMAT, "env": "production", "change_id": 1,
                     "prompts": {"support": {"stable": "1.0.0", "versions": {"1.0.0": entry}}}}
                    ).resolve("support", "user-1")


def timed(fn: Callable[[], object], calls: int) -> list[float]:
    clock = time.perf_counter_ns
    for _ in range(min(calls, 5000)):  # warm up (and fill the per-bundle cache)
        fn()
    out = []
    for _ in range(calls):
        start = clock()
        fn()
        out.append((clock() - start) / 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=50_000)
    args = parser.parse_args()
    openai_b = bundle()
    responses_b = bundle({**openai_b.bundle.data["model"], "params": RESPONSES_PARAMS})
    anthropic_b = bundle(ANTHROPIC)
    messages = openai_b.render(**VALUES)
    assert len(messages) == 2 and len(openai_b.tools) == 2
    results = {
        "bundle.openai(**values)": timed(lambda: openai_b.openai(**VALUES), args.calls),
        "bundle.openai_responses(**v)": timed(lambda: responses_b.openai_responses(**VALUES),
                                              args.calls),
        "bundle.anthropic(**values)": timed(lambda: anthropic_b.anthropic(**VALUES), args.calls),
        "bundle.litellm(**values)": timed(lambda: openai_b.litellm(**VALUES), args.calls),
        "render() alone": timed(lambda: openai_b.render(**VALUES), args.calls),
        "openai mapping alone": timed(lambda: call_kwargs("openai", openai_b.bundle, messages),
                                      args.calls),
        "anthropic mapping alone": timed(
            lambda: call_kwargs("anthropic", anthropic_b.bundle, messages), args.calls),
    }
    print("call arguments for a cached bundle: support (2 messages, 2 tools, output schema), "
          "µs per call")
    for label, values in results.items():
        print(f"  {label:30s} median {statistics.median(values):7.2f}   "
              f"p99 {percentile(values, 99):7.2f}   (n={len(values)})")
    median = statistics.median(results["bundle.openai(**values)"])
    print(f"target: bundle.openai(**values) median <= 20 µs: {median:.2f} µs "
          f"({'met' if median <= 20 else 'NOT met'})")


if __name__ == "__main__":
    main()
