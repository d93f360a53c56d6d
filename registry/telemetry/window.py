"""One window's outcome aggregate for one (prompt, version, variant): counts and sums only,
so windows add up across time and instances. The wire form is :meth:`Aggregate.to_dict`."""

from __future__ import annotations

from typing import Any

from promptctl.telemetry.buckets import bucket_index


class Aggregate:
    """What the calls of one (prompt, version, variant) in one window added up to."""

    __slots__ = ("calls", "cost", "down", "errors", "input_tokens", "latency", "latency_count",
                 "latency_sum", "output_tokens", "schema_checked", "schema_valid", "tool_checked",
                 "tool_valid", "up")

    def __init__(self) -> None:
        self.calls = 0
        self.errors: dict[str, int] = {}
        self.latency: dict[int, int] = {}
        self.latency_count = 0
        self.latency_sum = 0.0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost = 0.0
        self.up = 0
        self.down = 0
        self.schema_checked = 0
        self.schema_valid = 0
        self.tool_checked = 0
        self.tool_valid = 0

    def add(self, latency: float | None, input_tokens: int, output_tokens: int, cost: float,
            error: str | None, feedback: int) -> None:
        self.calls += 1
        if latency is not None:
            self.latency_count += 1
            self.latency_sum += latency
            index = bucket_index(latency)
            self.latency[index] = self.latency.get(index, 0) + 1
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.cost += cost
        if error is not None:
            self.errors[error] = self.errors.get(error, 0) + 1
        if feedback > 0:
            self.up += 1
        elif feedback < 0:
            self.down += 1

    def to_dict(self, prompt: str, version: str, variant: str, start: float) -> dict[str, Any]:
        return {"prompt": prompt, "version": version, "variant": variant, "start": start,
                "calls": self.calls, "errors": dict(self.errors),
                "latency": {"count": self.latency_count, "sum": round(self.latency_sum, 6),
                            "buckets": {str(k): v for k, v in sorted(self.latency.items())}},
                "input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                "cost": round(self.cost, 9), "feedback": {"up": self.up, "down": self.down},
                "schema": {"checked": self.schema_checked, "valid": self.schema_valid},
                "tool_args": {"checked": self.tool_checked, "valid": self.tool_valid}}
