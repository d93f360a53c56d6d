"""The assertion vocabulary: promptfoo's names where promptfoo has one, so suites move over.

Each type says what its ``value`` must be. Checking a suite uses only this table (no
assertion code runs at load time), so ``lint`` reports an unknown type or a malformed value
with the file and the field, before anything is called.
"""

from __future__ import annotations

import re
from typing import Any

TEXT_TYPES = ("equals", "contains", "icontains", "starts-with", "regex")
"""Compare the output text with a string ``value``."""
LIST_TYPES = ("contains-any", "contains-all", "icontains-any", "icontains-all")
"""Compare the output text with a list of strings."""
LIMIT_TYPES = {"latency": "ms", "cost": "USD", "max-length": "characters",
               "max-tokens": "output tokens"}
"""A number bound; ``latency`` and ``cost`` take promptfoo's ``threshold``, the others a
``value`` (a ``threshold`` is accepted too)."""
OTHER_TYPES = ("is-json", "json-schema", "tool-call", "python", "llm-rubric")
ALIASES = {"is-valid-openai-tools-call": "tool-call", "javascript": None}
"""promptfoo names read as a promptctl type (``None``: known, but not supported here)."""
NEGATABLE = (*TEXT_TYPES, *LIST_TYPES, "is-json")
"""Types a ``not-`` prefix inverts (``not-contains``, ``not-regex``, ...), as in promptfoo."""

BASE_TYPES: tuple[str, ...] = (*TEXT_TYPES, *LIST_TYPES, *LIMIT_TYPES, *OTHER_TYPES)
FUNCTION_REF = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*\Z")


def known_types() -> list[str]:
    """Every name a suite may use, for error messages."""
    return [*BASE_TYPES, *(f"not-{t}" for t in NEGATABLE), "is-valid-openai-tools-call"]


def split_type(name: str) -> tuple[str, bool]:
    """``(base type, negated)`` of an assertion type; raises ``ValueError`` if unknown."""
    negated = name.startswith("not-") and name[4:] in NEGATABLE
    base = name[4:] if negated else name
    if base in ALIASES:
        alias = ALIASES[base]
        if alias is None:
            raise ValueError(f"assertion type {name!r} is promptfoo's but is not supported: "
                             "write a `python` assertion (module:function) instead")
        base = alias
    if base not in BASE_TYPES:
        raise ValueError(f"unknown assertion type {name!r}; known: {', '.join(known_types())}")
    return base, negated


def value_problem(base: str, value: Any, threshold: float | None) -> str | None:
    """Why ``value`` does not fit assertion type ``base`` (None: it fits)."""
    if base in TEXT_TYPES:
        if not isinstance(value, str):
            return f"`{base}` needs a string value"
        if base == "regex":
            try:
                re.compile(value)
            except re.error as exc:
                return f"invalid regular expression {value!r}: {exc}"
        return None
    if base in LIST_TYPES:
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            return f"`{base}` needs a non-empty list of strings"
        return None
    if base in LIMIT_TYPES:
        bound = threshold if value is None else value
        if isinstance(bound, bool) or not isinstance(bound, int | float) or bound < 0:
            return (f"`{base}` needs a number ≥ 0 ({LIMIT_TYPES[base]}) as its "
                    f"{'threshold' if base in ('latency', 'cost') else 'value'}")
        return None
    if base in ("is-json", "json-schema"):
        if value is not None and not isinstance(value, dict):
            return f"`{base}` takes a JSON Schema (a mapping) or nothing"
        return None
    if base == "tool-call":
        return _tool_call_problem(value)
    if base == "python":
        if not isinstance(value, str) or not FUNCTION_REF.match(value):
            return "`python` needs a value `module:function` (a function in an importable module)"
        return None
    if base == "llm-rubric":
        if not isinstance(value, str) or not value.strip():
            return "`llm-rubric` needs the rubric text as its value"
        return None
    return None


def _tool_call_problem(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return None
    if isinstance(value, dict) and isinstance(value.get("name"), str) and \
            set(value) <= {"name", "arguments"} and \
            isinstance(value.get("arguments", {}), dict):
        return None
    return ("`tool-call` takes a tool name, {name: ..., arguments: {...}} (arguments that must "
            "be present with these values), or nothing (every call must be valid)")
