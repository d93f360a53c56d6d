"""Start-up cost of the SDK and the CLI, each as a median of fresh processes and as a ratio
to ``python -c pass`` measured in the same run (issue 12's targets in brackets):

- ``python -c "import promptctl.client"`` (<= 80 ms);
- a fresh process to its first bundle from a saved snapshot file (<= 100 ms);
- ``promptctl --help`` (<= 150 ms);
- ``promptctl rollback`` through the API (<= 250 ms) and against the database (<= 350 ms).

Cases run round-robin (one run of each, N times), so a noisy neighbour slows them alike.
Before each timed rollback an untimed promote puts a canary back, so every rollback has
the same work to do.

Usage: .venv/bin/python bench/startup.py [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from _support import PROMPTCTL, Server, Workspace

from promptctl.client import Registry

PYTHON = sys.executable


@dataclass
class Case:
    label: str
    argv: list[str]
    target_ms: float | None = None
    env: dict[str, str] = field(default_factory=dict)
    before: Callable[[], None] | None = None  # untimed set-up before each run
    times: list[float] = field(default_factory=list)  # wall ms
    cpu: list[float] = field(default_factory=list)  # user + system ms of the process

    def run(self) -> None:
        if self.before is not None:
            self.before()
        # PYTHONDONTWRITEBYTECODE (set in some shells and CI jobs) would have every run
        # compile promptctl's own sources again: an installed promptctl has its .pyc files.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("PROMPTCTL_") and k != "PYTHONDONTWRITEBYTECODE"}
        env.update(self.env)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(self.argv, env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        self.times.append((time.perf_counter() - started) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
                        * 1000)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def cases(ws: Workspace, server: Server, snapshot: str, deployer: str) -> list[Case]:
    def canary() -> None:
        ws.run("promote", "support", "1.1.0", "--env", "production", "--percent", "10")

    cli = [PROMPTCTL, "--repo", str(ws.dir), "--db", ws.db]
    rollback = [*cli, "rollback", "support", "--env", "production"]
    first_bundle = ("from promptctl import Registry\n"
                    f"Registry.from_snapshot({snapshot!r}).get('support', key='user-1')")
    return [
        Case("`python -c pass` (baseline)", [PYTHON, "-c", "pass"]),
        Case('`python -c "import promptctl.client"`', [PYTHON, "-c", "import promptctl.client"],
             80),
        Case("fresh process to its first bundle (`from_snapshot` + `get`)",
             [PYTHON, "-c", first_bundle], 100),
        Case("`promptctl --help`", [PROMPTCTL, "--help"], 150),
        Case("`promptctl rollback` through the API", rollback, 250,
             env={"PROMPTCTL_URL": server.url, "PROMPTCTL_TOKEN": deployer}, before=canary),
        Case("`promptctl rollback` against the database", rollback, 350, before=canary),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    ws = Workspace()
    server = None
    try:
        ws.run("promote", "support", "1.0.0", "--env", "production")
        reader, deployer = ws.token("reader", "production"), ws.token("deployer")
        server = Server(ws)
        snapshot = str(ws.dir / "snapshot.json")
        with Registry(server.url, "production", reader, fallback_path=snapshot):
            pass  # starting saves the snapshot to its fallback path
        todo = cases(ws, server, snapshot, deployer)
        for case in todo:  # warm the OS's file cache and the .pyc files, untimed
            case.run()
            case.times.clear()
            case.cpu.clear()
        for _ in range(args.runs):
            for case in todo:
                case.run()
        report(todo, args.runs)
    finally:
        if server is not None:
            server.stop()
        ws.cleanup()


def report(todo: list[Case], runs: int) -> None:
    baseline = todo[0].median
    cpu_baseline = statistics.median(todo[0].cpu)
    print(f"start-up, {runs} fresh processes each: wall ms (median, min), its ratio to "
          "`python -c pass`, and CPU ms (user + system, median) with its ratio")
    print()
    print("| what | median ms | min ms | ratio to `python -c pass` | CPU ms | CPU ratio "
          "| target ms | median within target |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for case in todo:
        cpu = statistics.median(case.cpu)
        target = f"≤ {case.target_ms:g}" if case.target_ms else "—"
        verdict = "" if case.target_ms is None else (
            "yes" if case.median <= case.target_ms else "no")
        print(f"| {case.label} | {case.median:.1f} | {min(case.times):.1f} | "
              f"{case.median / baseline:.2f} | {cpu:.1f} | {cpu / cpu_baseline:.2f} | "
              f"{target} | {verdict} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
