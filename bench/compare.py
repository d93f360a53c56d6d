"""Side by side, one scenario, one run: promptctl vs MLflow's prompt registry vs UnleashClient.

The scenario (issue 5): one prompt with 20 versions and an alias on one of them; resolve it
``--resolves`` times (default 100,000) the way an app does before each LLM call; then move the
alias and time how long a long-running reader takes to see the new version.

* **promptctl**: the SDK ``Registry.get`` connected to a real ``promptctl serve`` (uvicorn on
  loopback, SQLite); the alias is the ``production`` stable version, moved with the HTTP
  promote endpoint; the reader is the same long-lived SDK.
* **MLflow**: ``mlflow.genai.load_prompt("prompts:/NAME@production")`` on a local SQLite
  tracking store; the alias is moved with ``mlflow.genai.set_prompt_alias``; the reader is a
  separate long-running process calling ``load_prompt`` in a loop, so it sees what an app sees
  (MLflow caches alias lookups for ``MLFLOW_ALIAS_PROMPT_CACHE_TTL_SECONDS``, 60 s by default).
  Measured twice: as shipped (cache on) and with ``cache_ttl_seconds=0``.
* **UnleashClient**: ``get_variant`` on the flag promptctl's Unleash backend writes (the version
  is the variant's payload). Against the real Unleash server when ``PROMPTCTL_TEST_UNLEASH_URL``
  (+ ``..._ADMIN_TOKEN``, ``..._CLIENT_TOKEN``) is set, where the alias move is a publish through
  the Admin API and the reader polls every ``--unleash-refresh`` s (the client's default, 15 s);
  otherwise bootstrapped from a dict, with no server to move anything.

Every loop is bounded: a contender's resolve loop stops after ``--max-seconds`` even if it has
not done ``--resolves`` calls (the table says how many it did), and a move not seen within
``--visibility-cap`` seconds is reported as such.

Usage: .venv/bin/pip install -e '.[compare]' && .venv/bin/python bench/compare.py
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from _support import Server, Workspace, bootstrapped_unleash, percentile

VERSIONS = 20
ALIASED = 5  # the alias starts on the 5th version; each move goes one version up
PROMPT = "support"


@dataclass
class Result:
    name: str
    resolves: int = 0
    latencies_us: list[float] = field(default_factory=list)
    seen_after_s: list[float] = field(default_factory=list)  # per alias move
    note: str = ""

    @property
    def median_us(self) -> float:
        return statistics.median(self.latencies_us)

    @property
    def p99_us(self) -> float:
        return percentile(self.latencies_us, 99)

    @property
    def seen_median_s(self) -> float | None:
        return statistics.median(self.seen_after_s) if self.seen_after_s else None


def timed(fn: Callable[[str], object], keys: list[str], max_seconds: float) -> list[float]:
    """Per-call latency in µs, stopping after ``max_seconds``."""
    clock = time.perf_counter_ns
    deadline = time.monotonic() + max_seconds
    out: list[float] = []
    for i, key in enumerate(keys):
        start = clock()
        fn(key)
        out.append((clock() - start) / 1000)
        if i % 256 == 0 and time.monotonic() > deadline:
            break
    return out


def seen_after(read: Callable[[], object], move: Callable[[], None], target: object,
               cap: float) -> float | None:
    """Seconds from starting ``move()`` until ``read()`` returns ``target`` (None: not in cap)."""
    start = time.monotonic()
    move()
    while time.monotonic() - start < cap:
        if read() == target:
            return time.monotonic() - start
        time.sleep(0.001)
    return None


# -- promptctl ------------------------------------------------------------------------------------


def run_promptctl(args: argparse.Namespace, keys: list[str]) -> Result:
    from promptctl.client import Registry

    versions = [f"1.{i}.0" for i in range(VERSIONS)]
    ws = Workspace(versions)
    ws.run("promote", PROMPT, versions[ALIASED - 1], "--env", "production")
    reader, deployer = ws.token("reader", "production"), ws.token("deployer")
    server = Server(ws)
    result = Result("promptctl SDK (Registry.get)", note="SDK on a real server, SQLite")
    try:
        with Registry(server.url, "production", reader) as reg, \
                httpx.Client(base_url=server.url, timeout=30,
                             headers={"Authorization": f"Bearer {deployer}"}) as http:
            assert reg.get(PROMPT, key="k").version == versions[ALIASED - 1]
            get = reg.get
            result.latencies_us = timed(lambda key: get(PROMPT, key=key), keys, args.max_seconds)
            result.resolves = len(result.latencies_us)
            for i in range(args.moves):
                target = versions[ALIASED + i]

                def move(target: str = target) -> None:
                    http.post(f"/v1/envs/production/prompts/{PROMPT}/promote",
                              json={"version": target}).raise_for_status()

                seen = seen_after(lambda: get(PROMPT, key="k").version, move, target,
                                  args.visibility_cap)
                if seen is not None:
                    result.seen_after_s.append(seen)
    finally:
        server.stop()
        ws.cleanup()
    return result


# -- MLflow ---------------------------------------------------------------------------------------


def _mlflow(uri: str):  # type: ignore[no-untyped-def]
    import logging

    import mlflow

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return mlflow


def mlflow_reader(uri: str, ttl: str, seconds: float) -> None:
    """The long-running reader process: print each version it sees, as it first sees it."""
    mlflow = _mlflow(uri)
    cache = None if ttl == "default" else float(ttl)
    last = None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        version = mlflow.genai.load_prompt(f"prompts:/{PROMPT}@production",
                                           cache_ttl_seconds=cache).version
        if version != last:
            print(f"{time.monotonic()} {version}", flush=True)
            last = version
        time.sleep(0.001)


class ReaderProcess:
    """``mlflow_reader`` in a child process; its sightings arrive on a queue."""

    def __init__(self, uri: str, ttl: str, seconds: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--mlflow-reader", uri, ttl, str(seconds)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.sightings: queue.Queue[tuple[float, int]] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            when, version = line.split()
            self.sightings.put((float(when), int(version)))

    def wait_for(self, version: int, timeout: float) -> float | None:
        """The monotonic time the reader first saw ``version``; None if not within timeout."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                when, seen = self.sightings.get(timeout=left)
            except queue.Empty:
                return None
            if seen == version:
                return when
        return None

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


