"""Bundles and fingerprints: same content, same fingerprint, on any machine."""

from __future__ import annotations

from promptctl.bundle import Bundle, resolve_bundle
from promptctl.catalog import Catalog, Entry
from promptctl.model import artifact_from_content

MODEL = {"kind": "model", "name": "chat", "version": "1.0.0", "description": "chat",
         "provider": "openai", "model": "gpt-4o-mini",
         "params": {"temperature": 0.2, "max_tokens": 512}}
TOOL = {"kind": "tool", "name": "search-kb", "version": "1.0.0", "description": "search",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}},
                       "required": ["query"]}}
INDEX = {"kind": "index", "name": "kb-docs", "version": "1.0.0", "description": "docs",
         "backend": "pgvector", "uri": "postgresql://db/kb",
         "embedding_model": "text-embedding-3-small", "build": "2026-11-01T00:00Z"}
PROMPT = {"kind": "prompt", "name": "support", "version": "1.0.0", "description": "support",
          "model": "chat@1.0.0", "tools": ["search-kb@1.0.0"], "index": "kb-docs@1.0.0",
          "variables": {"customer": {"type": "string"}, "order_id": {"type": "string",
                                                                      "default": ""}},
          "template": {"system": "You are a helpful support agent.",
                       "user": "Customer {{ customer }} asks about order {{ order_id }}."}}

# Computed once from the canonical JSON above; a change here means every deployed
# fingerprint would change, which must never happen by accident.
GOLDEN_FINGERPRINT = "2c7b8d82c85c597859e57c4509f11b13dda1453f1215413c148e0f07a28006ee"


def catalog() -> Catalog:
    return Catalog(Entry(artifact_from_content(d)) for d in (MODEL, TOOL, INDEX, PROMPT))


def bundle() -> Bundle:
    cat = catalog()
    return resolve_bundle(cat.find("prompt/support").artifact, cat)  # type: ignore[arg-type]


def test_fingerprint_is_the_golden_value():
    assert bundle().fingerprint == GOLDEN_FINGERPRINT


def test_fingerprint_ignores_key_order_and_omitted_defaults():
    reordered = dict(reversed(list(PROMPT.items()))) | {"metadata": {}}
    cat = Catalog(Entry(artifact_from_content(d)) for d in (MODEL, TOOL, INDEX, reordered))
    b = resolve_bundle(cat.find("prompt/support").artifact, cat)  # type: ignore[arg-type]
    assert b.fingerprint == GOLDEN_FINGERPRINT


def test_fingerprint_changes_when_a_pinned_ref_changes_content():
    changed = MODEL | {"params": {"temperature": 0.3, "max_tokens": 512}}
    cat = Catalog(Entry(artifact_from_content(d)) for d in (changed, TOOL, INDEX, PROMPT))
    b = resolve_bundle(cat.find("prompt/support").artifact, cat)  # type: ignore[arg-type]
    assert b.fingerprint != GOLDEN_FINGERPRINT


def test_bundle_round_trips_through_its_dict():
    original = bundle()
    assert Bundle.from_dict(original.to_dict()).fingerprint == original.fingerprint


def test_bundle_renders_its_prompt():
    messages = bundle().render(customer="Ann", order_id="42")
    assert messages[1]["content"] == "Customer Ann asks about order 42."
