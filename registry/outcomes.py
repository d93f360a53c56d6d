"""Taking in what SDK instances report: outcome windows and each instance's fleet record.

A report is accepted whole or refused whole (a ``ValidationError`` naming the first problem,
HTTP 422), so nothing of a bad report is counted: a latency or count that cannot be (negative,
more errors than calls, a bucket outside the scheme), a prompt version that is not released,
a window from the future or older than the retention. The HTTP route checks the shape and
the caller (a reader token reports to its own environment only); this module checks what
the numbers mean, then stores the windows (a window sent twice is stored once) and the
instance's record in one transaction.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from promptctl.errors import ConflictError, ValidationError
from promptctl.limits import DEFAULT_LIMITS, Limits
from promptctl.store import Store, on_duplicate
from promptctl.store import outcomes as rows
from promptctl.store.tables import FleetInstance
from promptctl.telemetry.buckets import MAX_INDEX

VARIANTS = ("stable", "canary")
SOURCES = ("stream", "poll", "fallback")
MAX_TOKENS_PER_CALL = 10_000_000
MAX_COST_PER_CALL = 1_000.0
MAX_LATENCY = 86_400.0  # seconds: a call longer than a day is not a latency
FUTURE_SLACK = 300.0  # seconds an instance's clock may run ahead of the server's


@dataclass(frozen=True)
class Ingested:
    windows: int
    duplicates: int
    instance: str
    fresh: Sequence[Mapping[str, Any]] = ()  # the windows stored now (not seen before)


class ReleasedVersions:
    """Which prompt versions are released: cached once seen (a release is never undone)."""

    def __init__(self, store: Store, max_size: int = 100_000) -> None:
        self.store = store
        self._known: set[tuple[str, str]] = set()
        self._max = max_size
        self._lock = threading.Lock()

    def unknown(self, pairs: set[tuple[str, str]]) -> set[tuple[str, str]]:
        missing = pairs - self._known
        if not missing:
            return set()
        with self.store.session() as session:
            found = rows.released_prompt_versions(session, {p for p, _ in missing})
        with self._lock:
            if len(self._known) + len(found) > self._max:
                self._known.clear()
            self._known |= found
        return missing - found


def ingest(store: Store, released: ReleasedVersions, env: str, report: Mapping[str, Any], *,
           limits: Limits = DEFAULT_LIMITS, now: float | None = None) -> Ingested:
    """Check ``report`` (the route's parsed body) and store it; ValidationError if bad."""
    now = time.time() if now is None else now
    instance = report["instance"]
    windows: Sequence[Mapping[str, Any]] = report.get("windows") or []
    seconds = float(report["window_seconds"])
    if len(windows) > limits.max_outcome_windows:
        raise ValidationError(f"a report may carry at most {limits.max_outcome_windows} "
                              f"windows, this one has {len(windows)}")
    if instance.get("source") not in SOURCES:
        raise ValidationError(f"instance.source must be one of {', '.join(SOURCES)}")
    if not 0 < seconds <= 3600:
        raise ValidationError("window_seconds must be more than 0 and at most 3600")
    for index, window in enumerate(windows):
        problem = window_problem(window, now, limits)
        if problem:
            raise ValidationError(f"windows[{index}] ({window.get('prompt')}@"
                                  f"{window.get('version')}): {problem}")
    unknown = released.unknown({(w["prompt"], w["version"]) for w in windows})
    if unknown:
        prompt, version = sorted(unknown)[0]
        raise ValidationError(f"windows: prompt {prompt}@{version} is not released "
                              f"({len(unknown)} unknown version(s)); nothing was counted")
    instance_id = str(instance["id"])
    raced = ConflictError(f"instance {instance_id} sent two reports at once; send again")
    with on_duplicate(raced), store.write() as session:
        stored = rows.existing_windows(session, env, instance_id, [w["start"] for w in windows])
        fresh = [w for w in windows if _key(w) not in stored]
        rows.add_windows(session, (_row(env, instance_id, seconds, w) for w in fresh))
        _save_instance(session, env, instance, report.get("dropped") or {}, now)
    return Ingested(windows=len(fresh), duplicates=len(windows) - len(fresh),
                    instance=instance_id, fresh=fresh)


def window_problem(w: Mapping[str, Any], now: float, limits: Limits) -> str | None:
    """What makes one window impossible (None: it is fine)."""
    calls = w["calls"]
    latency, schema, tools, feedback = w["latency"], w["schema"], w["tool_args"], w["feedback"]
    buckets: Mapping[str, int] = latency["buckets"]
    problems = [
        (w["variant"] not in VARIANTS, f"variant must be one of {', '.join(VARIANTS)}"),
        (not math.isfinite(w["start"]) or w["start"] > now + FUTURE_SLACK,
         "start is in the future"),
        (w["start"] < now - limits.outcome_retention_seconds, "start is older than the "
         "retention (limits.outcome_retention_seconds)"),
        (calls > limits.max_calls_per_window,
         f"calls above {limits.max_calls_per_window} per window"),
        (sum(w["errors"].values()) > calls, "more errors than calls"),
        (latency["count"] > calls, "more latencies than calls"),
        (sum(buckets.values()) != latency["count"], "latency buckets do not add up to count"),
        (any(not k.isdigit() or int(k) > MAX_INDEX for k in buckets),
         f"latency bucket outside 0..{MAX_INDEX}"),
        (not math.isfinite(latency["sum"]) or latency["sum"] > latency["count"] * MAX_LATENCY,
         "latency sum out of range"),
        (w["input_tokens"] + w["output_tokens"] > calls * MAX_TOKENS_PER_CALL,
         "more tokens than calls could use"),
        (not math.isfinite(w["cost"]) or w["cost"] > calls * MAX_COST_PER_CALL,
         "cost out of range"),
        (feedback["up"] + feedback["down"] > calls, "more feedback than calls"),
        (schema["valid"] > schema["checked"] or schema["checked"] > calls,
         "schema counts out of range"),
        (tools["valid"] > tools["checked"], "tool_args valid above checked"),
    ]
    return next((message for bad, message in problems if bad), None)


def _key(w: Mapping[str, Any]) -> tuple[str, str, str, float]:
    return (w["prompt"], w["version"], w["variant"], float(w["start"]))


def _row(env: str, instance_id: str, seconds: float, w: Mapping[str, Any]) -> dict[str, Any]:
    """The ``outcome_windows`` row of one window."""
    latency = w["latency"]
    return {
        "env": env, "prompt": w["prompt"], "version": w["version"], "variant": w["variant"],
        "instance_id": instance_id, "start": float(w["start"]), "seconds": seconds,
        "calls": w["calls"], "errors": sum(w["errors"].values()),
        "error_kinds": json.dumps(w["errors"], sort_keys=True),
        "latency_count": latency["count"], "latency_sum": float(latency["sum"]),
        "latency_buckets": json.dumps(latency["buckets"], sort_keys=True),
        "input_tokens": w["input_tokens"], "output_tokens": w["output_tokens"],
        "cost": float(w["cost"]), "feedback_up": w["feedback"]["up"],
        "feedback_down": w["feedback"]["down"], "schema_checked": w["schema"]["checked"],
        "schema_valid": w["schema"]["valid"], "tool_checked": w["tool_args"]["checked"],
        "tool_valid": w["tool_args"]["valid"]}


def _save_instance(session: Any, env: str, instance: Mapping[str, Any],
                   dropped: Mapping[str, int], now: float) -> None:
    row = rows.fleet_row(session, env, str(instance["id"])) or FleetInstance(
        env=env, instance_id=str(instance["id"]), app="", sdk_version="", host="",
        change_id=0, source="poll", swapped_at=0.0, started_at=0.0, last_seen=now,
        dropped="{}")
    row.app = str(instance.get("app") or "")
    row.sdk_version = str(instance.get("sdk_version") or "")
    row.host = str(instance.get("host") or "")
    row.change_id = int(instance["change_id"])
    row.source = str(instance["source"])
    row.swapped_at = float(instance.get("swapped_at") or 0.0)
    row.started_at = float(instance.get("started_at") or 0.0)
    row.last_seen = now
    row.dropped = json.dumps(dict(dropped), sort_keys=True)
    rows.save_instance(session, row)
