"""How the SDK's cost grows with the registry: 1,000, 10,000 and 50,000 prompts (issue 18).

The synthetic registry is ``bench/resolve.py``'s: renamed copies of the example support
bundle, two versions per prompt (1.0.0 stable, 1.1.0 a 50% canary), written straight into a
SQLite registry (releases, rollout rows, one audit event per prompt) and served by a real
``promptctl serve`` on 127.0.0.1. Every figure is also given as a ratio to the baseline
measured in the same run: a bare ``json.loads`` of the environment's state document.

Measured, per size:

- a fresh process to a usable ``Registry`` (``from_snapshot`` + the first ``get()``) from its
  local files, and from the server (``start()`` with no local files: the state and every
  bundle are fetched), and a restart with its files while the server is up;
- what the first ``get()`` of a prompt adds, in process;
- what one change to one prompt costs a connected SDK (a subprocess, reached through a byte
  counting TCP relay): bytes on the wire both ways and CPU seconds of the SDK process, for a
  percent change, a rollback and a promotion of a newly released version;
- the RSS growth of a fresh process that uses 1,000 prompts, against the bytes of the bundles
  it used and of the state;
- ``get()`` against the mmh3 floor (``bench/resolve.py``'s), at 10,000 prompts.

Usage: .venv/bin/python bench/snapshot_scale.py [--sizes 1000,10000,50000] [--runs 5]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import mmh3
from _support import PROMPTCTL, ROOT
from resolve import timed
from sqlalchemy import insert

from promptctl.bundle import resolve_bundle
from promptctl.canonical import canonical_json, sha256_hex
from promptctl.catalog import Catalog, Entry
from promptctl.client import Registry
from promptctl.loader import load_directory
from promptctl.remote import wait_until_healthy
from promptctl.store import Store
from promptctl.store.tables import ReleaseRecord, RolloutEvent, RolloutRecord

PYTHON = sys.executable
ENV = "production"
USED = 1000  # prompts a process uses in the RSS measurement
CHANGES = 5  # changes of each kind measured per size (the medians are reported)
ROUND = 10_000  # get() calls per round of the get()-against-floor measurement
NOW = datetime.now(UTC)


# -- the synthetic registry ---------------------------------------------------------------------


def example_contents() -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The example support prompt's content and the artifacts it pins."""
    tree = load_directory(ROOT / "prompts", relative_to=ROOT)
    catalog = Catalog(Entry(item.artifact, item.path) for item in tree.artifacts)
    support = catalog.find("prompt/support").artifact
    bundle = resolve_bundle(support, catalog)  # type: ignore[arg-type]
    pinned = [bundle.model, *bundle.tools] + ([bundle.index] if bundle.index else [])
    return support.content(), [a.content() for a in pinned]


def release_row(content: dict[str, Any]) -> dict[str, Any]:
    kind, name, version = content["kind"], content["name"], content["version"]
    return {"kind": kind, "name": name, "version": version,
            "content_hash": sha256_hex(content), "content": canonical_json(content).decode(),
            "path": f"prompts/{name}.{kind}.yaml", "git_commit": "0" * 40,
            "tag": f"{kind}/{name}/v{version}", "author": "bench", "released_at": NOW}


def prompt_name(i: int) -> str:
    return f"prompt-{i:05d}"


CANARY_AT_50 = {ENV: {"stable": "1.0.0", "canary": "1.1.0", "percent": 50,
                      "stickiness": "default"}}


def build_registry(folder: Path, prompts: int,
                   rollouts_by_env: dict[str, dict[str, Any]] = CANARY_AT_50) -> str:
    """A SQLite registry with ``prompts`` prompts, each with 1.0.0 and 1.1.0 released and
    in each environment the rollout ``rollouts_by_env`` names (by default 1.0.0 stable and
    1.1.0 at 50% in production), as ``promote`` would have left them."""
    url = f"sqlite:///{folder / 'registry.db'}"
    store = Store.open(url)
    support, pinned = example_contents()
    releases = [release_row(c) for c in pinned]
    rollouts, events = [], []
    for i in range(prompts):
        name = prompt_name(i)
        for version in ("1.0.0", "1.1.0"):
            releases.append(release_row(support | {"name": name, "version": version}))
        for env, after in rollouts_by_env.items():
            rollouts.append({"env": env, "prompt": name, "previous": "[]", "version": 1,
                             "updated_at": NOW, **after})
            events.append({"env": env, "prompt": name, "action": "promote", "actor": "bench",
                           "before": "{}", "after": json.dumps(after), "created_at": NOW})
    write_rows(store, releases, rollouts, events)
    return url