def run_mlflow(args: argparse.Namespace, keys: list[str]) -> list[Result]:
    tmp = Path(tempfile.mkdtemp(prefix="mlflow-compare-"))
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    mlflow = _mlflow(uri)
    versions = [mlflow.genai.register_prompt(
        name=PROMPT, template=f"You are the support agent for Acme (v{i}). {{{{question}}}}",
        commit_message=f"v{i}").version for i in range(VERSIONS)]
    results = []
    try:
        for label, ttl, moves in (("as shipped: 60 s alias cache", "default", 1),
                                  ("cache_ttl_seconds=0", "0", args.moves)):
            cache = None if ttl == "default" else float(ttl)
            mlflow.genai.set_prompt_alias(PROMPT, alias="production", version=versions[ALIASED - 1])
            result = Result(f"MLflow load_prompt ({label})", note="local SQLite tracking store")

            def load(_key: str, cache: float | None = cache) -> object:
                return mlflow.genai.load_prompt(f"prompts:/{PROMPT}@production",
                                                cache_ttl_seconds=cache)

            assert load("k").version == versions[ALIASED - 1]  # type: ignore[attr-defined]
            result.latencies_us = timed(load, keys, args.max_seconds)
            result.resolves = len(result.latencies_us)

            reader = ReaderProcess(uri, ttl, seconds=args.visibility_cap * (moves + 1) + 60)
            try:
                if reader.wait_for(versions[ALIASED - 1], 60) is None:
                    raise RuntimeError("the MLflow reader process did not start")
                time.sleep(1.0)  # a long-running reader: it has been reading for a while
                for i in range(moves):
                    target = versions[ALIASED + i]
                    start = time.monotonic()
                    mlflow.genai.set_prompt_alias(PROMPT, alias="production", version=target)
                    seen = reader.wait_for(target, args.visibility_cap)
                    if seen is not None:
                        result.seen_after_s.append(seen - start)
            finally:
                reader.stop()
            results.append(result)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return results


# -- UnleashClient --------------------------------------------------------------------------------


