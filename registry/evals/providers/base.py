"""The provider protocol: what a run asks a model, and what it gets back.

A provider gets one :class:`ProviderRequest` (the resolved bundle, the rendered messages,
the case's vars and the provider's settings) and returns one :class:`ProviderResponse`
(output text, tool calls, input/output tokens, cost, latency, the raw answer). A failed call
raises :class:`promptctl.errors.ProviderError` with the HTTP status it got (``None``: no
answer); the runner retries 429 and 5xx with backoff and enforces the per-call timeout.

A provider's :meth:`Provider.identity` is part of every result and of the response cache
key: it names the provider and its settings (never a credential, which providers read from
environment variables only).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from promptctl.bundle import Bundle
    from promptctl.model import ModelConfig


@dataclass(frozen=True)
class ToolCall:
    """A tool the model called; ``arguments`` is a dict, or the raw text when it was not
    JSON (an assertion then fails the case; the run goes on)."""

    name: str
    arguments: Any

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments}


@dataclass(frozen=True)
class ProviderRequest:
    """One call: for a case (``bundle`` set) or for a judge (``bundle`` is None)."""

    model: ModelConfig
    messages: list[dict[str, str]]
    vars: dict[str, Any]
    settings: dict[str, Any]
    case: str
    case_hash: str
    fingerprint: str
    """The bundle's fingerprint (a judge: its model's content hash)."""
    bundle: Bundle | None = None
    timeout: float | None = None
    purpose: Literal["case", "judge"] = "case"

    @property
    def params(self) -> dict[str, Any]:
        """The model parameters the bundle pins (temperature, max_tokens, ...)."""
        return dict(self.model.params)

    @property
    def tools(self) -> list[dict[str, Any]]:
        """The bundle's tool definitions: name, description and JSON Schema parameters."""
        if self.bundle is None:
            return []
        return [{"name": t.name, "description": t.description, "parameters": t.parameters}
                for t in self.bundle.tools]

    @property
    def output_schema(self) -> dict[str, Any] | None:
        return self.bundle.prompt.output_schema if self.bundle is not None else None


@dataclass(frozen=True)
class ProviderResponse:
    output: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost: float | None = None
    """USD; ``None``: the runner prices the tokens from the model's ``metadata.pricing``."""
    latency_ms: float | None = None
    """The provider's own figure; ``None``: the runner's measured wall time."""
    raw: Any = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tool_calls"] = [c.to_dict() for c in self.tool_calls]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProviderResponse:
        calls = tuple(ToolCall(str(c["name"]), c.get("arguments"))
                      for c in data.get("tool_calls") or [])
        return cls(output=str(data.get("output") or ""), tool_calls=calls,
                   input_tokens=_int(data.get("input_tokens")),
                   output_tokens=_int(data.get("output_tokens")),
                   cost=_float(data.get("cost")), latency_ms=_float(data.get("latency_ms")),
                   raw=data.get("raw"))

    @classmethod
    def coerce(cls, value: Any) -> ProviderResponse:
        """What a user function returned: a response, a dict of its fields, or the text."""
        if isinstance(value, ProviderResponse):
            return value
        if isinstance(value, str):
            return cls(output=value)
        if isinstance(value, dict):
            return cls.from_dict(value)
        raise TypeError(f"a provider returns a ProviderResponse, a dict or a string, not "
                        f"{type(value).__name__}")


@runtime_checkable
class Provider(Protocol):
    """Calls a model. Implementations must be safe to call from several threads."""

    type: str
    cacheable: bool
    """Whether the runner may cache answers (a replay is a cache already)."""

    def identity(self) -> dict[str, Any]:
        """Type, target and settings, as recorded with results and keyed in the cache."""
        ...

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        """One call; raises :class:`promptctl.errors.ProviderError` on failure."""
        ...


def _int(value: Any) -> int | None:
    return None if value is None or isinstance(value, bool) else int(value)


def _float(value: Any) -> float | None:
    return None if value is None or isinstance(value, bool) else float(value)