def write_rows(store: Store, releases: list[dict[str, Any]], rollouts: list[dict[str, Any]],
               events: list[dict[str, Any]]) -> None:
    """Insert a synthetic registry's rows in batches (what release and promote would have
    written), then close the store."""
    with store.write() as session:
        for table, rows in ((ReleaseRecord, releases), (RolloutRecord, rollouts),
                            (RolloutEvent, events)):
            for start in range(0, len(rows), 5000):
                session.execute(insert(table), rows[start:start + 5000])
    store.dispose()


def add_release(url: str, i: int, version: str) -> None:
    """A new released version of prompt ``i`` (what ``promptctl release`` records)."""
    support, _ = example_contents()
    store = Store.open(url)
    with store.write() as session:
        session.execute(insert(ReleaseRecord),
                        [release_row(support | {"name": prompt_name(i), "version": version})])
    store.dispose()


class Server:
    def __init__(self, folder: Path, url: str) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.base = [PROMPTCTL, "--repo", str(folder), "--db", url]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTCTL_")}
        self.process = subprocess.Popen([*self.base, "serve", "--port", str(self.port)],
                                        env=env, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        wait_until_healthy(self.url, 60, self.process)
        self.reader = self.token("reader", ENV)
        self.deployer = self.token("deployer")

    def token(self, role: str, env: str | None = None) -> str:
        args = ["token", "create", "--role", role, "--json"] + (["--env", env] if env else [])
        out = subprocess.run([*self.base, *args], check=True, capture_output=True, text=True)
        return str(json.loads(out.stdout)["token"])

    def post(self, path: str, body: dict[str, Any] | None = None) -> int:
        response = httpx.post(f"{self.url}{path}", json=body, timeout=60,
                              headers={"Authorization": f"Bearer {self.deployer}"})
        response.raise_for_status()
        return int(response.json()["id"])

    def rss(self) -> int:
        """The server process's resident set (bytes)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


# -- a byte-counting TCP relay ------------------------------------------------------------------


class Relay:
    """127.0.0.1 relay to the server that counts every byte both ways."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.bytes = 0
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                with self._lock:
                    self.bytes += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.sock.close()


# -- fresh processes ------------------------------------------------------------------------------

CHILD = """
import json, sys
from promptctl import Registry
mode, path = sys.argv[1], sys.argv[2]
if mode == "files":
    reg = Registry.from_snapshot(path)
else:
    reg = Registry(sys.argv[3], "production", sys.argv[4], fallback_path=path).start()
bundle = reg.get("prompt-00000", key="user-1")
print(json.dumps({"version": bundle.version}), flush=True)  # usable: the parent notes when
reg.close()  # waits for the files of a large first download to be written
"""


def timed_process(*args: str) -> tuple[float, float]:
    """Wall seconds from spawning a fresh interpreter until its Registry answered a get()
    (the child's first line arrived), and until it exited (after ``close()``, which waits
    for the background writing of a first download's files)."""
    started = time.perf_counter()
    child = subprocess.Popen([PYTHON, "-c", CHILD, *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    line = child.stdout.readline()
    usable = time.perf_counter() - started
    _, err = child.communicate(timeout=300)
    exited = time.perf_counter() - started
    if child.returncode or not line:
        raise RuntimeError(f"the SDK process failed: {err[-2000:]}")
    return usable, exited


def median_process(runs: int, args: Callable[[int], tuple[str, ...]]) -> tuple[float, float]:
    """Median (usable, exited) of ``runs`` fresh processes, run ``r`` given ``args(r)``."""
    times = [timed_process(*args(r)) for r in range(runs)]
    return (statistics.median(t[0] for t in times), statistics.median(t[1] for t in times))


RSS_CHILD = """
import json, sys
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
import promptctl.client, promptctl.state, promptctl.state_files
from promptctl import Registry
before = rss()
reg = Registry.from_snapshot(sys.argv[1])
loaded = rss()
used, seen = int(sys.argv[2]), set()
for i in range(used):
    for k in range(8):  # both variants of each prompt
        b = reg.get(f"prompt-{i:05d}", key=f"user-{k}")
        b.model, b.params, b.tools, b.index, b.trace()
        seen.add(b.fingerprint)
after = rss()
store = reg.snapshot._bundles
print(json.dumps({"growth": after - before, "state_rss": loaded - before,
                  "use_rss": after - loaded, "bundles": len(seen),
                  "bundle_bytes": sum(len(store.bundle(f).raw or b"") for f in seen)}))
"""

CHANGE_CHILD = """
import json, sys, time
from promptctl import Registry
reg = Registry(sys.argv[1], "production", sys.argv[2], fallback_path=sys.argv[3]).start()
while reg._persisting.is_set():  # a large first download is still being written
    time.sleep(0.05)
print("ready", flush=True)
follower = time.pthread_getcpuclockid(reg._thread.ident)  # the SDK's background thread
for line in sys.stdin:
    cmd, *rest = line.split()
    if cmd == "mark":
        cpu, thread = time.process_time(), time.clock_gettime(follower)
        print("marked", flush=True)
    elif cmd == "wait":
        ok = reg.wait_for_change(int(rest[0]) - 1, 30)
        time.sleep(0.05)  # let the follower finish persisting the change
        print(json.dumps({"ok": ok, "cpu_s": time.process_time() - cpu,
                          "thread_s": time.clock_gettime(follower) - thread}), flush=True)
reg.close()
"""


class ChangeProbe:
    """An SDK in its own process, following the server through a counting relay."""

    def __init__(self, relay: Relay, server: Server, folder: Path) -> None:
        self.relay = relay
        self.proc = subprocess.Popen(
            [PYTHON, "-c", CHANGE_CHILD, relay.url, server.reader, str(folder / "probe.json")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.readline() == "ready"

    def readline(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def send(self, line: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.readline()

    def measure(self, change: Any) -> tuple[int, float, float]:
        """(bytes on the wire, CPU seconds of the SDK's thread, of its whole process)."""
        time.sleep(0.3)  # quiet: no request of the SDK in flight
        assert self.send("mark") == "marked"
        before = self.relay.bytes
        change_id = change()
        result = json.loads(self.send(f"wait {change_id}"))
        assert result["ok"], "the SDK did not see the change"
        return self.relay.bytes - before, result["thread_s"], result["cpu_s"]

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)


# -- one size -----------------------------------------------------------------------------------


def run_size(prompts: int, runs: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix=f"promptctl-scale-{prompts}-"))
    out: dict[str, Any] = {"prompts": prompts}
    server = None
    try:
        started = time.perf_counter()
        url = build_registry(folder, prompts)
        out["generate_s"] = time.perf_counter() - started
        started = time.perf_counter()
        server = Server(folder, url)
        state_body = httpx.get(f"{server.url}/v1/envs/{ENV}/state", timeout=300,
                               headers={"Authorization": f"Bearer {server.reader}"}).content
        out["server_build_s"] = time.perf_counter() - started
        out["state_bytes"] = len(state_body)
        loads = []
        for _ in range(5):
            t = time.perf_counter()
            json.loads(state_body)
            loads.append(time.perf_counter() - t)
        out["json_loads_s"] = statistics.median(loads)

        # from the server, with no local files: the state and every bundle
        out["from_server_s"], out["from_server_exit_s"] = median_process(runs, lambda r: (
            "server", str(folder / f"fresh-{r}" / "sdk.json"), server.url, server.reader))
        out["server_rss"] = server.rss()  # after sending the state and every bundle `runs` times
        files = folder / "fresh-0" / "sdk.json"
        out["pack_bytes"] = files.with_name("sdk.json.pack").stat().st_size
        for r in range(1, runs):
            shutil.rmtree(folder / f"fresh-{r}")
        # a restart with the files while the server is up: state only, bundles checked
        out["restart_s"], _ = median_process(
            runs, lambda r: ("server", str(files), server.url, server.reader))
        # from local files only
        out["from_files_s"], _ = median_process(runs, lambda r: ("files", str(files)))
        out["python_s"] = statistics.median(_python_pass() for _ in range(runs))

        # first get() of a prompt, in process
        reg = Registry.from_snapshot(files)
        firsts, seconds = [], []
        for i in range(0, min(prompts, 400)):
            name = prompt_name(i)
            t = time.perf_counter()
            reg.get(name, key="k")
            firsts.append(time.perf_counter() - t)
            t = time.perf_counter()
            reg.get(name, key="k")
            seconds.append(time.perf_counter() - t)
        out["first_get_s"] = statistics.median(firsts)
        out["first_get_max_s"] = max(firsts)
        out["next_get_s"] = statistics.median(seconds)
        if prompts == 10_000:
            out["get_vs_floor"] = get_vs_floor(reg)
        del reg

        # RSS of a process that uses USED prompts
        rss = subprocess.run([PYTHON, "-c", RSS_CHILD, str(files), str(min(USED, prompts))],
                             check=True, capture_output=True, text=True)
        out["rss"] = json.loads(rss.stdout)

        # one change to one prompt, as seen by a connected SDK
        relay = Relay(server.port)
        probe = ChangeProbe(relay, server, folder)
        target = f"/v1/envs/{ENV}/prompts/{prompt_name(prompts // 2)}"
        probe.measure(  # warm-up, not reported: the first change after start
            lambda: server.post(f"/v1/envs/{ENV}/prompts/{prompt_name(1)}/promote",
                                {"version": "1.1.0", "percent": 55}))
        samples: dict[str, list[tuple[int, float, float]]] = {
            "percent change": [], "rollback": [], "new release promoted": []}
        for i in range(CHANGES):
            samples["percent change"].append(probe.measure(lambda i=i: server.post(
                f"{target}/promote", {"version": "1.1.0", "percent": 60 + i})))
        for i in range(CHANGES):  # a rollback ends the canary: bring it back first, unmeasured
            if i:
                probe.measure(lambda i=i: server.post(
                    f"{target}/promote", {"version": "1.1.0", "percent": 70 + i}))
            samples["rollback"].append(probe.measure(lambda: server.post(f"{target}/rollback")))
        for i in range(CHANGES):
            add_release(url, prompts // 2, f"1.{2 + i}.0")
            samples["new release promoted"].append(probe.measure(lambda i=i: server.post(
                f"{target}/promote", {"version": f"1.{2 + i}.0", "percent": 10})))
        costs = {kind: tuple(statistics.median(column) for column in zip(*runs, strict=True))
                 for kind, runs in samples.items()}
        probe.close()
        relay.close()
        out["change"] = costs
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return out


def _python_pass() -> float:
    started = time.perf_counter()
    subprocess.run([PYTHON, "-c", "pass"], check=True)
    return time.perf_counter() - started


def get_vs_floor(reg: Registry, calls: int = 200_000) -> dict[str, float]:
    """``get()`` against a bare mmh3 hash + dict lookup doing the same bucketing."""
    rng = random.Random(7)
    names = reg.names()
    for name in names:
        reg.get(name, key="warm")
    sample = [(rng.choice(names), f"user-{rng.randrange(1_000_000)}") for _ in range(calls)]
    stable, canary = object(), object()
    flags = {name: (50, stable, canary) for name in names}

    def floor(name: str, key: str) -> object:
        percent, s, c = flags[name]
        return c if mmh3.hash(f"{name}:{key}", 0, False) % 100 + 1 <= percent else s

    for name, key in sample[:2000]:
        assert (reg.get(name, key).variant == "canary") == (floor(name, key) is canary)
    for fn in (reg.get, floor):
        timed(fn, sample[:20_000])
    # Interleaved rounds on the same calls, so that a change of the machine's load or clock
    # during the measurement shifts both sides alike; the ratio is the median of the rounds'.
    ours, base, ratios = [], [], []
    for start in range(0, calls, ROUND):
        chunk = sample[start:start + ROUND]
        mine, floors = timed(reg.get, chunk), timed(floor, chunk)
        ours += mine
        base += floors
        ratios.append(statistics.median(mine) / statistics.median(floors))
    return {"get_us": statistics.median(ours), "floor_us": statistics.median(base),
            "ratio": statistics.median(ratios), "ratio_max": max(ratios)}


# -- report ---------------------------------------------------------------------------------------


def report(results: list[dict[str, Any]]) -> None:
    print(f"snapshot scale, {os.cpu_count()} CPUs; ratios are to a bare json.loads of the "
          "state document in the same run\n")
    print("| prompts | state JSON | json.loads (baseline) | bundle pack | server's first "
          "build | from local files | from the server, no files (exited) | restart with "
          "files | first `get()` adds (median, max) |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        base = r["json_loads_s"]

        def cell(seconds: float, base: float = base) -> str:
            return f"{seconds * 1000:.0f} ms ({seconds / base:.1f}x)"

        print(f"| {r['prompts']:,} | {r['state_bytes'] / 1e6:.2f} MB | "
              f"{base * 1000:.1f} ms (1x) | {r['pack_bytes'] / 1e6:.1f} MB | "
              f"{r['server_build_s']:.1f} s | {cell(r['from_files_s'])} | "
              f"{cell(r['from_server_s'])} ({r['from_server_exit_s'] * 1000:.0f} ms) | "
              f"{cell(r['restart_s'])} | "
              f"{r['first_get_s'] * 1e6:.0f} µs, {r['first_get_max_s'] * 1e6:.0f} µs "
              f"({r['first_get_s'] / base:.3f}x) |")
    print("\nServer RSS after it sent the state and every bundle to the fresh processes above: "
          + ", ".join(f"{r['prompts']:,} prompts {r['server_rss'] / 1e6:.0f} MB "
                      f"({r['server_rss'] / r['pack_bytes']:.2f}x the bundle pack)"
                      for r in results))
    print(f"\n(`python -c pass`: {statistics.median(r['python_s'] for r in results) * 1000:.0f}"
          " ms; the fresh-process figures include it and the SDK's import)\n")
    print(f"One change to one prompt, per connected SDK (medians of {CHANGES} changes of each "
          "kind): bytes on the wire both ways; CPU of the SDK's thread that follows the "
          "server (and of the whole SDK process, which includes this benchmark's own "
          "signalling), its ratio to the baseline:\n")
    kinds = list(results[0]["change"])
    print("| prompts | " + " | ".join(kinds) + " |")
    print("| ---: |" + " ---: |" * len(kinds))
    for r in results:
        cells = []
        for kind in kinds:
            wire, thread, cpu = r["change"][kind]
            cells.append(f"{wire / 1024:.1f} KB, {thread * 1000:.2f} ms CPU "
                         f"({cpu * 1000:.2f} ms) ({thread / r['json_loads_s']:.3f}x)")
        print(f"| {r['prompts']:,} | " + " | ".join(cells) + " |")
    print("\nRSS of a fresh process using 1,000 prompts (both variants, `.model`, `.params`, "
          "`.tools`, `.trace()`):\n")
    print("| prompts | RSS growth | of it: state loaded | of it: prompts used | bundles used "
          "| their bytes | state JSON | growth / (2 x bundles + state JSON) | "
          "used / bundle bytes |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        rss = r["rss"]
        bound = 2 * rss["bundle_bytes"] + r["state_bytes"]
        print(f"| {r['prompts']:,} | {rss['growth'] / 1e6:.1f} MB | "
              f"{rss['state_rss'] / 1e6:.1f} MB | {rss['use_rss'] / 1e6:.1f} MB | "
              f"{rss['bundles']:,} | {rss['bundle_bytes'] / 1e6:.1f} MB | "
              f"{r['state_bytes'] / 1e6:.2f} MB | {rss['growth'] / bound:.2f} | "
              f"{rss['use_rss'] / rss['bundle_bytes']:.2f} |")
    for r in results:
        if "get_vs_floor" in r:
            g = r["get_vs_floor"]
            print(f"\n`get()` at {r['prompts']:,} prompts: median {g['get_us']:.2f} µs, "
                  f"mmh3 floor {g['floor_us']:.2f} µs: {g['ratio']:.2f}x the floor (median "
                  f"of {ROUND:,}-call rounds, alternating; worst round {g['ratio_max']:.2f}x)")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,50000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", help="also write the raw figures here")
    args = parser.parse_args()
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        runs = args.runs if size <= 10_000 else max(1, min(args.runs, 3))
        print(f"... {size:,} prompts", file=sys.stderr, flush=True)
        results.append(run_size(size, runs))
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1))
    report(results)


if __name__ == "__main__":
    main()
