"""A small JSON Schema checker for the shapes prompts declare, so that checking an output
costs microseconds on the SDK's background thread instead of jsonschema's ~100 µs.

:func:`compile_schema` returns a checker only when every keyword of the schema (at every
level) is one it implements exactly (``type``, ``properties``, ``required``, ``items``,
``enum`` of strings, ``additionalProperties``, the length, size and range bounds, and
annotations such as ``description``); any other keyword (``$ref``, ``anyOf``, ``pattern``,
``format``, ...) returns None, and :mod:`promptctl.telemetry.checks` uses jsonschema for
that schema. ``tests/telemetry/test_mini_schema.py`` checks both agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]
ANNOTATIONS = frozenset({"$schema", "$id", "title", "description", "default", "examples",
                         "$comment", "readOnly", "writeOnly", "deprecated"})
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool))
    or (isinstance(v, float) and v.is_integer()),
}
_BOUNDS: dict[str, tuple[Callable[[Any], bool], Callable[[Any, Any], bool]]] = {
    "minLength": (lambda v: isinstance(v, str), lambda v, n: len(v) >= n),
    "maxLength": (lambda v: isinstance(v, str), lambda v, n: len(v) <= n),
    "minItems": (lambda v: isinstance(v, list), lambda v, n: len(v) >= n),
    "maxItems": (lambda v: isinstance(v, list), lambda v, n: len(v) <= n),
    "minProperties": (lambda v: isinstance(v, dict), lambda v, n: len(v) >= n),
    "maxProperties": (lambda v: isinstance(v, dict), lambda v, n: len(v) <= n),
    "minimum": (_TYPES["number"], lambda v, n: v >= n),
    "maximum": (_TYPES["number"], lambda v, n: v <= n),
    "exclusiveMinimum": (_TYPES["number"], lambda v, n: v > n),
    "exclusiveMaximum": (_TYPES["number"], lambda v, n: v < n),
}
KEYWORDS = ANNOTATIONS | {"type", "properties", "required", "items", "enum",
                          "additionalProperties"} | set(_BOUNDS)


def compile_schema(schema: object) -> Check | None:
    """A checker for ``schema``, or None when it uses anything this module does not do."""
    if schema is True or schema == {}:
        return lambda _: True
    if schema is False:
        return lambda _: False
    if not isinstance(schema, Mapping) or not set(schema) <= KEYWORDS:
        return None
    checks: list[Check] = []
    kind = schema.get("type")
    if kind is not None:
        kinds = [kind] if isinstance(kind, str) else kind
        if not isinstance(kinds, list) or not all(k in _TYPES for k in kinds):
            return None
        tests = [_TYPES[k] for k in kinds]
        checks.append(lambda v: any(t(v) for t in tests))
    for key, (applies, holds) in _BOUNDS.items():
        if key in schema:
            bound = schema[key]
            if isinstance(bound, bool) or not isinstance(bound, int | float):
                return None
            checks.append(_bounded(applies, holds, bound))
    if "enum" in schema:
        options = schema["enum"]
        if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
            return None  # JSON Schema compares 1 == 1.0 and true != 1: leave it to jsonschema
        checks.append(lambda v: isinstance(v, str) and v in options)
    object_check = _object_check(schema)
    if object_check is None:
        return None
    checks.append(object_check)
    if "items" in schema:
        item = compile_schema(schema["items"])
        if item is None:
            return None
        checks.append(lambda v: not isinstance(v, list) or all(item(x) for x in v))
    return _all(checks)


def _object_check(schema: Mapping[str, Any]) -> Check | None:
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    extra = schema.get("additionalProperties", True)
    if not isinstance(properties, Mapping) or not isinstance(required, list):
        return None
    compiled = {name: compile_schema(sub) for name, sub in properties.items()}
    if any(c is None for c in compiled.values()):
        return None
    extra_check = compile_schema(extra)
    if extra_check is None:
        return None
    checkers: dict[str, Check] = {k: c for k, c in compiled.items() if c is not None}

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        if any(name not in value for name in required):
            return False
        for name, item in value.items():
            checker = checkers.get(name, extra_check)
            if not checker(item):
                return False
        return True

    return check


def _bounded(applies: Callable[[Any], bool], holds: Callable[[Any, Any], bool],
             bound: float) -> Check:
    return lambda v: not applies(v) or holds(v, bound)


def _all(checks: list[Check]) -> Check:
    if not checks:
        return lambda _: True
    if len(checks) == 1:
        return checks[0]
    return lambda v: all(c(v) for c in checks)
