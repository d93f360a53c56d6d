"""What a provider mapping reads from a bundle: model, params, tools, output schema."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol


class _Released(Protocol):
    """The part of :class:`promptctl.snapshot.ReleasedBundle` a mapping reads."""

    @property
    def data(self) -> Mapping[str, Any]: ...


class CallSpec(NamedTuple):
    """The call-relevant part of a bundle, as plain data (shared, never mutated)."""

    provider: str
    model: str
    params: Mapping[str, Any]
    tools: Sequence[Mapping[str, Any]]  # {name, description, parameters}
    output_schema: Mapping[str, Any] | None = None
    name: str = "output"  # the prompt's name: labels the response format

    @classmethod
    def of(cls, released: _Released) -> CallSpec:
        """The spec of a released bundle (``ResolvedBundle.bundle``)."""
        data = released.data
        model, prompt = data["model"], data["prompt"]
        tools = [{"name": t["name"], "description": t.get("description", ""),
                  "parameters": t["parameters"]} for t in data["tools"]]
        return cls(provider=str(model["provider"]), model=str(model["model"]),
                   params=model.get("params") or {}, tools=tools,
                   output_schema=prompt.get("output_schema") or None,
                   name=str(prompt.get("name") or "output"))

    def tool(self, name: str) -> Mapping[str, Any] | None:
        for tool in self.tools:
            if tool["name"] == name:
                return tool
        return None
