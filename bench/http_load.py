"""Resolve throughput and latency against one uvicorn worker on loopback.

A bounded load loop (a fixed number of requests, a time cap) from a few client
threads with keep-alive connections. The baseline, measured in the same run, is
the cheapest authenticated request: a conditional snapshot GET answered 304.
Usage: .venv/bin/python bench/http_load.py [--requests 4000] [--threads 4]
"""

from __future__ import annotations

import argparse
import threading
import time

import httpx
from _support import Server, Workspace, percentile, summary

MAX_SECONDS = 60.0


def load(url: str, token: str, requests: int, threads: int, path_of, headers_of=None
         ) -> tuple[float, list[float], int]:  # type: ignore[no-untyped-def]
    """Returns (requests per second, latencies in ms, non-2xx/3xx count)."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    per_thread = requests // threads
    deadline = time.monotonic() + MAX_SECONDS

    def worker(t: int) -> None:
        mine: list[float] = []
        bad = 0
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"},
                          timeout=10) as http:
            for i in range(per_thread):
                if time.monotonic() > deadline:
                    break
                headers = headers_of() if headers_of else None
                start = time.perf_counter()
                response = http.get(path_of(t, i), headers=headers)
                mine.append((time.perf_counter() - start) * 1000)
                bad += response.status_code >= 400
        with lock:
            latencies.extend(mine)
            failures[0] += bad

    workers = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    began = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - began
    return len(latencies) / elapsed, latencies, failures[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    ws = Workspace()
    ws.run("promote", "support", "1.0.0", "--env", "production")
    ws.run("promote", "support", "1.1.0", "--env", "production", "--percent", "50")
    reader = ws.token("reader", "production")
    server = Server(ws)
    try:
        etag = httpx.get(f"{server.url}/v1/envs/production/snapshot",
                         headers={"Authorization": f"Bearer {reader}"}).headers["etag"]
        load(server.url, reader, 400, args.threads,
             lambda t, i: f"/v1/envs/production/prompts/support/resolve?key=w{t}-{i}")
        runs = {
            "resolve": load(server.url, reader, args.requests, args.threads,
                            lambda t, i: f"/v1/envs/production/prompts/support/resolve"
                                         f"?key=user-{t}-{i}"),
            "snapshot 304 (baseline)": load(server.url, reader, args.requests, args.threads,
                                            lambda t, i: "/v1/envs/production/snapshot",
                                            lambda: {"If-None-Match": etag}),
        }
    finally:
        server.stop()
        ws.cleanup()
    print(f"one uvicorn worker on loopback, {args.threads} client threads (latency in ms)")
    for label, (rps, latencies, failures) in runs.items():
        print(f"  {label:24s} {rps:8.0f} req/s   {summary(latencies)}   errors {failures}")
    (r_rps, r_lat, _), (b_rps, b_lat, _) = runs.values()
    print(f"ratio resolve / baseline: throughput {r_rps / b_rps:4.2f}x, "
          f"p99 latency {percentile(r_lat, 99) / percentile(b_lat, 99):4.2f}x")


if __name__ == "__main__":
    main()
