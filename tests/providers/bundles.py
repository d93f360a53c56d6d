"""Resolved bundles for the provider tests: today's example prompts (``prompts/``), released
into a snapshot the way the server builds one, optionally with another model pinned."""

from __future__ import annotations

from typing import Any

from promptctl.bundle import Bundle, resolve_bundle
from promptctl.catalog import Catalog, Entry
from promptctl.loader import load_directory
from promptctl.snapshot import SNAPSHOT_FORMAT, ResolvedBundle
from promptctl.state import Snapshot
from tests.conftest import REPO_ROOT

SUPPORT_VALUES = {"customer": "Ann", "question": "Where is my parcel?", "order_id": "A-1"}
ANTHROPIC_MODEL = {"kind": "model", "name": "support-claude", "version": "1.0.0",
                   "description": "Claude for support", "provider": "anthropic",
                   "model": "claude-test-1", "params": {"max_tokens": 600,
                                                        "stop": ["\nCustomer:"]}}


def example_doc(prompt: str = "support", model: dict[str, Any] | None = None) -> dict[str, Any]:
    tree = load_directory(REPO_ROOT / "prompts", relative_to=REPO_ROOT)
    catalog = Catalog(Entry(item.artifact, item.path) for item in tree.artifacts)
    doc = resolve_bundle(catalog.find(f"prompt/{prompt}").artifact, catalog).to_dict()
    if model is not None:
        doc["model"] = model
    return doc


def resolved(prompt: str = "support", model: dict[str, Any] | None = None,
             **changes: Any) -> ResolvedBundle:
    """The example ``prompt`` as the SDK resolves it; ``changes`` replace prompt fields."""
    doc = example_doc(prompt, model)
    doc["prompt"] = doc["prompt"] | changes
    fingerprint = Bundle.from_dict(doc).fingerprint
    snapshot = Snapshot({"format": SNAPSHOT_FORMAT, "env": "production", "change_id": 1,
                         "prompts": {prompt: {"stable": doc["prompt"]["version"], "versions": {
                             doc["prompt"]["version"]: {"fingerprint": fingerprint,
                                                        "bundle": doc}}}}})
    return snapshot.resolve(prompt, "user-1")
