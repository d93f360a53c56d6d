"""Span attributes of a resolved bundle, named by OpenTelemetry's GenAI semantic conventions.

A tracing backend groups and filters LLM calls by the attributes it knows, so where the
conventions define a name, that name is used: ``gen_ai.request.model``,
``gen_ai.provider.name``, ``gen_ai.prompt.name`` and the request parameters
(``gen_ai.request.temperature``, ``...max_tokens``, ``...top_p``, ``...stop_sequences``...).
What only promptctl knows goes under ``promptctl.*``: the prompt's version, its variant
(stable or canary), the bundle's fingerprint, the change id of the rollout that served it and
the environment.

Version followed: **OpenTelemetry semantic conventions v1.41.1**, the gen-ai attribute
registry (``docs/registry/attributes/gen-ai.md``), where every attribute used here has
status *development*. From v1.42.0 on the core repository marks the ``gen_ai.*`` registry as
moved to ``open-telemetry/semantic-conventions-genai``, which keeps these names and their
status unchanged (checked at its commit 002c8a6, not yet released); the Python package
``opentelemetry-semantic-conventions`` 0.66b2 defines the same constants
(``opentelemetry.semconv._incubating.attributes.gen_ai_attributes``). Development
attributes may still be renamed: the names live in this one module, so a rename is one edit.

Standard library only: the SDK imports it; :mod:`promptctl.integrations.otel` puts these on
a span when ``opentelemetry-api`` is installed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from promptctl.snapshot import ResolvedBundle

__all__ = ["GEN_AI_PROVIDERS", "SEMCONV_VERSION", "span_attributes"]

SEMCONV_VERSION = "1.41.1"

# promptctl's `provider:` spellings -> the well-known `gen_ai.provider.name` values of the
# conventions; a provider not listed is passed through as written (custom values are allowed).
GEN_AI_PROVIDERS: Mapping[str, str] = {
    "openai": "openai", "anthropic": "anthropic",
    "bedrock": "aws.bedrock", "aws": "aws.bedrock", "aws.bedrock": "aws.bedrock",
    "azure": "azure.ai.openai", "azure_openai": "azure.ai.openai",
    "azure.ai.openai": "azure.ai.openai", "azure.ai.inference": "azure.ai.inference",
    "cohere": "cohere", "deepseek": "deepseek",
    "gemini": "gcp.gemini", "google": "gcp.gen_ai", "gcp.gemini": "gcp.gemini",
    "gcp.gen_ai": "gcp.gen_ai", "vertex_ai": "gcp.vertex_ai", "vertex": "gcp.vertex_ai",
    "gcp.vertex_ai": "gcp.vertex_ai", "groq": "groq", "watsonx": "ibm.watsonx.ai",
    "ibm.watsonx.ai": "ibm.watsonx.ai", "mistral": "mistral_ai", "mistral_ai": "mistral_ai",
    "perplexity": "perplexity", "xai": "x_ai", "x_ai": "x_ai",
}

# model params -> the conventions' request attributes (and the type each one has there)
_REQUEST_PARAMS: Mapping[str, tuple[str, type]] = {
    "temperature": ("gen_ai.request.temperature", float),
    "top_p": ("gen_ai.request.top_p", float),
    "top_k": ("gen_ai.request.top_k", float),
    "max_tokens": ("gen_ai.request.max_tokens", int),
    "max_completion_tokens": ("gen_ai.request.max_tokens", int),
    "max_output_tokens": ("gen_ai.request.max_tokens", int),
    "seed": ("gen_ai.request.seed", int),
    "frequency_penalty": ("gen_ai.request.frequency_penalty", float),
    "presence_penalty": ("gen_ai.request.presence_penalty", float),
    "n": ("gen_ai.request.choice.count", int),
}


def span_attributes(bundle: ResolvedBundle) -> dict[str, str | int | float | list[str]]:
    """The attributes to set on the span of an LLM call made with ``bundle`` (values are the
    primitive types an OpenTelemetry attribute accepts)."""
    attributes: dict[str, str | int | float | list[str]] = {
        "gen_ai.request.model": bundle.model,
        "gen_ai.provider.name": GEN_AI_PROVIDERS.get(bundle.provider.lower(), bundle.provider),
        "gen_ai.prompt.name": bundle.name,
    }
    attributes.update(_request_params(bundle.bundle.model.get("params") or {}))
    attributes.update({
        "promptctl.prompt.version": bundle.version,
        "promptctl.prompt.variant": bundle.variant,
        "promptctl.prompt.fingerprint": bundle.fingerprint,
        "promptctl.change_id": bundle.change_id,
        "promptctl.environment": bundle.env,
    })
    return attributes


def _request_params(params: Mapping[str, Any]) -> dict[str, str | int | float | list[str]]:
    out: dict[str, str | int | float | list[str]] = {}
    for param, value in params.items():
        if param == "stop":
            stops = [value] if isinstance(value, str) else value
            if isinstance(stops, list) and all(isinstance(s, str) for s in stops):
                out["gen_ai.request.stop_sequences"] = list(stops)
            continue
        known = _REQUEST_PARAMS.get(param)
        if known is None or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        name, kind = known
        if kind is int and not isinstance(value, int):
            continue
        out[name] = kind(value)
    return out
