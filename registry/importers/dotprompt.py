"""``promptctl import dotprompt DIR``: Google's Dotprompt ``.prompt`` files.

Maps: ``name`` (and ``variant``), ``model`` (``provider/model``), ``config``
(temperature, maxOutputTokens, topP, topK, stopSequences, other keys as they are),
``input.schema`` (Picoschema or JSON Schema) with ``input.default``, ``output.schema``,
``metadata``; the body's ``{{role "..."}}`` sections become messages, ``{{history}}`` a
``history`` placeholder, and the Handlebars constructs :mod:`.handlebars` knows become
Jinja. Everything else is listed as not mapped.
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
from promptctl.importers.schemas import picoschema, variables_from_schema

_MARKER = re.compile(r"\{\{\s*(?:role\s+[\"'](\w+)[\"']|(history))\s*\}\}")
_ROLES = {"system": "system", "user": "user", "model": "assistant", "assistant": "assistant"}
_CONFIG = {"temperature": "temperature", "maxOutputTokens": "max_tokens", "topP": "top_p",
           "topK": "top_k", "stopSequences": "stop"}
_KNOWN = {"name", "variant", "model", "config", "input", "output", "metadata", "description",
          "tools"}


def plan_dotprompt(source: Path, plan: ImportPlan, into: str, model_ref: str | None,
                   version: str, fmt: str = "auto") -> ImportPlan:
    taken: set[str] = set()
    for path, rel, meta, body in front_matter_sources(source, ".prompt", "Dotprompt"):
        notes: list[str] = []
        stem = path.name.removesuffix(".prompt")
        base = str(meta.get("name") or stem.split(".")[0])
        variant = meta.get("variant") or (stem.split(".", 1)[1] if "." in stem else None)
        name = slug(f"{base}.{variant}" if variant else base, taken)
        prompt = ImportedPrompt(name, str(meta.get("description") or f"imported from {rel}"),
                                _messages(body.decode("utf-8"), notes), format=fmt)
        prompt.model = _model(meta, notes) if model_ref is None else None
        if model_ref is not None and meta.get("config"):
            notes.append("config not kept: --model pins an existing model")
        inputs = meta.get("input") or {}
        if isinstance(inputs, dict) and inputs.get("schema") is not None:
            prompt.variables = variables_from_schema(picoschema(inputs["schema"], notes),
                                                     dict(inputs.get("default") or {}))
        output = meta.get("output") or {}
        if isinstance(output, dict) and output.get("schema") is not None:
            prompt.output_schema = picoschema(output["schema"], notes)
        if isinstance(output, dict) and output.get("format"):
            prompt.metadata["output_format"] = output["format"]
        if meta.get("tools"):
            notes.append(f"tools {', '.join(map(str, meta['tools']))} (promptctl tools need "
                         "their JSON Schema: add *.tool.yaml files and pin them)")
        add_front_matter_prompt(plan, into, prompt, (rel, meta, _KNOWN), notes, model_ref,
                                version)
    return plan


def _messages(body: str, notes: list[str]) -> list[ImportedMessage]:
    if not _MARKER.search(body):
        return [_message("user", body, notes)]
    out: list[ImportedMessage] = []
    role, pos = "user", 0
    for match in _MARKER.finditer(body):
        text = body[pos:match.start()].strip()
        if text:
            out.append(_message(role, text, notes))
        pos = match.end()
        if match.group(2):
            out.append(ImportedMessage("user", placeholder="history"))
        else:
            role = _ROLES.get(match.group(1), "user")
            if match.group(1) not in _ROLES:
                notes.append(f"role {match.group(1)!r} read as user")
    text = body[pos:].strip()
    if text:
        out.append(_message(role, text, notes))
    return out


def _message(role: str, text: str, notes: list[str]) -> ImportedMessage:
    jinja, unmapped = to_jinja(text)
    notes += [f"{construct} (kept as text)" for construct in unmapped]
    return ImportedMessage(role, jinja.encode("utf-8"))


def _model(meta: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    model = str(meta.get("model") or "")
    provider, _, model_id = model.rpartition("/")
    if not model:
        notes.append("no model: the model file says provider `unknown`")
    params: dict[str, Any] = {}
    for key, value in (meta.get("config") or {}).items():
        params[_CONFIG.get(key, key)] = value
    out: dict[str, Any] = {"provider": provider or "unknown", "model": model_id or "unknown"}
    if params:
        out["params"] = params
    return out
