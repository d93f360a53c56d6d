"""Deciding a plan step from canary and stable figures: hold, advance, or roll back.

Pure functions over numbers, so every rule is tested without a server: too few samples
(in either variant) always holds, and never advances or breaches; a guard with no data on
either side (no outputs checked, say) cannot breach; a breach names the guard, both
figures and the threshold.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from promptctl.plans import GUARDS, PlanSpec
from promptctl.telemetry.buckets import merge, quantile


@dataclass
class Figures:
    """One variant's outcomes over a window of time, summed over every instance."""

    calls: int = 0
    errors: int = 0
    latency: dict[int, int] = field(default_factory=dict)
    tokens: int = 0
    cost: float = 0.0
    feedback_down: int = 0
    schema_checked: int = 0
    schema_valid: int = 0
    tool_checked: int = 0
    tool_valid: int = 0

    def add_row(self, row: Any) -> None:
        self.calls += row.calls
        self.errors += row.errors
        merge(self.latency, {int(k): v for k, v in json.loads(row.latency_buckets).items()})
        self.tokens += row.input_tokens + row.output_tokens
        self.cost += row.cost
        self.feedback_down += row.feedback_down
        self.schema_checked += row.schema_checked
        self.schema_valid += row.schema_valid
        self.tool_checked += row.tool_checked
        self.tool_valid += row.tool_valid

    def metric(self, name: str) -> float | None:
        """A guard's figure (rates as fractions); None when there is no data for it."""
        calls = self.calls
        values: dict[str, float | None] = {
            "error_rate": self.errors / calls if calls else None,
            "p95_latency": quantile(self.latency, 0.95),
            "cost_per_call": self.cost / calls if calls else None,
            "tokens_per_call": self.tokens / calls if calls else None,
            "schema_valid_rate": (self.schema_valid / self.schema_checked
                                  if self.schema_checked else None),
            "tool_args_valid_rate": (self.tool_valid / self.tool_checked
                                     if self.tool_checked else None),
            "negative_feedback_rate": self.feedback_down / calls if calls else None,
        }
        return values[name]

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"calls": self.calls}
        for name in GUARDS:
            value = self.metric(name)
            out[name] = None if value is None else round(value, 6)
        return out


def figures_of(rows: Iterable[Any]) -> Figures:
    total = Figures()
    for row in rows:
        total.add_row(row)
    return total


@dataclass(frozen=True)
class Decision:
    action: str  # "hold" | "advance" | "breach" | "timeout"
    reason: str
    breaches: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "reason": self.reason, "breaches": list(self.breaches)}


def breach_of(name: str, threshold: float, canary: float | None, stable: float | None
              ) -> str | None:
    """How guard ``name`` is breached (a sentence with the figures), or None."""
    if canary is None or stable is None:
        return None
    guard = GUARDS[name]
    if guard.unit == "points":
        worse_by = (canary - stable) * 100 if guard.worse == "higher" else (stable - canary) * 100
        if worse_by > threshold:
            return (f"{name} canary {canary * 100:.2f}% vs stable {stable * 100:.2f}% "
                    f"({worse_by:+.2f} points worse, limit {threshold:g})")
        return None
    ratio = (float("inf") if canary > 0 else 1.0) if stable == 0 else canary / stable
    if ratio > threshold:
        return (f"{name} canary {canary:.6g} vs stable {stable:.6g} "
                f"(ratio {ratio:.2f}, limit {threshold:g})")
    return None


def decide(spec: PlanSpec, canary: Figures, stable: Figures, held: float) -> Decision:
    """What to do at this step, ``held`` seconds after it started."""
    low = min(canary.calls, stable.calls)
    if low < spec.min_samples:
        why = (f"too few samples: canary {canary.calls}, stable {stable.calls} calls "
               f"(need {spec.min_samples} each)")
        if spec.max_hold_seconds is not None and held >= spec.max_hold_seconds:
            return Decision("timeout", f"{why} after {held:.1f} s (max_hold_seconds "
                            f"{spec.max_hold_seconds:g})")
        return Decision("hold", why)
    breaches = tuple(b for name, threshold in spec.guards.items()
                     if (b := breach_of(name, threshold, canary.metric(name),
                                        stable.metric(name))) is not None)
    if breaches:
        return Decision("breach", "; ".join(breaches), breaches)
    if held < spec.hold_seconds:
        return Decision("hold", f"guards pass; holding {spec.hold_seconds - held:.1f} s more")
    return Decision("advance", f"guards pass over {canary.calls} canary and {stable.calls} "
                    f"stable calls after {held:.1f} s")


def figures_doc(canary: Figures, stable: Figures) -> dict[str, Mapping[str, Any]]:
    return {"canary": canary.summary(), "stable": stable.summary()}
