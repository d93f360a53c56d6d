"""bundle.parse(): the answer of each API read back and validated against the example
bundle's output_schema and tool parameters; check_output() gives the same verdicts as
booleans for outcome counters."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptctl.errors import (
    InvalidJSONOutput,
    InvalidToolArguments,
    OutputError,
    OutputSchemaViolation,
    UnknownToolCall,
)
from promptctl.snapshot import ResolvedBundle
from tests.providers.bundles import resolved
from tests.vendor_wire import anthropic_body, openai_chat_body, openai_responses_body

FUZZ = settings(max_examples=int(os.environ.get("PROMPTCTL_FUZZ_EXAMPLES", "40")),
                deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
Body = Callable[..., dict[str, Any]]
BODIES = [pytest.param(openai_chat_body, id="openai-chat"),
          pytest.param(openai_responses_body, id="openai-responses"),
          pytest.param(anthropic_body, id="anthropic")]
VALID = {"answer": "It ships today.", "sources": ["Shipping times"], "escalated": False}


@pytest.fixture(scope="module")
def bundle() -> ResolvedBundle:
    return resolved()


@pytest.mark.parametrize("body", BODIES)
def test_valid_json_is_returned_parsed(bundle: ResolvedBundle, body: Body) -> None:
    parsed = bundle.parse(body(json.dumps(VALID)))
    assert parsed.data == VALID and parsed.text == json.dumps(VALID) and not parsed.tool_calls
    assert bundle.check_output(body(json.dumps(VALID))) == (True, None, None)


@pytest.mark.parametrize("body", BODIES)
def test_valid_tool_calls_are_returned_with_parsed_arguments(bundle: ResolvedBundle,
                                                             body: Body) -> None:
    args = {"summary": "Parcel lost", "priority": "high"}
    parsed = bundle.parse(body(None, [("create-ticket", args), ("search-kb", {"query": "x"})]))
    assert [(c.name, c.arguments) for c in parsed.tool_calls] == [
        ("create-ticket", args), ("search-kb", {"query": "x"})]
    assert parsed.data is None  # a tool turn carries no JSON answer yet
    assert bundle.check_output(body(None, [("create-ticket", args)])).tool_args_valid is True


@pytest.mark.parametrize("body", BODIES)
def test_an_answer_that_is_not_json_is_a_typed_error(bundle: ResolvedBundle,
                                                     body: Body) -> None:
    with pytest.raises(InvalidJSONOutput, match="support: the answer is not JSON"):
        bundle.parse(body("Sure! It ships today."))
    check = bundle.check_output(body("Sure!"))
    assert check.schema_valid is False and isinstance(check.error, InvalidJSONOutput)


@pytest.mark.parametrize("body", BODIES)
def test_json_that_breaks_the_schema_names_where(bundle: ResolvedBundle, body: Body) -> None:
    with pytest.raises(OutputSchemaViolation, match="at /sources/0: 5 is not of type 'string'"):
        bundle.parse(body(json.dumps({"answer": "a", "sources": [5]})))
    with pytest.raises(OutputSchemaViolation, match="'sources' is a required property"):
        bundle.parse(body(json.dumps({"answer": "a"})))


@pytest.mark.parametrize("body", BODIES)
def test_tool_arguments_that_break_the_parameters_are_a_typed_error(bundle: ResolvedBundle,
                                                                    body: Body) -> None:
    with pytest.raises(InvalidToolArguments, match=r"'create-ticket'.*'urgent' is not one of"):
        bundle.parse(body(None, [("create-ticket", {"summary": "s", "priority": "urgent"})]))
    check = bundle.check_output(body(None, [("search-kb", {"query": "q", "top_k": 99})]))
    assert check.tool_args_valid is False and check.schema_valid is None


@pytest.mark.parametrize("body", [BODIES[0], BODIES[1]])  # Anthropic sends objects, not text
def test_tool_arguments_that_are_not_json_are_a_typed_error(bundle: ResolvedBundle,
                                                            body: Body) -> None:
    with pytest.raises(InvalidToolArguments, match="arguments are not JSON"):
        bundle.parse(body(None, [("search-kb", '{"query": ')]))


@pytest.mark.parametrize("body", BODIES)
def test_a_call_to_a_tool_the_bundle_does_not_define_is_a_typed_error(bundle: ResolvedBundle,
                                                                      body: Body) -> None:
    with pytest.raises(UnknownToolCall, match="'delete-account', which support does not"):
        bundle.parse(body(None, [("delete-account", {})]))


def test_a_refusal_and_an_unknown_response_are_output_errors(bundle: ResolvedBundle) -> None:
    refusal = openai_chat_body(None)
    refusal["choices"][0]["message"]["refusal"] = "I can't help with that."
    with pytest.raises(OutputError, match="the model refused: I can't help"):
        bundle.parse(refusal)
    with pytest.raises(OutputError, match="not an OpenAI chat completion"):
        bundle.parse({"hello": "world"})
    assert bundle.check_output(42).error is not None


def test_a_prompt_without_output_schema_returns_plain_text() -> None:
    plain = resolved("summarize-ticket")
    parsed = plain.parse(anthropic_body("The customer wants a refund."))
    assert parsed.text == "The customer wants a refund." and parsed.data is None
    assert plain.check_output(anthropic_body("x")) == (None, None, None)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=3),
                           max_leaves=8)


@FUZZ
@given(value=json_values)
def test_any_json_answer_is_parsed_or_refused_by_the_schema_and_check_agrees(
        bundle: ResolvedBundle, value: Any) -> None:
    body = openai_chat_body(json.dumps(value))
    check = bundle.check_output(body)
    try:
        parsed = bundle.parse(body)
    except OutputSchemaViolation:
        assert check.schema_valid is False
    else:
        assert check.schema_valid is True and parsed.data == value
        assert isinstance(value, dict) and {"answer", "sources"} <= set(value)


@FUZZ
@given(args=st.dictionaries(st.sampled_from(["summary", "priority", "order_id", "extra"]),
                            st.sampled_from(["low", "high", "x", 3, None]), max_size=4))
def test_any_tool_arguments_are_accepted_exactly_when_they_meet_the_parameters(
        bundle: ResolvedBundle, args: dict[str, Any]) -> None:
    valid = ({"summary", "priority"} <= set(args) and isinstance(args["summary"], str)
             and args["priority"] in ("low", "normal", "high")
             and isinstance(args.get("order_id", ""), str))
    for body in (openai_chat_body, openai_responses_body, anthropic_body):
        assert bundle.check_output(body(None, [("create-ticket", args)])).tool_args_valid is valid
