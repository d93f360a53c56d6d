"""Rollout plans: named in ``promptctl.toml`` (a reviewed file in git), started with
``promote NAME VERSION --env E --plan P``, then advanced or rolled back by the evaluator.

    [plans.careful]
    steps = [1, 10, 50, 100]      # canary percents; the last is 100: the version becomes stable
    hold_seconds = 600            # at least this long at each step
    min_samples = 500             # calls per variant per step before anything is decided
    max_hold_seconds = 3600       # optional: still too few samples by then -> roll back
    [plans.careful.guards]        # canary vs stable over the same window; breach -> roll back
    error_rate = 2.0              # percentage points more failed calls
    p95_latency = 1.3             # ratio of p95 latencies
    cost_per_call = 1.2           # ratio
    tokens_per_call = 1.3         # ratio (input + output)
    schema_valid_rate = 2.0       # percentage points fewer outputs matching output_schema
    tool_args_valid_rate = 2.0    # percentage points fewer tool calls with valid arguments
    negative_feedback_rate = 3.0  # percentage points more -1 feedback

Standard library only: the configuration (every command) validates plans with
:func:`plan_problems`, and the remote service sends a :class:`PlanSpec` as JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple


class Guard(NamedTuple):
    unit: str  # "points" (percentage points) or "ratio"
    worse: str  # "higher" or "lower": which way the canary is worse than stable
    what: str


GUARDS: dict[str, Guard] = {
    "error_rate": Guard("points", "higher", "share of calls that failed"),
    "p95_latency": Guard("ratio", "higher", "95th percentile latency"),
    "cost_per_call": Guard("ratio", "higher", "cost per call"),
    "tokens_per_call": Guard("ratio", "higher", "input + output tokens per call"),
    "schema_valid_rate": Guard("points", "lower", "outputs matching output_schema"),
    "tool_args_valid_rate": Guard("points", "lower", "tool calls with valid arguments"),
    "negative_feedback_rate": Guard("points", "higher", "calls with -1 feedback"),
}
PLAN_KEYS = ("steps", "hold_seconds", "min_samples", "max_hold_seconds", "guards")
MAX_STEPS = 20


@dataclass(frozen=True)
class PlanSpec:
    name: str
    steps: tuple[int, ...]
    hold_seconds: float
    min_samples: int
    guards: dict[str, float] = field(default_factory=dict)
    max_hold_seconds: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"steps": list(self.steps)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanSpec:
        """A spec from its JSON form (a request body, a stored plan): checked again."""
        from promptctl.errors import UsageError

        name = data.get("name")
        if not isinstance(name, str) or not name or len(name) > 64:
            raise UsageError("a plan needs a name of 1-64 characters")
        table = {k: v for k, v in data.items() if k != "name"}
        problems = plan_problems(name, table)
        if problems:
            raise UsageError(f"invalid plan {name!r}: " + "; ".join(problems))
        return build_plan(name, table)


def _number(value: object, minimum: float, *, integer: bool = False) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if integer and not isinstance(value, int):
        return False
    return value == value and value not in (float("inf"), float("-inf")) and value >= minimum


def plan_problems(name: str, table: object) -> list[str]:
    """Every problem of plan ``name``'s table (empty: it is valid)."""
    where = f"plans.{name}"
    if not isinstance(table, Mapping):
        return [f"{where} must be a table ([plans.{name}])"]
    problems = [f"{where} has no key {key!r} (known: {', '.join(PLAN_KEYS)})"
                for key in table if key not in PLAN_KEYS]
    steps = table.get("steps")
    if (not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS
            or not all(_number(s, 1, integer=True) and s <= 100 for s in steps)):
        problems.append(f"{where}.steps must be a list of 1-{MAX_STEPS} integer percents "
                        "from 1 to 100")
    elif steps != sorted(set(steps)) or steps[-1] != 100 or steps[0] == 100:
        problems.append(f"{where}.steps must rise strictly and end at 100, got {steps}")
    for key, integer in (("hold_seconds", False), ("min_samples", True)):
        if key not in table:
            problems.append(f"{where}.{key} is required")
        elif not _number(table[key], 0, integer=integer):
            problems.append(f"{where}.{key} must be a number ≥ 0, got {table[key]!r}")
    if table.get("max_hold_seconds") is not None:
        if not _number(table["max_hold_seconds"], 0):
            problems.append(f"{where}.max_hold_seconds must be a number ≥ 0")
        elif _number(table.get("hold_seconds"), 0) and \
                table["max_hold_seconds"] < table["hold_seconds"]:
            problems.append(f"{where}.max_hold_seconds must be at least hold_seconds")
    guards = table.get("guards", {})
    if not isinstance(guards, Mapping):
        problems.append(f"{where}.guards must be a table ([plans.{name}.guards])")
        return problems
    for key, value in guards.items():
        if key not in GUARDS:
            problems.append(f"{where}.guards has no guard {key!r} "
                            f"(known: {', '.join(GUARDS)})")
        elif not _number(value, 0) or (GUARDS[key].unit == "ratio" and value < 1):
            unit = "a ratio ≥ 1" if GUARDS[key].unit == "ratio" else "percentage points ≥ 0"
            problems.append(f"{where}.guards.{key} must be {unit}, got {value!r}")
    return problems


def build_plan(name: str, table: Mapping[str, Any]) -> PlanSpec:
    """A :class:`PlanSpec` from a table :func:`plan_problems` found valid."""
    max_hold = table.get("max_hold_seconds")
    return PlanSpec(name=name, steps=tuple(int(s) for s in table["steps"]),
                    hold_seconds=float(table["hold_seconds"]),
                    min_samples=int(table["min_samples"]),
                    guards={k: float(v) for k, v in dict(table.get("guards", {})).items()},
                    max_hold_seconds=None if max_hold is None else float(max_hold))


def configured_plan(extra: Mapping[str, Any], name: str) -> PlanSpec:
    """Plan ``name`` of the configuration (``Settings.extra["plans"]``, validated)."""
    from promptctl.errors import NotFoundError

    plans = extra.get("plans") or {}
    if name not in plans:
        known = ", ".join(sorted(plans)) or "none"
        raise NotFoundError(f"no plan named {name!r} in promptctl.toml [plans] "
                            f"(known: {known})")
    return build_plan(name, plans[name])
