"""Guarded rollouts: what outcome telemetry costs, and how fast a breach reaches the fleet.

1. ``track()``: median cost per call in the app's thread (batches of 10,000 calls, the
   median batch), beside an empty Python call with the same arguments for scale.
2. Ingest: 1,000 SDK instances x 10 prompts, each flushing every 10 s, is 100 reports a
   second with 10 windows each, into one ``promptctl serve`` (SQLite): the server
   process's CPU time over the run as a share of one core, and the reports' latency.
3. Breach to stable: 20 SDK instances serve a canary costing 40 % more under a plan
   evaluated every 0.25 s; from the guard's rollback (its audit event) until every
   instance applied it, and from the plan's start until the rollback.

Usage: .venv/bin/python bench/guards.py [--seconds 20] [--skip track|checks|ingest|breach]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

from _support import Server, Workspace, percentile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.sim.fleet_sim

from promptctl.snapshot import ResolvedBundle
from promptctl.telemetry.recorder import Recorder

PROMPTS = 10
PLAN = """
[limits]
plan_evaluate_seconds = 0.25

[plans.bench]
steps = [1, 10, 50, 100]
hold_seconds = 0.6
min_samples = 25
[plans.bench.guards]
cost_per_call = 1.2
"""


def bench_track() -> None:
    rec = Recorder(max_queued=20_000)
    bundle = ResolvedBundle.__new__(ResolvedBundle)
    track = rec.track

    def empty(b: object, latency: float, i: int, o: int, cost: float) -> None:
        pass

    def batch(fn: object) -> float:
        call = fn  # type: ignore[assignment]
        started = time.perf_counter()
        for _ in range(10_000):
            call(bundle, 0.42, 200, 50, 0.01)  # type: ignore[operator]
        elapsed = time.perf_counter() - started
        rec._queue.clear()
        return elapsed / 10_000 * 1e6

    for _ in range(3):
        batch(track)
    tracked = [batch(track) for _ in range(51)]
    baseline = [batch(empty) for _ in range(51)]
    print(f"track(): median {statistics.median(tracked):.3f} µs per call "
          f"(p90 of batches {percentile(tracked, 90):.3f}); an empty call with the same "
          f"arguments: {statistics.median(baseline):.3f} µs")


def bench_checks() -> None:
    """The background thread's cost per call: aggregation alone, and with the output and a
    tool call checked (jsonschema loads on the first checked output: timed apart)."""
    import subprocess

    from tests.sim.fleet_sim import VALID

    schema = {"type": "object", "properties": {"answer": {"type": "string"},
                                               "sources": {"type": "array",
                                                           "items": {"type": "string"}}},
              "required": ["answer", "sources"]}

    class Bundle:
        name, version, variant, fingerprint = "support", "1.0.0", "stable", "f" * 64
        output_schema = schema
        tools = [{"name": "search-kb", "description": "", "parameters": {
            "type": "object", "properties": {"query": {"type": "string"}},
            "required": ["query"]}}]

    code = ("import time; t = time.perf_counter(); from jsonschema import validators; "
            "print((time.perf_counter() - t) * 1000)")
    imported = float(subprocess.run([sys.executable, "-c", code], capture_output=True,
                                    text=True, check=True).stdout)
    results = {}
    for label, kwargs in (("aggregate only", {}),
                          ("+ output and one tool call checked",
                           {"output": VALID, "tool_calls": [{"name": "search-kb",
                                                              "arguments": '{"query": "x"}'}]})):
        rec = Recorder(max_queued=20_000)
        for _ in range(10_000):
            rec.track(Bundle(), 0.4, 200, 50, 0.01, **kwargs)  # type: ignore[arg-type]
        started = time.perf_counter()
        rec.drain()
        results[label] = (time.perf_counter() - started) / 10_000 * 1e6
    print("background thread per call: " + ", ".join(f"{k} {v:.1f} µs"
                                                      for k, v in results.items())
          + f"; importing jsonschema (once, on the first checked output): {imported:.0f} ms")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _workspace(toml: str = "") -> Workspace:
    ws = Workspace(("1.0.0", "1.1.0"))
    source = (ws.dir / "prompts" / "support.prompt.yaml").read_text()
    for index in range(2, PROMPTS + 1):
        (ws.dir / "prompts" / f"support-{index}.prompt.yaml").write_text(
            source.replace("name: support", f"name: support-{index}", 1))
    if toml:
        (ws.dir / "promptctl.toml").write_text(toml)
    ws._commit("more prompts")
    ws.run("release")
    return ws


def bench_ingest(seconds: float) -> None:
    ws = _workspace()
    ws.run("promote", "support", "1.1.0", "--env", "production")
    token = ws.token("reader", "production")
    server = Server(ws)
    names = ["support"] + [f"support-{i}" for i in range(2, PROMPTS + 1)]
    rate, senders = 100.0, 4  # reports a second: 1,000 instances / 10 s
    latencies: list[float] = []
    refused = [0]
    stop = time.monotonic() + seconds

    def body(instance: int, start: float) -> bytes:
        windows = [{"prompt": n, "version": "1.1.0",
                    "variant": "stable", "start": start, "calls": 30, "errors": {"timeout": 1},
                    "latency": {"count": 30, "sum": 12.0, "buckets": {"70": 20, "78": 10}},
                    "input_tokens": 6000, "output_tokens": 1500, "cost": 0.3,
                    "feedback": {"up": 1, "down": 0}, "schema": {"checked": 30, "valid": 29},
                    "tool_args": {"checked": 5, "valid": 5}} for n in names]
        return json.dumps({"instance": {"id": f"bench-{instance:04d}", "app": "bench",
                                        "sdk_version": "0.1.0", "host": "bench-host",
                                        "change_id": 1, "source": "stream"},
                           "window_seconds": 10, "windows": windows}).encode()

    def send(worker: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        n, interval = worker, senders / rate
        next_at = time.monotonic()
        while time.monotonic() < stop:
            start = float(int(time.time()) // 10 * 10 - 10 * (n // 1000))  # a new window
            data = body(n % 1000, start)
            began = time.perf_counter()
            conn.request("POST", "/v1/envs/production/outcomes", data, headers)
            response = conn.getresponse()
            answer = response.read()
            latencies.append(time.perf_counter() - began)
            if response.status != 202:
                refused[0] += 1
                if refused[0] == 1:
                    print("refused:", response.status, answer[:300])
            n += senders
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))
        conn.close()

    try:
        cpu0, wall0 = _cpu_seconds(server.process.pid), time.monotonic()
        threads = [threading.Thread(target=send, args=(w,)) for w in range(senders)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        cpu = _cpu_seconds(server.process.pid) - cpu0
        wall = time.monotonic() - wall0
        reports = len(latencies)
        print(f"ingest: {reports} reports ({reports * PROMPTS} windows) in {wall:.1f} s = "
              f"{reports / wall:.0f} reports/s ({refused[0]} refused); server CPU "
              f"{cpu:.2f} s = {cpu / wall * 100:.0f} % of one core ({cpu / reports * 1000:.1f} ms "
              f"a report, so {cpu / reports * rate * 100:.0f} % of a core at {rate:.0f} "
              "reports/s); report latency p50 "
              f"{statistics.median(latencies) * 1000:.1f} ms, p99 "
              f"{percentile(latencies, 99) * 1000:.1f} ms")
    finally:
        server.stop()
        ws.cleanup()


def bench_breach(trials: int) -> None:
    from promptctl.rollout import Rollouts
    from promptctl.store import Store
    from tests.sim.fleet_sim import Fleet, Profile, api_get, until

    ws = _workspace(PLAN)
    ws.run("promote", "support", "1.0.0", "--env", "production")
    reader, deployer = ws.token("reader", "production"), ws.token("deployer")
    server = Server(ws)
    fleet = Fleet(server.url, "production", reader,
                  profiles={"1.1.0": Profile(cost=0.014)}).start()
    store = Store.open(ws.db)
    to_stable, to_breach = [], []
    try:
        for _ in range(trials):
            before = [r.change_id for r in fleet.instances]
            started = time.time()
            ws.run("promote", "support", "1.1.0", "--env", "production", "--plan", "bench")
            until(lambda: api_get(server.url, deployer, "/v1/plans")[0]["status"]
                  == "rolled_back", 30)
            event = until(lambda: next((c for c in Rollouts(store).history(
                "production", "support")[-1:] if c.actor == "guard"), None), 10)
            until(lambda e=event: all(r.change_id >= e.id for r in fleet.instances), 10,
                  every=0.001)
            everyone = time.time()
            to_stable.append(everyone - event.created_at.timestamp())
            to_breach.append(event.created_at.timestamp() - started)
            if os.environ.get("BENCH_VERBOSE"):
                print("  trial:", (event.reason or "")[:160])
            assert all(r.change_id > b for r, b in zip(fleet.instances, before, strict=True))
    finally:
        store.dispose()
        fleet.close()
        server.stop()
        ws.cleanup()
    print(f"breach: guard's rollback -> all 20 instances serve stable: median "
          f"{statistics.median(to_stable) * 1000:.0f} ms, max {max(to_stable) * 1000:.0f} ms; "
          f"plan start -> rollback: median {statistics.median(to_breach):.2f} s "
          f"(n={trials}; 1 % canary, 25 samples a variant, evaluated every 0.25 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--skip", action="append", default=[])
    args = parser.parse_args()
    if "track" not in args.skip:
        bench_track()
    if "checks" not in args.skip:
        bench_checks()
    if "ingest" not in args.skip:
        bench_ingest(args.seconds)
    if "breach" not in args.skip:
        bench_breach(args.trials)


if __name__ == "__main__":
    main()