def run_unleash(args: argparse.Namespace, keys: list[str]) -> Result:
    from promptctl.flags.base import FlagState
    from promptctl.flags.unleash import UnleashFlagBackend, desired_strategies, flag_name
    from promptctl.flags.unleash_reader import connect, resolve_version

    versions = [f"1.{i}.0" for i in range(VERSIONS)]
    prompt = f"compare-{uuid.uuid4().hex[:8]}"  # a fresh flag on a shared server
    state = FlagState("production", prompt, stable=versions[ALIASED - 1])
    url = os.environ.get("PROMPTCTL_TEST_UNLEASH_URL")
    tmp = tempfile.mkdtemp(prefix="unleash-compare-")
    backend = None
    if url:
        backend = UnleashFlagBackend(url, os.environ["PROMPTCTL_TEST_UNLEASH_ADMIN_TOKEN"])
        backend.publish(state)
        client = connect(url, os.environ["PROMPTCTL_TEST_UNLEASH_CLIENT_TOKEN"],
                         app_name="promptctl-compare", refresh_interval=args.unleash_refresh,
                         disable_metrics=True, cache_directory=tmp)
        result = Result("UnleashClient.get_variant",
                        note=f"real Unleash server, refresh_interval={args.unleash_refresh} s")
    else:
        client = bootstrapped_unleash(
            [{"name": flag_name("production", prompt), "enabled": True,
              "strategies": list(desired_strategies(state).values())}],
            tmp, app_name="promptctl-compare")
        result = Result("UnleashClient.get_variant",
                        note="bootstrapped, no server: no alias move to time")
    try:
        def read(key: str) -> str:
            return resolve_version(client, "production", prompt, {"userId": key})[0]

        deadline = time.monotonic() + 30
        while read("k") != versions[ALIASED - 1] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert read("k") == versions[ALIASED - 1]
        result.latencies_us = timed(read, keys, args.max_seconds)
        result.resolves = len(result.latencies_us)
        if backend is not None:
            for i in range(min(args.moves, 2)):  # each move takes up to one refresh interval
                target = versions[ALIASED + i]
                moved = FlagState("production", prompt, stable=target)
                seen = seen_after(lambda: read("k"), lambda m=moved: backend.publish(m), target,
                                  args.visibility_cap)
                if seen is not None:
                    result.seen_after_s.append(seen)
    finally:
        client.destroy()
        if backend is not None:
            backend.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return result


# -- report ---------------------------------------------------------------------------------------


def report(results: list[Result], args: argparse.Namespace) -> None:
    print(f"\none prompt, {VERSIONS} versions, alias on one; {args.resolves:,} resolves; "
          f"alias moves timed until a long-running reader sees them")
    print(f"{'contender':48s} {'resolves':>9s} {'median µs':>10s} {'p99 µs':>9s} "
          f"{'alias move seen after':>24s}")
    for r in results:
        if r.seen_after_s:
            seen = (f"{r.seen_median_s:.3f} s (n={len(r.seen_after_s)}, "
                    f"max {max(r.seen_after_s):.3f})")
        else:
            seen = "n/a" if "no server" in r.note else f"not within {args.visibility_cap:.0f} s"
        print(f"{r.name:48s} {r.resolves:>9,d} {r.median_us:>10.2f} {r.p99_us:>9.2f} {seen:>24s}")
        print(f"    {r.note}")
    ours = results[0]
    print("\nratios (other / promptctl; > 1 means promptctl is faster)")
    for r in results[1:]:
        line = f"  {r.name:46s} resolve median {r.median_us / ours.median_us:9.1f}x"
        if r.seen_median_s is not None and ours.seen_median_s:
            line += f"   alias move seen {r.seen_median_s / ours.seen_median_s:8.1f}x"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--resolves", type=int, default=100_000)
    parser.add_argument("--moves", type=int, default=5, help="alias moves to time (fast ones)")
    parser.add_argument("--max-seconds", type=float, default=60.0,
                        help="cap on each contender's resolve loop")
    parser.add_argument("--visibility-cap", type=float, default=90.0,
                        help="give up on seeing one alias move after this long")
    parser.add_argument("--unleash-refresh", type=int, default=15,
                        help="UnleashClient refresh_interval (its default is 15 s)")
    parser.add_argument("--skip", action="append", default=[],
                        choices=["mlflow", "unleash"], help="leave a contender out")
    parser.add_argument("--mlflow-reader", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mlflow_reader:
        uri, ttl, seconds = args.mlflow_reader
        mlflow_reader(uri, ttl, float(seconds))
        return
    if "mlflow" not in args.skip:
        try:
            import mlflow  # noqa: F401
        except ImportError:
            sys.exit("MLflow is not installed: pip install -e '.[compare]' (or --skip mlflow)")
    keys = [f"user-{i}" for i in range(args.resolves)]
    results = [run_promptctl(args, keys)]
    if "mlflow" not in args.skip:
        results += run_mlflow(args, keys)
    if "unleash" not in args.skip:
        results.append(run_unleash(args, keys))
    report(results, args)


if __name__ == "__main__":
    main()
