"""A resolved bundle's OpenTelemetry attributes, recorded by the real OpenTelemetry SDK
(its in-memory exporter): the GenAI semantic conventions' names, and promptctl's own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as semconv

from promptctl.integrations.otel import annotate_current_span, prompt_span
from promptctl.snapshot import ResolvedBundle
from promptctl.span_attributes import span_attributes
from tests.runtime_fixtures import offline_registry


@pytest.fixture
def recorded() -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


@pytest.fixture
def canary_bundle() -> ResolvedBundle:
    reg = offline_registry(percent=50)
    return next(b for b in (reg.get("support", key=f"u{i}") for i in range(100))
                if b.variant == "canary")


def test_span_attributes_use_the_genai_convention_names_and_promptctl_for_the_rest(
        canary_bundle: ResolvedBundle) -> None:
    attrs = canary_bundle.span_attributes()
    assert attrs[semconv.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini-2024-07-18"
    assert attrs[semconv.GEN_AI_PROVIDER_NAME] == semconv.GenAiProviderNameValues.OPENAI.value
    assert attrs[semconv.GEN_AI_PROMPT_NAME] == "support"
    assert attrs[semconv.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert attrs[semconv.GEN_AI_REQUEST_MAX_TOKENS] == 600
    assert attrs[semconv.GEN_AI_REQUEST_STOP_SEQUENCES] == ["\nCustomer:"]
    assert {k: v for k, v in attrs.items() if k.startswith("promptctl.")} == {
        "promptctl.prompt.version": "1.1.0", "promptctl.prompt.variant": "canary",
        "promptctl.prompt.fingerprint": canary_bundle.fingerprint,
        "promptctl.change_id": 1, "promptctl.environment": "production"}
    assert attrs == span_attributes(canary_bundle)


def test_annotate_current_span_sets_the_attributes_on_a_recorded_span(
        recorded: tuple[TracerProvider, InMemorySpanExporter],
        canary_bundle: ResolvedBundle) -> None:
    provider, exporter = recorded
    with provider.get_tracer("app").start_as_current_span("handle request"):
        annotate_current_span(canary_bundle)
    [span] = exporter.get_finished_spans()
    assert span.name == "handle request"
    assert dict(span.attributes or {}) == {
        k: tuple(v) if isinstance(v, list) else v
        for k, v in canary_bundle.span_attributes().items()}


def test_prompt_span_opens_a_client_span_named_by_the_conventions(
        recorded: tuple[TracerProvider, InMemorySpanExporter],
        canary_bundle: ResolvedBundle) -> None:
    provider, exporter = recorded
    with prompt_span(canary_bundle, tracer=provider.get_tracer("app")) as span:
        assert span.is_recording()
    [finished] = exporter.get_finished_spans()
    assert finished.name == "chat gpt-4o-mini-2024-07-18"
    assert finished.kind.name == "CLIENT"
    assert finished.attributes is not None
    assert finished.attributes[semconv.GEN_AI_OPERATION_NAME] == "chat"
    assert finished.attributes["promptctl.prompt.fingerprint"] == canary_bundle.fingerprint


def test_without_opentelemetry_the_helper_says_what_to_install(
        canary_bundle: ResolvedBundle, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from promptctl.errors import UsageError

    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # as if not installed
    with pytest.raises(UsageError, match=r"pip install 'promptctl\[otel\]'"):
        annotate_current_span(canary_bundle)
    assert canary_bundle.span_attributes()["gen_ai.prompt.name"] == "support"  # no library
