"""Bundles: a prompt with its pinned model, tools and index resolved.

The bundle is what an application actually sends to a model, so its
fingerprint (SHA-256 of the canonical JSON of the whole bundle) answers "which
prompt, model, parameters, tools and index produced this output?".
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from promptctl.canonical import sha256_hex
from promptctl.catalog import Catalog
from promptctl.model import Index, ModelConfig, Prompt, Ref, Tool, artifact_from_content
from promptctl.templating import render_prompt


@dataclass(frozen=True)
class Bundle:
    prompt: Prompt
    model: ModelConfig
    tools: tuple[Tool, ...]
    index: Index | None

    def to_dict(self) -> dict[str, Any]:
        """The canonical bundle document that the fingerprint covers."""
        return {
            "prompt": self.prompt.content(),
            "model": self.model.content(),
            "tools": [tool.content() for tool in self.tools],
            "index": self.index.content() if self.index else None,
        }

    @cached_property
    def fingerprint(self) -> str:
        return sha256_hex(self.to_dict())

    def render(self, **values: Any) -> list[dict[str, str]]:
        return render_prompt(self.prompt, values)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Bundle:
        """Rebuild a bundle from :meth:`to_dict` output (e.g. from a snapshot)."""
        return cls(
            prompt=artifact_from_content(data["prompt"]),  # type: ignore[arg-type]
            model=artifact_from_content(data["model"]),  # type: ignore[arg-type]
            tools=tuple(artifact_from_content(t) for t in data["tools"]),  # type: ignore[misc]
            index=artifact_from_content(data["index"]) if data.get("index") else None,  # type: ignore[arg-type]
        )


def resolve_bundle(prompt: Prompt, catalog: Catalog) -> Bundle:
    """Resolve every ref of ``prompt``; raises ``NotFoundError`` for a missing one."""
    model = catalog.require("model", Ref.parse(prompt.model))
    tools = tuple(catalog.require("tool", Ref.parse(t)) for t in prompt.tools)
    index = catalog.require("index", Ref.parse(prompt.index)) if prompt.index else None
    return Bundle(prompt, model, tools, index)  # type: ignore[arg-type]
