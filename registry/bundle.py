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
from promptctl.errors import ValidationError
from promptctl.limits import DEFAULT_LIMITS, Limits
from promptctl.model import (
    Index,
    ModelConfig,
    Prompt,
    Ref,
    Snippet,
    Tool,
    artifact_from_content,
)
from promptctl.templating import render_prompt, snippet_texts


@dataclass(frozen=True)
class Bundle:
    prompt: Prompt
    model: ModelConfig
    tools: tuple[Tool, ...]
    index: Index | None
    snippets: tuple[Snippet, ...] = ()
    """Every snippet the prompt includes, directly or through other snippets, by ref."""

    def to_dict(self) -> dict[str, Any]:
        """The canonical bundle document that the fingerprint covers (``snippets`` only
        when there are any, so bundles without snippets keep their fingerprints)."""
        data = {
            "prompt": self.prompt.content(),
            "model": self.model.content(),
            "tools": [tool.content() for tool in self.tools],
            "index": self.index.content() if self.index else None,
        }
        if self.snippets:
            data["snippets"] = [snippet.content() for snippet in self.snippets]
        return data

    @cached_property
    def fingerprint(self) -> str:
        return sha256_hex(self.to_dict())

    def render(self, **values: Any) -> list[dict[str, str]]:
        return self.render_with(values)

    def render_with(self, values: dict[str, Any],
                    limits: Limits | None = None) -> list[dict[str, str]]:
        """:meth:`render` with explicit ``limits`` (by default the render limits)."""
        return render_prompt(self.prompt, values, limits,
                             snippet_texts([s.content() for s in self.snippets]))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Bundle:
        """Rebuild a bundle from :meth:`to_dict` output (e.g. from a snapshot)."""
        return cls(
            prompt=artifact_from_content(data["prompt"]),  # type: ignore[arg-type]
            model=artifact_from_content(data["model"]),  # type: ignore[arg-type]
            tools=tuple(artifact_from_content(t) for t in data["tools"]),  # type: ignore[misc]
            index=artifact_from_content(data["index"]) if data.get("index") else None,  # type: ignore[arg-type]
            snippets=tuple(artifact_from_content(s)  # type: ignore[misc]
                           for s in data.get("snippets") or ()),
        )


def resolve_bundle(prompt: Prompt, catalog: Catalog) -> Bundle:
    """Resolve every ref of ``prompt``; raises ``NotFoundError`` for a missing one."""
    model = catalog.require("model", Ref.parse(prompt.model))
    tools = tuple(catalog.require("tool", Ref.parse(t)) for t in prompt.tools)
    index = catalog.require("index", Ref.parse(prompt.index)) if prompt.index else None
    snippets = resolve_snippets(prompt.snippet_refs(), catalog)
    return Bundle(prompt, model, tools, index, snippets)  # type: ignore[arg-type]


def resolve_snippets(refs: list[Ref], catalog: Catalog,
                     limits: Limits = DEFAULT_LIMITS) -> tuple[Snippet, ...]:
    """The snippets ``refs`` pin and, through them, every snippet they include, sorted by
    ref; ``NotFoundError`` for a missing one, ``ValidationError`` for an include cycle or a
    chain deeper than ``max_snippet_depth``."""
    found: dict[str, Snippet] = {}

    def visit(ref: Ref, path: tuple[str, ...]) -> None:
        label = str(ref)
        if label in path:
            raise ValidationError(f"snippet include cycle: {' -> '.join([*path, label])}")
        if len(path) >= limits.max_snippet_depth:
            raise ValidationError(f"snippets include each other more than "
                                  f"{limits.max_snippet_depth} deep (limit max_snippet_depth)")
        snippet = catalog.require("snippet", ref)
        assert isinstance(snippet, Snippet)
        found[label] = snippet
        for inner in snippet.snippet_refs():
            visit(inner, (*path, label))

    for ref in refs:
        visit(ref, ())
    return tuple(found[label] for label in sorted(found))
