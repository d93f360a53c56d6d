"""The SDK's small schema checker agrees with jsonschema on every schema it accepts, and
declines (None) every schema using something it does not implement."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import validators

from promptctl.telemetry.mini_schema import compile_schema

SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "properties": {"answer": {"type": "string"},
                                      "sources": {"type": "array", "items": {"type": "string"}},
                                      "escalated": {"type": "boolean"}},
     "required": ["answer", "sources"]},
    {"type": "object", "properties": {"query": {"type": "string", "minLength": 1},
                                      "top_k": {"type": "integer", "minimum": 1,
                                                "maximum": 50}},
     "required": ["query"], "additionalProperties": False},
    {"type": ["string", "null"], "maxLength": 3},
    {"type": "array", "items": {"type": "number", "exclusiveMinimum": 0}, "maxItems": 2},
    {"enum": ["low", "high"], "description": "priority"},
    {"type": "object", "additionalProperties": {"type": "integer"}},
]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 60) | st.floats(-2, 2, allow_nan=False)
    | st.sampled_from(["", "low", "abcd", "x"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["answer", "sources", "escalated", "query", "top_k", "other"]), inner,
        max_size=4),
    max_leaves=8)


@settings(max_examples=40, deadline=None)
@given(value=JSON, index=st.integers(0, len(SCHEMAS) - 1))
def test_it_agrees_with_jsonschema(value: Any, index: int) -> None:
    schema = SCHEMAS[index]
    check = compile_schema(schema)
    assert check is not None
    assert check(value) == validators.validator_for(schema)(schema).is_valid(value)


def test_answers_that_match_and_do_not() -> None:
    check = compile_schema(SCHEMAS[0])
    assert check is not None
    assert check({"answer": "hi", "sources": ["kb"]})
    assert not check({"answer": "hi"}) and not check({"answer": 1, "sources": []})
    assert not check("a string")


@pytest.mark.parametrize("schema", [
    {"$ref": "#/definitions/x"}, {"anyOf": [{"type": "string"}]}, {"type": "string",
                                                                   "pattern": "^a"},
    {"enum": [1, 2]}, {"type": "object", "properties": {"a": {"format": "email"}}},
    {"type": "wat"},
])
def test_it_declines_what_it_does_not_implement(schema: dict[str, Any]) -> None:
    assert compile_schema(schema) is None
