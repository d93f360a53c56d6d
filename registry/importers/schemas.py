"""Input and output declarations of Dotprompt (Picoschema) and Prompty, as promptctl
variables and JSON Schemas."""

from __future__ import annotations

import re
from typing import Any

from promptctl.model import VARIABLE_TYPES

_KEY = re.compile(r"^(?P<name>[A-Za-z_][\w]*)(?P<optional>\?)?(?:\((?P<kind>[a-z]+)"
                  r"(?:,\s*(?P<desc>.*))?\))?$")
_ZERO: dict[str, Any] = {"string": "", "number": 0, "integer": 0, "boolean": False,
                         "array": [], "object": {}}


def picoschema(schema: Any, notes: list[str]) -> dict[str, Any]:
    """Picoschema (``name?: string, a description``) or JSON Schema, as JSON Schema."""
    if isinstance(schema, dict) and (schema.get("type") == "object" or "properties" in schema):
        return schema
    if not isinstance(schema, dict):
        return _scalar(schema, notes)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for key, value in schema.items():
        match = _KEY.match(str(key))
        if match is None:
            notes.append(f"schema field {key!r} is not Picoschema")
            continue
        name, kind, desc = match["name"], match["kind"], match["desc"]
        if kind == "array":
            prop: dict[str, Any] = {"type": "array", "items": picoschema(value, notes)}
        elif kind == "object":
            prop = picoschema(value if isinstance(value, dict) else {}, notes)
            prop.setdefault("type", "object")
        elif kind == "enum":
            prop = {"enum": list(value) if isinstance(value, list) else [value]}
        else:
            prop = picoschema(value, notes) if isinstance(value, dict) else _scalar(value, notes)
        if desc:
            prop["description"] = desc
        properties[name] = prop
        if not match["optional"]:
            required.append(name)
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    return out


def _scalar(value: Any, notes: list[str]) -> dict[str, Any]:
    text = str(value)
    kind, _, desc = text.partition(",")
    kind = kind.strip()
    out: dict[str, Any] = {}
    if kind in VARIABLE_TYPES or kind == "null":
        out["type"] = kind
    elif kind != "any":
        notes.append(f"Picoschema type {kind!r} is unknown: accepted as any value")
    if desc.strip():
        out["description"] = desc.strip()
    return out


def variables_from_schema(schema: dict[str, Any], defaults: dict[str, Any]
                          ) -> dict[str, dict[str, Any]]:
    """One promptctl variable per property: the short type when that says it all, else a
    ``schema``; an optional input gets its declared default or its type's empty value."""
    required = set(schema.get("required") or [])
    out: dict[str, dict[str, Any]] = {}
    for name, prop in (schema.get("properties") or {}).items():
        prop = dict(prop)
        decl: dict[str, Any] = {}
        if "description" in prop:
            decl["description"] = str(prop.pop("description"))
        kind = prop.get("type")
        if isinstance(kind, str) and kind in VARIABLE_TYPES:
            decl["type"] = kind
            if set(prop) != {"type"}:
                decl["schema"] = prop
        else:
            decl["schema"] = prop
        if name in defaults:
            decl["default"] = defaults[name]
        elif name not in required:
            decl["default"] = _ZERO.get(kind if isinstance(kind, str) else "string", "")
        out[name] = decl
    return out


def prompty_inputs(inputs: Any, notes: list[str]) -> dict[str, dict[str, Any]]:
    """Prompty's ``inputs`` (``name: {type, default, description, sample}`` or
    ``name: sample value``) as promptctl variables."""
    out: dict[str, dict[str, Any]] = {}
    if not isinstance(inputs, dict):
        return out
    for name, spec in inputs.items():
        if not isinstance(spec, dict):
            kind = _type_of(spec)
            out[str(name)] = {"type": kind}
            notes.append(f"input {name}: sample value not kept")
            continue
        kind = str(spec.get("type", "string"))
        kind = {"list": "array", "float": "number", "int": "integer", "bool": "boolean"}.get(
            kind, kind)
        if kind not in VARIABLE_TYPES:
            notes.append(f"input {name}: type {kind!r} read as string")
            kind = "string"
        decl: dict[str, Any] = {"type": kind}
        if spec.get("description"):
            decl["description"] = str(spec["description"])
        if spec.get("default") is not None:
            decl["default"] = spec["default"]
        if "sample" in spec:
            notes.append(f"input {name}: sample value not kept")
        out[str(name)] = decl
    return out


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"
