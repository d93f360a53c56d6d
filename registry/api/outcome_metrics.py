"""Prometheus series of the outcomes SDKs report, per (env, prompt, version, variant).

Series are created only for windows :func:`promptctl.outcomes.ingest` accepted, so only for
released versions of known prompts in known environments: no client can grow ``/metrics``
by reporting invented names. Each replica counts what it took in; sum over replicas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter

LABELS = ["env", "prompt", "version", "variant"]
_FIELDS = {
    "calls": ("promptctl_outcome_calls", "LLM calls reported by SDKs"),
    "errors": ("promptctl_outcome_errors", "LLM calls reported as failed"),
    "latency_seconds": ("promptctl_outcome_latency_seconds",
                        "Sum of reported call latencies (divide by _calls for the mean)"),
    "input_tokens": ("promptctl_outcome_input_tokens", "Input tokens reported"),
    "output_tokens": ("promptctl_outcome_output_tokens", "Output tokens reported"),
    "cost": ("promptctl_outcome_cost", "Cost reported (the app's currency)"),
    "feedback_negative": ("promptctl_outcome_feedback_negative", "Negative feedback reported"),
    "schema_checked": ("promptctl_outcome_schema_checked", "Outputs checked against the schema"),
    "schema_valid": ("promptctl_outcome_schema_valid", "Outputs that matched the schema"),
    "tool_args_checked": ("promptctl_outcome_tool_args_checked", "Tool calls checked"),
    "tool_args_valid": ("promptctl_outcome_tool_args_valid", "Tool calls with valid arguments"),
}


class OutcomeMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.counters = {key: Counter(name, doc, LABELS, registry=registry)
                         for key, (name, doc) in _FIELDS.items()}

    def observe(self, env: str, windows: Sequence[Mapping[str, Any]]) -> None:
        for w in windows:
            labels = (env, w["prompt"], w["version"], w["variant"])
            values = {"calls": w["calls"], "errors": sum(w["errors"].values()),
                      "latency_seconds": w["latency"]["sum"], "input_tokens": w["input_tokens"],
                      "output_tokens": w["output_tokens"], "cost": w["cost"],
                      "feedback_negative": w["feedback"]["down"],
                      "schema_checked": w["schema"]["checked"],
                      "schema_valid": w["schema"]["valid"],
                      "tool_args_checked": w["tool_args"]["checked"],
                      "tool_args_valid": w["tool_args"]["valid"]}
            for key, value in values.items():
                self.counters[key].labels(*labels).inc(value)
