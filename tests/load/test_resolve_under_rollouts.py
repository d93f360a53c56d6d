"""Load: many concurrent clients resolve while a deployer promotes and rolls back.

Zero errors, and every answer is one a user could legitimately get at that moment: the
deployer records each committed state with the interval in which it may have been live
(from sending the change until the next change was acknowledged), and each response must
equal what some state whose interval overlaps the request's [start, end] gives that key.

Bounded: ``PROMPTCTL_LOAD_SECONDS`` (default 15; the issue's figure is 60) and
``PROMPTCTL_LOAD_CLIENTS`` (default 50), and at most ``MAX_REQUESTS_PER_CLIENT`` each.
"""

from __future__ import annotations

import math
import os
import random
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest

from promptctl.bucketing import in_rollout
from tests.rollout_fixtures import Server

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("PROMPTCTL_LOAD_SECONDS", "15"))
CLIENTS = int(os.environ.get("PROMPTCTL_LOAD_CLIENTS", "50"))
MAX_REQUESTS_PER_CLIENT = 200_000
CHANGE_EVERY_S = 0.25
KEYS = [f"user-{i}" for i in range(1000)]
PROMPT = "support"
BASE = f"/v1/envs/production/prompts/{PROMPT}"

# A cycle of rollout moves that is valid from any point of itself (starts at stable 1.0.0).
CYCLE: list[tuple[str, dict[str, Any] | None]] = [
    ("promote", {"version": "1.1.0", "percent": 10}),
    ("promote", {"version": "1.1.0", "percent": 50}),
    ("promote", {"version": "1.1.0", "percent": 100}),
    ("promote", {"version": "1.2.0", "percent": 30}),
    ("rollback", None),  # clears the 1.2.0 canary
    ("rollback", None),  # back to stable 1.0.0
]


@dataclass(frozen=True)
class LiveState:
    """A committed rollout state and the interval in which it may have been served."""

    stable: str
    canary: str | None
    percent: int
    stickiness: str
    since: float  # when the change producing it was sent
    until: float = math.inf  # when the next change was acknowledged

    def answer(self, key: str) -> tuple[str, str]:
        if self.canary and in_rollout(self.percent, PROMPT, {"userId": key}, self.stickiness):
            return self.canary, "canary"
        return self.stable, "stable"


@dataclass
class Timeline:
    states: list[LiveState] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def record(self, sent: float, acked: float, after: dict[str, Any]) -> None:
        if self.states:
            last = self.states[-1]
            self.states[-1] = replace(last, until=acked)
        self.states.append(LiveState(after["stable"], after["canary"], after["percent"],
                                     after["stickiness"], sent))

    def legitimate(self, key: str, start: float, end: float) -> set[tuple[str, str]]:
        return {s.answer(key) for s in self.states if s.since <= end and s.until >= start}


@dataclass(frozen=True)
class Observation:
    key: str
    start: float
    end: float
    version: str
    variant: str


def deployer(server: Server, timeline: Timeline, deadline: float) -> None:
    with server.client("deployer") as http:
        step = 0
        while time.monotonic() < deadline:
            action, body = CYCLE[step % len(CYCLE)]
            sent = time.monotonic()
            response = http.post(f"{BASE}/{action}", json=body)
            acked = time.monotonic()
            if response.status_code != 200:
                timeline.errors.append(f"{action} {body}: {response.status_code} "
                                       f"{response.text}")
                return
            timeline.record(sent, acked, response.json()["after"])
            step += 1
            time.sleep(CHANGE_EVERY_S)


def reader(server: Server, deadline: float, seen: list[Observation], errors: list[str],
           rng: random.Random) -> None:
    with server.client("reader") as http:
        for _ in range(MAX_REQUESTS_PER_CLIENT):
            if time.monotonic() >= deadline:
                return
            key = rng.choice(KEYS)
            start = time.monotonic()
            try:
                response = http.get(f"{BASE}/resolve", params={"key": key})
            except httpx.HTTPError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            end = time.monotonic()
            if response.status_code != 200:
                errors.append(f"{response.status_code}: {response.text[:200]}")
                continue
            body = response.json()
            seen.append(Observation(key, start, end, body["version"], body["variant"]))


def run_load(server: Server) -> tuple[Timeline, list[Observation], list[str]]:
    """One deployer thread and ``CLIENTS`` reader threads, each with its own connection."""
    timeline, seen, errors = Timeline(), [], []  # list.append is atomic: no lock needed
    with server.client("deployer") as http:
        initial = http.get("/v1/status", params={"env": "production"}).json()
    [state] = [s for s in initial if s["prompt"] == PROMPT]
    timeline.record(-math.inf, -math.inf, state)
    deadline = time.monotonic() + SECONDS
    threads = [threading.Thread(target=deployer, args=(server, timeline, deadline))]
    threads += [threading.Thread(target=reader,
                                 args=(server, deadline, seen, errors, random.Random(i)))
                for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SECONDS + 60)
    assert not any(t.is_alive() for t in threads), "a load thread did not finish"
    return timeline, seen, errors


def test_resolves_under_load_while_rollouts_change_are_all_legitimate(server: Server) -> None:
    timeline, seen, errors = run_load(server)
    changes = len(timeline.states) - 1
    print(f"\nload: {CLIENTS} clients, {SECONDS:.0f} s: {len(seen)} resolves "
          f"({len(seen) / SECONDS:.0f}/s), {changes} rollout changes, {len(errors)} errors")

    assert timeline.errors == []
    assert errors == [], f"{len(errors)} failed requests, e.g. {errors[:5]}"
    assert changes >= 3, "the deployer made too few changes to test anything"
    illegitimate = [o for o in seen
                    if (o.version, o.variant) not in timeline.legitimate(o.key, o.start, o.end)]
    assert illegitimate == [], f"{len(illegitimate)} answers were never live, e.g. " \
                               f"{illegitimate[:3]}"
    versions = {(o.version, o.variant) for o in seen}
    assert {("1.0.0", "stable"), ("1.1.0", "canary"), ("1.1.0", "stable")} <= versions
