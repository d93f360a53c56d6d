"""Helpers for eval tests: write a suite (and its dataset) into a repository's prompts/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

SUPPORT_VARS = {"customer": "Ann", "question": "Where is my parcel?"}


def write_suite(root: Path, *, name: str = "support-golden", version: str = "1.0.0",
                prompt: str = "support", cases: list[dict[str, Any]] | None = None,
                rows: list[Any] | None = None, dataset: str = "support.cases.jsonl",
                **extra: Any) -> Path:
    """``prompts/<name>.eval.yaml`` (and, with ``rows``, its JSONL dataset beside it)."""
    content: dict[str, Any] = {"kind": "eval", "name": name, "version": version,
                               "description": f"{name} suite", "prompt": prompt}
    if cases is not None:
        content["cases"] = cases
    if rows is not None:
        content["dataset"] = dataset
        lines = [json.dumps(row) for row in rows]
        (root / "prompts" / dataset).write_text("\n".join(lines) + "\n")
    content |= extra
    path = root / "prompts" / f"{name}.eval.yaml"
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


def case(name: str, *, assertions: list[dict[str, Any]] | None = None,
         **vars_: Any) -> dict[str, Any]:
    return {"name": name, "vars": {**SUPPORT_VARS, **vars_},
            "assert": assertions or [{"type": "icontains", "value": "parcel"}]}
