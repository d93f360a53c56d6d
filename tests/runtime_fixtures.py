"""Offline registries for the runtime integrations' tests: the project's own example prompts,
resolved into bundles and served from an in-memory snapshot (no database, no server), with
support 1.0.0 stable and optionally 1.1.0 (changed template text) as a canary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from promptctl.bundle import Bundle, resolve_bundle
from promptctl.catalog import Catalog, Entry
from promptctl.client import Registry
from promptctl.loader import load_directory
from promptctl.snapshot import SNAPSHOT_FORMAT
from promptctl.state import Snapshot

ROOT = Path(__file__).resolve().parents[1]


def _support_bundles() -> dict[str, dict[str, Any]]:
    tree = load_directory(ROOT / "prompts", relative_to=ROOT)
    catalog = Catalog(Entry(item.artifact, item.path) for item in tree.artifacts)
    base = resolve_bundle(catalog.find("prompt/support").artifact, catalog).to_dict()
    newer = {**base, "prompt": {**base["prompt"], "version": "1.1.0",
                                "template": {**base["prompt"]["template"],
                                             "system": "You are the support agent (v1.1.0)."}}}
    return {"1.0.0": base, "1.1.0": newer}


def snapshot_doc(percent: int = 0, change_id: int = 1) -> dict[str, Any]:
    """production: support 1.0.0 stable, 1.1.0 a ``percent`` canary (none at 0)."""
    versions = {v: {"fingerprint": Bundle.from_dict(doc).fingerprint, "bundle": doc}
                for v, doc in _support_bundles().items()}
    entry = {"stable": "1.0.0", "canary": "1.1.0" if percent else None, "percent": percent,
             "stickiness": "default",
             "versions": versions if percent else {"1.0.0": versions["1.0.0"]}}
    return {"format": SNAPSHOT_FORMAT, "env": "production", "change_id": change_id,
            "generated_at": "test", "prompts": {"support": entry}}


def offline_registry(percent: int = 0, **options: Any) -> Registry:
    return Registry(None, "production", snapshot=Snapshot(snapshot_doc(percent)), **options)
