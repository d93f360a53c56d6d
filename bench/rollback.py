"""Rollback propagation: from the start of ``promptctl rollback`` until N connected SDKs
all serve the rolled-back version.

Each trial puts a 50% canary in place, waits until all SDKs have it, then runs
the real CLI as a subprocess and records when each SDK's snapshot changes. Two
modes: the CLI against the database (the server notices by polling its audit
table), and the CLI through the API (``PROMPTCTL_URL``: the server wakes its
event stream at once). Times include the CLI's own start-up, reported separately.
Usage: .venv/bin/python bench/rollback.py [--sdks 20] [--trials 10]
"""

from __future__ import annotations

import argparse
import threading
import time
from datetime import datetime

from _support import Server, Workspace, summary

from promptctl.client import Registry


def trial(ws: Workspace, sdks: list[Registry], env: dict[str, str]
          ) -> tuple[float, float, float]:
    """Returns (CLI start -> all SDKs, commit -> all SDKs, CLI wall time) in ms."""
    ws.run("promote", "support", "1.1.0", "--env", "production", "--percent", "50", "--json")
    deadline = time.monotonic() + 10
    while any(s.snapshot.doc["prompts"]["support"]["canary"] is None for s in sdks):
        if time.monotonic() > deadline:
            raise RuntimeError("SDKs did not pick up the canary")
        time.sleep(0.01)
    before = [s.change_id for s in sdks]
    seen: list[float] = [0.0] * len(sdks)

    def watch(i: int) -> None:
        if sdks[i].wait_for_change(before[i], 10):
            seen[i] = time.time()

    watchers = [threading.Thread(target=watch, args=(i,)) for i in range(len(sdks))]
    for w in watchers:
        w.start()
    start = time.time()
    change = ws.run("rollback", "support", "--env", "production", "--json", env=env)
    finished = time.time()
    for w in watchers:
        w.join(15)
    if not all(seen):
        raise RuntimeError("some SDKs never saw the rollback")
    committed = datetime.fromisoformat(change["created_at"]).timestamp()  # type: ignore[index]
    last = max(seen)
    return (last - start) * 1000, (last - committed) * 1000, (finished - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sdks", type=int, default=20)
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    ws = Workspace()
    ws.run("promote", "support", "1.0.0", "--env", "production")
    reader, deployer = ws.token("reader", "production"), ws.token("deployer")
    server = Server(ws)
    sdks = [Registry(server.url, "production", reader).start() for _ in range(args.sdks)]
    try:
        modes = {"CLI -> database": {},
                 "CLI -> API": {"PROMPTCTL_URL": server.url, "PROMPTCTL_TOKEN": deployer}}
        print(f"rollback propagation to {args.sdks} connected SDKs, {args.trials} trials "
              "per mode (ms)")
        startup = []
        for _ in range(args.trials):
            began = time.time()
            ws.run("--help")
            startup.append((time.time() - began) * 1000)
        print(f"  baseline: `promptctl --help` start-up alone: {summary(startup)}")
        for mode, env in modes.items():
            results = [trial(ws, sdks, env) for _ in range(args.trials)]
            print(f"  {mode}")
            print(f"    CLI start  -> all SDKs: {summary([r[0] for r in results])}")
            print(f"    commit     -> all SDKs: {summary([r[1] for r in results])}")
            print(f"    CLI wall time (start-up included): {summary([r[2] for r in results])}")
    finally:
        for s in sdks:
            s.close()
        server.stop()
        ws.cleanup()


if __name__ == "__main__":
    main()
