"""SDK ``get()`` latency with 1,000 prompts, against two baselines measured in this run:

(a) the floor: a bare ``mmh3`` hash + dict lookup doing the same bucketing;
(b) ``UnleashClient.get_variant`` on equivalent flags bootstrapped from a dict.

``get(..., session=...)`` (session pins, :mod:`promptctl.session_pins`) is measured beside
them: a lock, an LRU move and a change-id comparison on top of the lookup, no hashing.

Every prompt has a stable version and a 50% canary, so every call hashes.
Usage: .venv/bin/python bench/resolve.py [--calls 200000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import mmh3
from _support import ROOT, bootstrapped_unleash, percentile

from promptctl.bundle import Bundle, resolve_bundle
from promptctl.catalog import Catalog, Entry
from promptctl.client import Registry
from promptctl.loader import load_directory
from promptctl.snapshot import SNAPSHOT_FORMAT
from promptctl.state import Snapshot

PROMPTS = 1000
PERCENT = 50


def snapshot_doc() -> dict:
    """1,000 prompts, each a renamed copy of the example bundle, stable + 50% canary."""
    tree = load_directory(ROOT / "prompts", relative_to=ROOT)
    catalog = Catalog(Entry(item.artifact, item.path) for item in tree.artifacts)
    base = resolve_bundle(catalog.find("prompt/support").artifact, catalog)
    prompts = {}
    for i in range(PROMPTS):
        name = f"prompt-{i:04d}"
        versions = {}
        for version in ("1.0.0", "1.1.0"):
            doc = base.to_dict()
            doc["prompt"] = doc["prompt"] | {"name": name, "version": version}
            versions[version] = {"fingerprint": Bundle.from_dict(doc).fingerprint, "bundle": doc}
        prompts[name] = {"stable": "1.0.0", "canary": "1.1.0", "percent": PERCENT,
                         "stickiness": "default", "versions": versions}
    return {"format": SNAPSHOT_FORMAT, "env": "production", "change_id": 1,
            "generated_at": "bench", "prompts": prompts}


def unleash_features(names: list[str]) -> list[dict]:
    """The same flags for UnleashClient: a ``PERCENT`` rollout whose variant is the canary."""
    return [{
        "name": name, "enabled": True,
        "strategies": [{"name": "flexibleRollout", "parameters": {
            "rollout": str(PERCENT), "stickiness": "default", "groupId": name}}],
        "variants": [{"name": "canary", "weight": 1000, "stickiness": "default",
                      "payload": {"type": "string", "value": "1.1.0"}}],
    } for name in names]


def timed(fn, calls: list[tuple[str, str]]) -> list[float]:  # type: ignore[no-untyped-def]
    """Per-call latency in µs (timer overhead is the same for every contender)."""
    clock = time.perf_counter_ns
    out = []
    for name, key in calls:
        start = clock()
        fn(name, key)
        out.append((clock() - start) / 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200_000)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "snapshot.json"
        Snapshot(snapshot_doc()).save(path)
        reg = Registry.from_snapshot(path)
        names = reg.names()
        calls = [(rng.choice(names), f"user-{rng.randrange(1_000_000)}")
                 for _ in range(args.calls)]

        stable, canary = object(), object()
        flags = {name: (PERCENT, stable, canary) for name in names}

        def floor(name: str, key: str) -> object:
            percent, s, c = flags[name]
            return c if mmh3.hash(f"{name}:{key}", 0, False) % 100 + 1 <= percent else s

        client = bootstrapped_unleash(unleash_features(names), tmp)
        # same answers, or the comparison would be meaningless
        for name, key in calls[:2000]:
            ours = reg.get(name, key).variant == "canary"
            assert ours == (floor(name, key) is canary)
            assert ours == client.get_variant(name, {"userId": key})["enabled"]

        # conversations: 10,000 sessions, each pinned to its prompt's bundle on first use
        conversations = [(names[j % len(names)], f"session-{j}")
                         for j in (rng.randrange(10_000) for _ in range(args.calls))]

        def pinned(name: str, session: str) -> object:
            return reg.get(name, session=session)

        for fn in (reg.get, floor):  # warm up
            timed(fn, calls[:20_000])
        timed(pinned, conversations[:20_000])  # the first use of each pin is in here
        results = {
            "SDK Registry.get": timed(reg.get, calls),
            "floor: mmh3 + dict": timed(floor, calls),
            "SDK get(session=...) pinned": timed(pinned, conversations),
            "UnleashClient.get_variant": timed(lambda n, k: client.get_variant(
                n, {"userId": k}), calls[: max(1, args.calls // 10)]),
        }
        client.destroy()

    print(f"resolve latency, {PROMPTS} prompts at {PERCENT}% canary (µs per call)")
    for label, values in results.items():
        print(f"  {label:28s} median {statistics.median(values):7.2f}   "
              f"p99 {percentile(values, 99):7.2f}   (n={len(values)})")
    sdk, floor_, _, unl = (results[k] for k in results)
    for label, base, target in (("floor", floor_, "<= 2x"), ("UnleashClient", unl, "< 1x")):
        median = statistics.median(sdk) / statistics.median(base)
        p99 = percentile(sdk, 99) / percentile(base, 99)
        print(f"ratio SDK / {label:14s} median {median:5.2f}x   p99 {p99:5.2f}x   "
              f"(target {target})")


if __name__ == "__main__":
    main()
