"""Whether a JSON Schema meets OpenAI's strict-mode (Structured Outputs) rules.

Strict mode guarantees the answer matches the schema, but only for a subset of JSON
Schema: every object closes with ``additionalProperties: false`` and lists all its
properties in ``required``, the root is an object, and only the supported keywords
appear. A schema outside that subset is sent non-strict (as the author wrote it) rather
than rewritten, and ``parse`` still validates the answer against it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SUPPORTED_KEYWORDS = frozenset({
    "type", "properties", "required", "additionalProperties", "items", "enum", "const",
    "anyOf", "$ref", "$defs", "definitions", "description", "title",
    "pattern", "format", "multipleOf", "maximum", "exclusiveMaximum", "minimum",
    "exclusiveMinimum", "minItems", "maxItems",
})
SUPPORTED_FORMATS = frozenset({"date-time", "time", "date", "duration", "email", "hostname",
                               "ipv4", "ipv6", "uuid"})
MAX_OBJECT_DEPTH = 10
MAX_PROPERTIES = 5000
MAX_ENUM_VALUES = 1000


def strict_eligible(schema: Mapping[str, Any] | None) -> bool:
    """True when ``schema`` can be sent with ``strict: true``."""
    if not isinstance(schema, Mapping) or schema.get("type") != "object":
        return False
    counter = [0]
    return _node_ok(schema, 0, counter) and counter[0] <= MAX_PROPERTIES


def _node_ok(node: Any, depth: int, counter: list[int]) -> bool:
    if not isinstance(node, Mapping) or not set(node) <= SUPPORTED_KEYWORDS:
        return False
    if "format" in node and node["format"] not in SUPPORTED_FORMATS:
        return False
    if len(node.get("enum") or ()) > MAX_ENUM_VALUES:
        return False
    types = node.get("type")
    is_object = types == "object" or (isinstance(types, list) and "object" in types)
    if is_object and not _object_ok(node, depth, counter):
        return False
    children: list[Any] = []
    if "items" in node:
        children.append(node["items"])
    children += list(node.get("anyOf") or [])
    for defs in ("$defs", "definitions"):
        children += list((node.get(defs) or {}).values())
    return all(_node_ok(child, depth, counter) for child in children)


def _object_ok(node: Mapping[str, Any], depth: int, counter: list[int]) -> bool:
    properties = node.get("properties") or {}
    if depth >= MAX_OBJECT_DEPTH or node.get("additionalProperties") is not False:
        return False
    if set(node.get("required") or ()) != set(properties):
        return False
    counter[0] += len(properties)
    return all(_node_ok(child, depth + 1, counter) for child in properties.values())
