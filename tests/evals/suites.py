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


REWRITE_SYSTEM = """  system: |
    You are the friendly support agent for Acme. Answer only from the knowledge base
    (use the search-kb tool) and cite the article titles you used.
    Keep answers focused: never mention delivery times, they change too often.
    Always thank the customer for their patience.
    {% if tier == "premium" %}The customer is on the premium plan: offer a call-back.{% endif %}
    If you cannot answer, open a ticket with create-ticket instead of guessing.
"""
"""The checklists' failure: a well-meant rewrite that costs ~40% more tokens per call and
drops what three golden cases need (delivery times)."""

IMPROVED_SYSTEM = """  system: |
    Acme support agent. Answer from the knowledge base (search-kb); cite the article titles.
    {% if tier == "premium" %}The customer is on the premium plan: offer a call-back.{% endif %}
    Cannot answer? Open a ticket with create-ticket.
"""
"""A real improvement: the same instructions in fewer tokens."""


def rewrite_support(root: Path, version: str, system: str) -> None:
    """Give ``prompts/support.prompt.yaml`` a new version with ``system`` as its template."""
    import re

    path = root / "prompts" / "support.prompt.yaml"
    text = path.read_text()
    text = re.sub(r"(?m)^version: .*$", f"version: {version}", text, count=1)
    old = text[text.index("  system: |"):text.index("  user: |")]
    path.write_text(text.replace(old, system))
