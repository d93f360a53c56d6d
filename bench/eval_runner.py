"""Bench of the eval runner: 200 cases through a provider that answers in exactly 50 ms.

Ideal wall time at ``-j 8`` is 200 x 0.05 / 8 = 1.25 s; the target is at most 1.2x that.
A re-run answered from the response cache must take under 0.5 s. The runner's own overhead
per case is what a run costs beyond the provider's time: measured with a provider that
answers at once (rendering, assertions, bookkeeping, the cache write), and as the gap to the
ideal at -j 8.

    .venv/bin/python bench/eval_runner.py
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from promptctl.bundle import resolve_bundle
from promptctl.catalog import Catalog, Entry
from promptctl.evals.cache import ResponseCache
from promptctl.evals.providers.base import ProviderRequest, ProviderResponse
from promptctl.evals.runner import RunOptions, run_suite
from promptctl.evals.suite import EvalSuite
from promptctl.loader import load_directory

ROOT = Path(__file__).resolve().parents[1]
CASES, JOBS, LATENCY = 200, 8, 0.05


class FixedLatency:
    """A stand-in model that takes exactly ``latency`` seconds per call."""

    type = "fixed"
    cacheable = True

    def __init__(self, latency: float) -> None:
        self.latency = latency

    def identity(self) -> dict[str, Any]:
        return {"type": self.type, "latency": self.latency}

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        if self.latency:
            time.sleep(self.latency)
        return ProviderResponse('{"answer": "Your parcel is on its way", "sources": ["KB"]}',
                                input_tokens=120, output_tokens=20, cost=0.00003)


def suite() -> EvalSuite:
    cases = [{"name": f"case-{i:03d}",
              "vars": {"customer": f"user {i}", "question": f"Where is parcel {i}?"},
              "assert": [{"type": "icontains", "value": "parcel"}, {"type": "json-schema"},
                         {"type": "max-tokens", "value": 100}]} for i in range(CASES)]
    return EvalSuite.model_validate({"kind": "eval", "name": "bench", "version": "1.0.0",
                                     "description": "bench", "prompt": "support",
                                     "cases": cases})


def timed(*args: Any, **kwargs: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run_suite(*args, **kwargs)
    return time.perf_counter() - started, result


def main() -> int:
    tree = load_directory(ROOT / "prompts")
    catalog = Catalog(Entry(i.artifact, i.path) for i in tree.artifacts)
    prompt = catalog.find("support", "prompt").artifact
    bundle = resolve_bundle(prompt, catalog)  # type: ignore[arg-type]
    the_suite = suite()
    folder = Path(tempfile.mkdtemp(prefix="promptctl-eval-bench-"))
    try:
        ideal = CASES * LATENCY / JOBS
        cold = []
        for trial in range(3):
            cache = ResponseCache(folder / f"cache-{trial}")
            seconds, _ = timed(the_suite, bundle, FixedLatency(LATENCY),
                               options=RunOptions(jobs=JOBS, cache=cache))
            cold.append(seconds)
        warm = []
        for _ in range(3):
            seconds, result = timed(the_suite, bundle, FixedLatency(LATENCY),
                                    options=RunOptions(jobs=JOBS, cache=cache))
            assert result.summary.cached == CASES
            warm.append(seconds)
        instant = []
        for trial in range(3):
            seconds, _ = timed(the_suite, bundle, FixedLatency(0.0),
                               options=RunOptions(jobs=1, cache=ResponseCache(
                                   folder / f"instant-{trial}")))
            instant.append(seconds)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    cold_s, warm_s, instant_s = (statistics.median(v) for v in (cold, warm, instant))
    print(f"{CASES} cases, provider {LATENCY * 1000:.0f} ms per call, -j {JOBS}")
    print("| run | median of 3 | target |")
    print("| --- | ---: | --- |")
    print(f"| ideal ({CASES} x {LATENCY} s / {JOBS}) | {ideal:.3f} s | |")
    print(f"| cold (every case called) | {cold_s:.3f} s ({cold_s / ideal:.2f}x ideal) | "
          f"≤ 1.2x ideal {'✅' if cold_s <= 1.2 * ideal else '❌'} |")
    print(f"| cached re-run | {warm_s:.3f} s | < 0.5 s {'✅' if warm_s < 0.5 else '❌'} |")
    print(f"| runner overhead per case (instant provider, -j 1) | "
          f"{instant_s / CASES * 1000:.2f} ms | |")
    print(f"| overhead per case at -j {JOBS} ((cold - ideal) x {JOBS} / {CASES}) | "
          f"{(cold_s - ideal) * JOBS / CASES * 1000:.2f} ms | |")
    return 0 if cold_s <= 1.2 * ideal and warm_s < 0.5 else 1


if __name__ == "__main__":
    sys.exit(main())
