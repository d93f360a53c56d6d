"""What a run produced, bound to its evidence: per case and summed up.

A :class:`RunResult` names the bundle fingerprint, the suite's content hash, the provider's
identity and each judge's fingerprint, so a stored result says exactly what was measured.
These are plain data (``to_dict``/``from_dict``): stored as JSON, sent over the API and
printed by ``--json`` alike.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from promptctl.evals.assertions import AssertionResult


@dataclass(frozen=True)
class CaseResult:
    name: str
    case_hash: str
    passed: bool
    score: float
    output: str
    latency_ms: float
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost: float | None = None
    cached: bool = False
    error: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    assertions: list[AssertionResult] = field(default_factory=list)

    @property
    def tokens(self) -> int | None:
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return (self.input_tokens or 0) + (self.output_tokens or 0)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["assertions"] = [a.to_dict() for a in self.assertions]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseResult:
        fields: dict[str, Any] = {k: data.get(k) for k in cls.__dataclass_fields__ if k in data}
        fields["assertions"] = [AssertionResult.from_dict(a) for a in data.get("assertions", [])]
        fields["tool_calls"] = list(data.get("tool_calls") or [])
        return cls(**fields)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100); ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Summary:
    cases: int
    passed: int
    pass_rate: float
    per_assertion: dict[str, float]
    p50_latency_ms: float | None
    p95_latency_ms: float | None
    p95_tokens: float | None
    cost_per_case: float | None
    total_cost: float | None
    errors: int
    cached: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Summary:
        values: dict[str, Any] = {k: data.get(k) for k in cls.__dataclass_fields__}
        return cls(**values)

    @classmethod
    def of(cls, cases: list[CaseResult]) -> Summary:
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for case in cases:
            for a in case.assertions:
                counts[a.label][0] += a.passed
                counts[a.label][1] += 1
        latencies = [c.latency_ms for c in cases]
        tokens = [float(c.tokens) for c in cases if c.tokens is not None]
        costs = [c.cost for c in cases if c.cost is not None]
        passed = sum(c.passed for c in cases)
        return cls(
            cases=len(cases), passed=passed,
            pass_rate=round(passed / len(cases), 6) if cases else 0.0,
            per_assertion={k: round(v[0] / v[1], 6) for k, v in sorted(counts.items())},
            p50_latency_ms=percentile(latencies, 50), p95_latency_ms=percentile(latencies, 95),
            p95_tokens=percentile(tokens, 95),
            cost_per_case=round(sum(costs) / len(costs), 10) if costs else None,
            total_cost=round(sum(costs), 10) if costs else None,
            errors=sum(c.error is not None for c in cases),
            cached=sum(c.cached for c in cases))


@dataclass
class RunResult:
    """One run of one suite version on one bundle."""

    suite: str
    suite_version: str
    suite_hash: str
    prompt: str
    version: str
    fingerprint: str
    provider: dict[str, Any]
    judges: list[dict[str, str]]
    cases: list[CaseResult]
    summary: Summary
    stopped: str | None = None
    """Why the run ended before every case ran (``budget``), else None."""
    spent: float = 0.0
    """What this run's calls cost (cached answers cost nothing)."""

    def by_name(self) -> dict[str, CaseResult]:
        return {c.name: c for c in self.cases}

    def identity(self) -> dict[str, Any]:
        """Everything a result is bound to (no cases, no numbers)."""
        return {"suite": self.suite, "suite_version": self.suite_version,
                "suite_hash": self.suite_hash, "prompt": self.prompt, "version": self.version,
                "fingerprint": self.fingerprint, "provider": self.provider,
                "judges": self.judges}

    def to_dict(self, *, cases: bool = True) -> dict[str, Any]:
        data = self.identity() | {"summary": self.summary.to_dict(), "stopped": self.stopped,
                                  "spent": self.spent}
        if cases:
            data["cases"] = [c.to_dict() for c in self.cases]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        return cls(suite=data["suite"], suite_version=data["suite_version"],
                   suite_hash=data["suite_hash"], prompt=data["prompt"],
                   version=data["version"], fingerprint=data["fingerprint"],
                   provider=dict(data.get("provider") or {}),
                   judges=list(data.get("judges") or []),
                   cases=[CaseResult.from_dict(c) for c in data.get("cases") or []],
                   summary=Summary.from_dict(data["summary"]), stopped=data.get("stopped"),
                   spent=float(data.get("spent") or 0.0))
