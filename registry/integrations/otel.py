"""Put a resolved bundle's attributes on OpenTelemetry spans (``pip install promptctl[otel]``).

    from promptctl.integrations.otel import annotate_current_span, prompt_span

    bundle = reg.get("support", key=user_id)
    annotate_current_span(bundle)            # on the span the app (or an instrumentor) opened
    with prompt_span(bundle) as span:        # or a new span for the call, attributes set
        client.chat.completions.create(...)

The attributes are :meth:`ResolvedBundle.span_attributes` (OpenTelemetry GenAI semantic
conventions v1.41.1 where they define a name, ``promptctl.*`` for the rest; see
:mod:`promptctl.span_attributes`). Only ``opentelemetry-api`` is needed: the app's configured
SDK (or none, where every call is a no-op) records them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from promptctl.errors import UsageError

if TYPE_CHECKING:
    from opentelemetry.trace import Span, Tracer

    from promptctl.snapshot import ResolvedBundle

__all__ = ["annotate_current_span", "annotate_span", "prompt_span"]

TRACER_NAME = "promptctl"


def _trace() -> Any:  # the module opentelemetry.trace
    try:
        from opentelemetry import trace
    except ImportError:
        raise UsageError("OpenTelemetry is not installed: pip install 'promptctl[otel]'"
                         ) from None
    return trace


def annotate_span(span: Span, bundle: ResolvedBundle) -> Span:
    """Set ``bundle``'s attributes on ``span``; returns it."""
    span.set_attributes(bundle.span_attributes())
    return span


def annotate_current_span(bundle: ResolvedBundle) -> Span:
    """Set ``bundle``'s attributes on the current span (a no-op span when none is
    recording); returns that span."""
    return annotate_span(_trace().get_current_span(), bundle)


@contextmanager
def prompt_span(bundle: ResolvedBundle, name: str | None = None,
                tracer: Tracer | None = None) -> Iterator[Span]:
    """A new current span for one LLM call made with ``bundle``, its attributes set.
    The default name follows the conventions' ``{gen_ai.operation.name} {gen_ai.request.model}``
    with operation ``chat``."""
    trace = _trace()
    tracer = tracer or trace.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span(name or f"chat {bundle.model}",
                                      kind=trace.SpanKind.CLIENT,
                                      attributes=bundle.span_attributes()) as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        yield span
