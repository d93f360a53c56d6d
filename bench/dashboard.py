"""The dashboard's overview at scale: 1,000 prompts by 3 environments (issue 17).

The synthetic registry is ``bench/snapshot_scale.py``'s (renamed copies of the example
support prompt, 1.0.0 and 1.1.0 released), here served in development, staging and
production: 1.0.0 stable everywhere and 1.1.0 a 10% canary in production. A real ``promptctl
serve`` on 127.0.0.1 answers; the benchmark signs in through the dashboard's form like a
browser and fetches ``/ui`` with ``Accept-Encoding: gzip``.

Measured (medians of ``--runs`` requests after one warm-up):

- the time until the whole overview has arrived (server-side rendering plus loopback), and
  the bytes sent for it (as sent: gzip), and uncompressed;
- the baseline of the same run: ``GET /v1/status``, the same 3,000 rollout states as JSON
  (the REST API's answer for the same question), its time and bytes.

Targets: overview ≤ 300 ms and ≤ 200 KB on the wire.

Usage: .venv/bin/python bench/dashboard.py [--prompts 1000] [--runs 20]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from snapshot_scale import Server, build_registry

ENVS = ("development", "staging", "production")

# production has 1.1.0 as a 10% canary; the other environments serve 1.0.0 only
ROLLOUTS = {env: {"stable": "1.0.0", "canary": "1.1.0" if env == "production" else None,
                  "percent": 10 if env == "production" else 0, "stickiness": "default"}
            for env in ENVS}


def signed_in(url: str, token: str) -> httpx.Client:
    client = httpx.Client(base_url=url, timeout=60, headers={"Accept-Encoding": "gzip"})
    form = client.get("/ui/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
    signed = client.post("/ui/login", data={"csrf": csrf, "token": token},
                         headers={"Origin": url})
    assert signed.status_code == 303, signed.text
    return client


def measure(client: httpx.Client, path: str, runs: int, **headers: str) -> dict[str, float]:
    times, wire, raw = [], 0, 0
    for attempt in range(runs + 1):
        started = time.perf_counter()
        with client.stream("GET", path, headers=headers) as response:
            response.raise_for_status()
            body = response.read()
            elapsed = time.perf_counter() - started
            wire, raw = response.num_bytes_downloaded, len(body)
        if attempt:
            times.append(elapsed * 1000)
    return {"ms": statistics.median(times), "max_ms": max(times), "wire": wire, "raw": raw}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="promptctl-bench-ui-"))
    server = None
    try:
        server = Server(folder, build_registry(folder, args.prompts, ROLLOUTS))
        ui = signed_in(server.url, server.deployer)
        assert ui.get("/ui").text.count("<tr>") == args.prompts + 1
        overview = measure(ui, "/ui", args.runs)
        api = httpx.Client(base_url=server.url, timeout=60,
                           headers={"Authorization": f"Bearer {server.deployer}"})
        baseline = measure(api, "/v1/status", args.runs)
        report(args.prompts, overview, baseline)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def report(prompts: int, overview: dict[str, float], baseline: dict[str, float]) -> None:
    cells = prompts * len(ENVS)
    print(f"{prompts} prompts x {len(ENVS)} environments ({cells} cells)")
    print(f"GET /v1/status (baseline): {baseline['ms']:.1f} ms (max {baseline['max_ms']:.1f}), "
          f"{baseline['wire'] / 1024:.1f} KB")
    ok_t = "ok" if overview["ms"] <= 300 else "OVER"
    ok_b = "ok" if overview["wire"] <= 200 * 1024 else "OVER"
    print(f"GET /ui overview: {overview['ms']:.1f} ms (max {overview['max_ms']:.1f}; "
          f"{overview['ms'] / baseline['ms']:.2f}x baseline; target <= 300 ms: {ok_t}), "
          f"{overview['wire'] / 1024:.1f} KB on the wire "
          f"({overview['wire'] / baseline['wire']:.2f}x baseline; target <= 200 KB: {ok_b}), "
          f"{overview['raw'] / 1024:.1f} KB uncompressed")


if __name__ == "__main__":
    main()
