"""A run against its baseline, and the suite's thresholds deciding pass or fail.

The baseline is the version live in an environment (or any version) run through the same
suite and provider: its answers usually come from the cache, so it costs nothing. What is
compared is what the checklists ask for: regressions by case name (passed on the baseline,
fail now), the pass-rate delta, the tail (p95 latency, p95 tokens) and cost per case.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from promptctl.evals.results import RunResult
from promptctl.evals.suite import Thresholds


@dataclass(frozen=True)
class Delta:
    """A number on the baseline and now; ``change`` is relative (0.4: 40% more)."""

    baseline: float | None
    current: float | None

    @property
    def change(self) -> float | None:
        if self.baseline is None or self.current is None:
            return None
        if self.baseline == 0:
            return 0.0 if self.current == 0 else float("inf")
        return (self.current - self.baseline) / self.baseline

    def to_dict(self) -> dict[str, Any]:
        change = self.change
        return {"baseline": self.baseline, "current": self.current,
                "change": None if change is None or change == float("inf") else
                round(change, 6)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Delta:
        return cls(data.get("baseline"), data.get("current"))


@dataclass(frozen=True)
class Comparison:
    baseline_version: str
    baseline_fingerprint: str
    env: str | None
    regressions: list[str]
    fixed: list[str]
    pass_rate: Delta
    p95_latency_ms: Delta
    p95_tokens: Delta
    cost_per_case: Delta

    @property
    def pass_rate_delta(self) -> float:
        return round((self.pass_rate.current or 0) - (self.pass_rate.baseline or 0), 6)

    def to_dict(self) -> dict[str, Any]:
        return {"baseline_version": self.baseline_version,
                "baseline_fingerprint": self.baseline_fingerprint, "env": self.env,
                "regressions": self.regressions, "fixed": self.fixed,
                "pass_rate_delta": self.pass_rate_delta,
                "pass_rate": self.pass_rate.to_dict(),
                "p95_latency_ms": self.p95_latency_ms.to_dict(),
                "p95_tokens": self.p95_tokens.to_dict(),
                "cost_per_case": self.cost_per_case.to_dict()}


def compare(current: RunResult, baseline: RunResult, env: str | None = None) -> Comparison:
    before, now = baseline.by_name(), current.by_name()
    regressions = [n for n, c in now.items() if not c.passed and n in before
                   and before[n].passed]
    fixed = [n for n, c in now.items() if c.passed and n in before and not before[n].passed]
    b, c = baseline.summary, current.summary
    return Comparison(
        baseline_version=baseline.version, baseline_fingerprint=baseline.fingerprint, env=env,
        regressions=regressions, fixed=fixed, pass_rate=Delta(b.pass_rate, c.pass_rate),
        p95_latency_ms=Delta(b.p95_latency_ms, c.p95_latency_ms),
        p95_tokens=Delta(b.p95_tokens, c.p95_tokens),
        cost_per_case=Delta(b.cost_per_case, c.cost_per_case))


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GateOutcome:
    passed: bool
    checks: list[Check] = field(default_factory=list)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "checks": [c.to_dict() for c in self.checks]}


def decide(thresholds: Thresholds, run: RunResult, comparison: Comparison | None,
           expected_cases: int) -> GateOutcome:
    """The suite's thresholds over the run (absolute) and the comparison (relative)."""
    checks = [_complete(run, expected_cases), _pass_rate(thresholds, run)]
    s = run.summary
    if thresholds.max_cost_per_case is not None:
        value = s.cost_per_case
        checks.append(Check("max_cost_per_case", value is not None
                            and value <= thresholds.max_cost_per_case,
                            f"cost per case {_usd(value)} (at most "
                            f"{_usd(thresholds.max_cost_per_case)})"))
    if thresholds.max_p95_latency_ms is not None:
        value = s.p95_latency_ms
        checks.append(Check("max_p95_latency_ms", value is not None
                            and value <= thresholds.max_p95_latency_ms,
                            f"p95 latency {_ms(value)} (at most "
                            f"{_ms(thresholds.max_p95_latency_ms)})"))
    if comparison is not None:
        checks += _relative(thresholds, comparison)
    return GateOutcome(all(c.passed for c in checks), checks)


def _complete(run: RunResult, expected: int) -> Check:
    if run.stopped:
        return Check("complete", False, f"stopped by the {run.stopped} after "
                     f"{run.summary.cases} of {expected} cases")
    return Check("complete", run.summary.cases == expected,
                 f"{run.summary.cases} of {expected} cases ran")


def _pass_rate(t: Thresholds, run: RunResult) -> Check:
    s = run.summary
    return Check("min_pass_rate", s.pass_rate >= t.min_pass_rate,
                 f"pass rate {s.pass_rate:.1%} ({s.passed}/{s.cases}; at least "
                 f"{t.min_pass_rate:.1%})")


def _relative(t: Thresholds, cmp: Comparison) -> list[Check]:
    checks = []
    if t.max_regressions is not None:
        n = len(cmp.regressions)
        names = ", ".join(cmp.regressions[:10]) + (" ..." if n > 10 else "")
        checks.append(Check("max_regressions", n <= t.max_regressions,
                            f"{n} regression(s) against {cmp.baseline_version}"
                            f"{': ' + names if n else ''} (at most {t.max_regressions})"))
    for name, bound, delta, show in (
            ("max_cost_increase", t.max_cost_increase, cmp.cost_per_case, _usd),
            ("max_p95_latency_increase", t.max_p95_latency_increase, cmp.p95_latency_ms, _ms),
            ("max_p95_tokens_increase", t.max_p95_tokens_increase, cmp.p95_tokens, _num)):
        if bound is None:
            continue
        change = delta.change
        ok = change is not None and change <= bound
        what = name.removeprefix("max_").removesuffix("_increase").replace("_", " ")
        checks.append(Check(name, ok, f"{what} {_pct(change)} ({show(delta.baseline)} → "
                            f"{show(delta.current)}; at most {bound:+.1%})"))
    return checks


def _pct(change: float | None) -> str:
    if change is None:
        return "unknown"
    return "+∞" if change == float("inf") else f"{change:+.1%}"


def _usd(value: float | None) -> str:
    return "n/a" if value is None else f"${value:.6f}"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} ms"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"
