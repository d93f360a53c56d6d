"""``promptctl import prompty DIR``: Microsoft's Prompty ``.prompty`` files.

Maps: ``name``, ``description``, ``authors``/``tags``/``version`` (as metadata),
``model.configuration`` (provider from ``type``, model from ``azure_deployment``,
``name`` or ``model``), ``model.parameters``, ``inputs`` and ``outputs``; the body's
``system:``/``user:``/``assistant:`` sections become messages (Jinja, Prompty's default;
Mustache goes through the Handlebars converter). Connection settings (endpoints, keys,
API versions), ``sample`` data and anything else are listed as not mapped.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from promptctl.importers.build import (
    ImportedMessage,
    ImportedPrompt,
    add_front_matter_prompt,
    front_matter_sources,
)
from promptctl.importers.handlebars import to_jinja
from promptctl.importers.plan import ImportPlan, slug
from promptctl.importers.schemas import prompty_inputs

_SECTION = re.compile(r"^[ \t]*(system|user|assistant)[ \t]*:[ \t]*(?:\r\n|\n|\r|$)",
                      re.M | re.I)
_KNOWN = {"name", "description", "authors", "tags", "version", "model", "inputs", "outputs",
          "sample", "template", "metadata", "$schema"}


def plan_prompty(source: Path, plan: ImportPlan, into: str, model_ref: str | None,
                 version: str, fmt: str = "auto") -> ImportPlan:
    taken: set[str] = set()
    for path, rel, meta, body in front_matter_sources(source, ".prompty", "Prompty"):
        notes: list[str] = []
        engine = meta.get("template")
        engine = engine.get("format") if isinstance(engine, dict) else engine
        mustache = str(engine or "jinja2").lower() in ("mustache", "handlebars")
        prompt = ImportedPrompt(slug(str(meta.get("name") or path.stem), taken),
                                str(meta.get("description") or f"imported from {rel}"),
                                _messages(body.decode("utf-8"), mustache, notes), format=fmt)
        prompt.variables = prompty_inputs(meta.get("inputs"), notes)
        prompt.output_schema = _outputs(meta.get("outputs"))
        prompt.model = _model(meta.get("model"), notes) if model_ref is None else None
        for key in ("authors", "tags", "version"):
            if meta.get(key) is not None:
                prompt.metadata[key] = meta[key]
        if meta.get("sample") is not None:
            notes.append("sample data")
        add_front_matter_prompt(plan, into, prompt, (rel, meta, _KNOWN), notes, model_ref,
                                version)
    return plan


def _messages(body: str, mustache: bool, notes: list[str]) -> list[ImportedMessage]:
    sections: list[tuple[str, str]] = []
    matches = list(_SECTION.finditer(body))
    head = body[:matches[0].start()] if matches else body
    if head.strip():
        sections.append(("system", head))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(body)
        sections.append((match.group(1).lower(), body[match.end():end]))
    out = []
    for role, text in sections:
        text = text.strip()
        if not text:
            continue
        if mustache:
            text, unmapped = to_jinja(text)
            notes += [f"{construct} (kept as text)" for construct in unmapped]
        out.append(ImportedMessage(role, text.encode("utf-8")))
    return out


def _model(model: Any, notes: list[str]) -> dict[str, Any]:
    model = model if isinstance(model, dict) else {}
    config = model.get("configuration") or {}
    model_id = next((str(config[k]) for k in ("azure_deployment", "name", "model", "id")
                     if config.get(k)), "unknown")
    for key in sorted(set(config) - {"type", "azure_deployment", "name", "model", "id"}):
        notes.append(f"model.configuration.{key} (connection settings stay in the app)")
    for key in sorted(set(model) - {"api", "configuration", "parameters"}):
        notes.append(f"model.{key}")
    out: dict[str, Any] = {"provider": str(config.get("type") or "unknown"), "model": model_id}
    if model.get("parameters"):
        out["params"] = dict(model["parameters"])
    if model.get("api") and model["api"] != "chat":
        out.setdefault("params", {})["api"] = model["api"]
    return out


def _outputs(outputs: Any) -> dict[str, Any] | None:
    if not isinstance(outputs, dict) or not outputs:
        return None
    properties = {str(k): ({"type": v["type"]} if isinstance(v, dict) and v.get("type")
                           in ("string", "number", "integer", "boolean", "array", "object")
                           else {}) for k, v in outputs.items()}
    return {"type": "object", "properties": properties}
