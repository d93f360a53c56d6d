"""Review lint rules beyond the loader's: provider parameter ranges and prompt growth.

Token counts are an estimate of ``ceil(characters / 4)`` over the template
sources. ``tiktoken`` was evaluated: it downloads its encodings on first use and
bundles none, so it cannot work offline in CI; the chars/4 rule of thumb is
what OpenAI documents for English text and is stable across runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from promptctl.findings import Finding
from promptctl.loader import Located
from promptctl.model import ArtifactBase, ModelConfig, Prompt

if TYPE_CHECKING:
    from promptctl.review.allowlist import Allowlist

# provider -> parameter -> (low, high); None means unbounded on that side.
PARAM_RANGES: dict[str, dict[str, tuple[float | None, float | None]]] = {
    "openai": {"temperature": (0, 2), "top_p": (0, 1), "frequency_penalty": (-2, 2),
               "presence_penalty": (-2, 2), "max_tokens": (1, None),
               "max_completion_tokens": (1, None), "n": (1, None)},
    "azure": {"temperature": (0, 2), "top_p": (0, 1), "frequency_penalty": (-2, 2),
              "presence_penalty": (-2, 2), "max_tokens": (1, None)},
    "anthropic": {"temperature": (0, 1), "top_p": (0, 1), "top_k": (1, None),
                  "max_tokens": (1, None)},
    "google": {"temperature": (0, 2), "top_p": (0, 1), "top_k": (1, None),
               "max_output_tokens": (1, None)},
    "mistral": {"temperature": (0, 1.5), "top_p": (0, 1), "max_tokens": (1, None)},
}
DEFAULT_RANGES: dict[str, tuple[float | None, float | None]] = {
    "temperature": (0, 2), "top_p": (0, 1), "max_tokens": (1, None),
}
INTEGER_PARAMS = {"max_tokens", "max_completion_tokens", "max_output_tokens", "top_k", "n"}


@dataclass(frozen=True)
class GrowthPolicy:
    """Warn when a prompt grows by more than ``percent`` and at least ``min_tokens``."""

    percent: float = 20.0
    min_tokens: int = 50

    @classmethod
    def from_settings(cls, extra: dict[str, Any]) -> GrowthPolicy:
        review = extra.get("review") or {}
        return cls(float(review.get("token_growth_percent", cls.percent)),
                   int(review.get("token_growth_min_tokens", cls.min_tokens)))


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def prompt_tokens(prompt: Prompt) -> int:
    return sum(estimate_tokens(source) for _, source in prompt.template.parts())


def param_range_findings(item: Located) -> list[Finding]:
    model = item.artifact
    if not isinstance(model, ModelConfig):
        return []
    ranges = PARAM_RANGES.get(model.provider.lower(), DEFAULT_RANGES)
    findings = []
    for name, value in sorted(model.params.items()):
        if name not in ranges:
            continue
        low, high = ranges[name]
        wrong_type = not isinstance(value, int | float) or isinstance(value, bool) or (
            name in INTEGER_PARAMS and not isinstance(value, int))
        if wrong_type or (low is not None and value < low) or (high is not None and value > high):
            span = f"from {low} to {high}" if high is not None else f"≥ {low}"
            kind = "an integer " if name in INTEGER_PARAMS else "a number "
            findings.append(Finding(
                "error", "param-range", item.path,
                f"{name}={value!r} is out of range for provider {model.provider} "
                f"(must be {kind}{span})", f"params.{name}", f"use a value {span}"))
    return findings


def growth_findings(old: ArtifactBase | None, item: Located, policy: GrowthPolicy) -> list[Finding]:
    new = item.artifact
    if not isinstance(old, Prompt) or not isinstance(new, Prompt):
        return []
    before, after = prompt_tokens(old), prompt_tokens(new)
    grown = after - before
    if before == 0 or grown < policy.min_tokens or grown * 100 / before <= policy.percent:
        return []
    return [Finding(
        "warning", "prompt-growth", item.path,
        f"prompt grew from ~{before} to ~{after} tokens (+{grown * 100 / before:.0f}%, "
        f"threshold {policy.percent:g}%)", "template",
        "check the cost and latency impact, or raise [review] token_growth_percent")]


def lint_artifact(
    old: ArtifactBase | None, item: Located, policy: GrowthPolicy,
    allowlist: Allowlist | None = None,
) -> list[Finding]:
    """Every review lint rule for one new or changed artifact."""
    from promptctl.review.secrets import scan_artifact

    return [*scan_artifact(item, allowlist), *param_range_findings(item),
            *growth_findings(old, item, policy)]


def content_findings(artifacts: list[Located], allowlist: Allowlist | None = None) -> list[Finding]:
    """Secrets and out-of-range parameters in every artifact (what ``promptctl lint`` adds).

    Secrets whose hash ``allowlist`` names are notes, not errors.
    """
    from promptctl.review.secrets import scan_artifact

    findings: list[Finding] = []
    for item in artifacts:
        findings += scan_artifact(item, allowlist) + param_range_findings(item)
    return findings
