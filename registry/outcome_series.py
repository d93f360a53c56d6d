"""Outcome figures over time, canary beside stable: what the dashboard draws as small charts.

The windows the SDKs report (``outcome_windows``) are added up per fixed time bucket, per
version, with the same arithmetic the guards use (:func:`promptctl.guard_eval.figures_of`),
so a chart and a guard's verdict never disagree about a figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from promptctl.guard_eval import figures_of
from promptctl.store import Store
from promptctl.store import outcomes as rows

SERIES_METRICS = ("error_rate", "p95_latency", "cost_per_call", "schema_valid_rate")


@dataclass(frozen=True)
class SeriesPoint:
    variant: str  # "canary" | "stable"
    version: str
    start: float  # epoch seconds, the bucket's start
    figures: dict[str, Any]  # calls and every guard figure (rates as fractions)


def outcome_series(store: Store, env: str, prompt: str, versions: dict[str, str], *,
                   since: float, bucket_seconds: float) -> list[SeriesPoint]:
    """Per bucket of ``bucket_seconds`` since ``since``: the figures of each version in
    ``versions`` (variant → version, e.g. ``{"stable": "1.0.0", "canary": "1.1.0"}``)."""
    points: list[SeriesPoint] = []
    with store.session() as session:
        for variant, version in versions.items():
            windows = rows.windows_since(session, env, prompt, version, variant, since)
            buckets: dict[float, list[Any]] = {}
            for window in windows:
                at = since + (window.start - since) // bucket_seconds * bucket_seconds
                buckets.setdefault(at, []).append(window)
            points += [SeriesPoint(variant, version, at, figures_of(found).summary())
                       for at, found in sorted(buckets.items())]
    return points
