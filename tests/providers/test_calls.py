"""Call arguments per provider API, at the mapping level (hand-built specs and message lists)
and from a resolved example bundle. What reaches each vendor's wire through the official SDK
is checked in test_vendor_sdks.py."""

from __future__ import annotations

from typing import Any

import pytest

from promptctl.errors import CallArgsError, ProviderMismatch, UnsupportedParam
from promptctl.providers import calls
from promptctl.providers.spec import CallSpec
from promptctl.providers.strict import strict_eligible
from tests.providers.bundles import ANTHROPIC_MODEL, SUPPORT_VALUES, resolved

CLOSED = {"type": "object", "additionalProperties": False, "required": ["answer"],
          "properties": {"answer": {"type": "string"}}}
OPEN = {"type": "object", "properties": {"answer": {"type": "string"}}}
TOOL = {"name": "lookup", "description": "Look it up", "parameters": CLOSED}
CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Q1"},
    {"role": "assistant", "content": "A1"},
    {"role": "user", "content": "Q2"},
    {"role": "system", "content": "Answer in French."},
    {"role": "user", "content": "Q3"},
]


def spec(provider: str = "openai", params: dict[str, Any] | None = None,
         schema: dict[str, Any] | None = CLOSED) -> CallSpec:
    return CallSpec(provider, "m-1", params or {"max_tokens": 100}, [TOOL], schema, "support.v2")


def test_openai_chat_keeps_every_message_in_order() -> None:
    kwargs = calls.openai_chat(spec(), CONVERSATION)
    assert kwargs["messages"] == CONVERSATION
    assert kwargs["model"] == "m-1" and kwargs["max_completion_tokens"] == 100
    assert kwargs["tools"] == [{"type": "function", "function": {**TOOL, "strict": True}}]
    assert kwargs["response_format"] == {"type": "json_schema", "json_schema": {
        "name": "support_v2", "schema": CLOSED, "strict": True}}


def test_a_schema_outside_openais_strict_subset_is_sent_non_strict_and_unchanged() -> None:
    kwargs = calls.openai_chat(spec(schema=OPEN), CONVERSATION)
    assert kwargs["response_format"]["json_schema"] == {"name": "support_v2", "schema": OPEN}


@pytest.mark.parametrize(("schema", "eligible"), [
    (CLOSED, True),
    (OPEN, False),  # additionalProperties unset
    ({**CLOSED, "required": []}, False),  # not every property required
    ({**CLOSED, "properties": {"answer": {"type": "string", "minLength": 1}}}, False),
    ({**CLOSED, "properties": {"answer": {"type": ["string", "null"]}}}, True),
    ({**CLOSED, "properties": {"answer": {"type": "array", "items": OPEN}}}, False),
    ({"anyOf": [CLOSED]}, False),  # the root must be an object
])
def test_strict_mode_only_where_the_schema_meets_its_rules(schema: dict[str, Any],
                                                           eligible: bool) -> None:
    assert strict_eligible(schema) is eligible


def test_anthropic_joins_system_messages_and_merges_consecutive_turns() -> None:
    kwargs = calls.anthropic(spec("anthropic"), CONVERSATION)
    assert kwargs["system"] == "Be brief.\n\nAnswer in French."
    assert kwargs["messages"] == [
        {"role": "user", "content": "Q1"},
        {"role": "assistant", "content": "A1"},
        {"role": "user", "content": [{"type": "text", "text": "Q2"},
                                     {"type": "text", "text": "Q3"}]},
    ]
    assert kwargs["tools"] == [{"name": "lookup", "description": "Look it up",
                                "input_schema": CLOSED}]
    assert kwargs["max_tokens"] == 100
    assert kwargs["output_config"] == {"format": {"type": "json_schema", "schema": CLOSED}}


def test_anthropic_output_format_closes_open_objects_and_keeps_the_rest() -> None:
    kwargs = calls.anthropic(spec("anthropic", schema=OPEN), CONVERSATION)
    assert kwargs["output_config"]["format"]["schema"] == {**OPEN, "additionalProperties": False}


@pytest.mark.parametrize("messages", [
    [{"role": "system", "content": "only system"}],
    [{"role": "assistant", "content": "A"}, {"role": "user", "content": "Q"}],
    [{"role": "tool", "content": "x"}],
])
def test_anthropic_refuses_messages_it_cannot_take(messages: list[dict[str, str]]) -> None:
    with pytest.raises(CallArgsError, match="anthropic"):
        calls.anthropic(spec("anthropic"), messages)


def test_message_keys_beyond_role_and_content_are_kept_or_refused_never_dropped() -> None:
    named = [*CONVERSATION, {"role": "user", "content": "Q4", "name": "ann"}]
    assert calls.openai_chat(spec(), named)["messages"][-1] == named[-1]
    assert calls.openai_responses(spec(), named)["input"][-1] == named[-1]
    with pytest.raises(CallArgsError, match="a user message has name"):
        calls.anthropic(spec("anthropic"), named)


def test_anthropic_requires_max_tokens() -> None:
    with pytest.raises(CallArgsError, match="requires max_tokens"):
        calls.anthropic(spec("anthropic", params={"stop": "x"}), CONVERSATION)


def test_responses_takes_leading_system_messages_as_instructions() -> None:
    kwargs = calls.openai_responses(spec(params={"max_tokens": 9, "reasoning_effort": "low"}),
                                    CONVERSATION)
    assert kwargs["instructions"] == "Be brief."
    assert kwargs["input"] == CONVERSATION[1:]  # the later system message keeps its place
    assert kwargs["max_output_tokens"] == 9 and kwargs["reasoning"] == {"effort": "low"}
    assert kwargs["tools"] == [{"type": "function", **TOOL, "strict": True}]
    assert kwargs["text"] == {"format": {"type": "json_schema", "name": "support_v2",
                                         "schema": CLOSED, "strict": True}}


def test_litellm_is_the_openai_shape_with_provider_slash_model() -> None:
    kwargs = calls.litellm(spec("anthropic", params={"max_tokens": 5, "top_k": 3}),
                           CONVERSATION)
    assert kwargs["model"] == "anthropic/m-1" and kwargs["messages"] == CONVERSATION
    assert kwargs["max_tokens"] == 5 and kwargs["top_k"] == 3
    assert kwargs["tools"][0]["type"] == "function" and "response_format" in kwargs


@pytest.mark.parametrize(("build", "provider", "param"), [
    (calls.openai_chat, "openai", "top_k"),
    (calls.openai_responses, "openai", "stop"),
    (calls.openai_responses, "openai", "seed"),
    (calls.anthropic, "anthropic", "temperature"),
    (calls.anthropic, "anthropic", "frequency_penalty"),
    (calls.litellm, "openai", "not_a_param"),
])
def test_a_param_the_provider_does_not_accept_is_refused_by_name(
        build: Any, provider: str, param: str) -> None:
    with pytest.raises(UnsupportedParam, match=f"sets '{param}', which") as caught:
        build(spec(provider, params={"max_tokens": 5, param: 1}), CONVERSATION)
    assert caught.value.detail["param"] == param
    assert "\n" not in str(caught.value)


def test_two_params_for_the_same_api_field_are_refused() -> None:
    with pytest.raises(CallArgsError, match="both 'max_tokens' and 'max_completion_tokens'"):
        calls.openai_chat(spec(params={"max_tokens": 1, "max_completion_tokens": 2}), [])


def test_a_model_of_another_provider_is_refused_by_the_vendor_mappings() -> None:
    with pytest.raises(ProviderMismatch, match="'anthropic' model"):
        calls.openai_chat(spec("anthropic"), CONVERSATION)
    with pytest.raises(ProviderMismatch, match="'openai' model"):
        calls.anthropic(spec("openai"), CONVERSATION)


def test_a_tool_name_the_vendors_refuse_is_an_error_not_a_renamed_tool() -> None:
    dotted = CallSpec("openai", "m", {}, [{**TOOL, "name": "kb.search"}])
    with pytest.raises(CallArgsError, match=r"'kb\.search' is not a valid openai function name"):
        calls.openai_chat(dotted, CONVERSATION)


# -- from a resolved bundle (today's two-message prompt) --------------------------------------

def test_the_example_bundle_maps_its_model_file_params_for_openai() -> None:
    kwargs = resolved().openai(**SUPPORT_VALUES)
    assert [m["role"] for m in kwargs["messages"]] == ["system", "user"]
    assert "Ann (order A-1)" in kwargs["messages"][1]["content"]
    assert {k: kwargs[k] for k in ("temperature", "top_p", "max_completion_tokens", "stop")} == {
        "temperature": 0.2, "top_p": 1.0, "max_completion_tokens": 600, "stop": ["\nCustomer:"]}
    assert [t["function"]["name"] for t in kwargs["tools"]] == ["search-kb", "create-ticket"]
    assert kwargs["response_format"]["json_schema"]["name"] == "support"


def test_kwargs_are_fresh_per_call_and_the_vendor_checks_run_once_per_bundle() -> None:
    bundle = resolved()
    first, second = bundle.openai(**SUPPORT_VALUES), bundle.openai(**SUPPORT_VALUES)
    assert first == second and first is not second
    first["messages"].append({"role": "user", "content": "more"})
    assert len(bundle.openai(**SUPPORT_VALUES)["messages"]) == 2


def test_the_example_model_for_anthropic_refuses_its_sampling_params_by_name() -> None:
    with pytest.raises(UnsupportedParam, match="'temperature', which anthropic does not"):
        resolved(model={**ANTHROPIC_MODEL, "params": {"max_tokens": 5, "temperature": 0.2}}
                 ).anthropic(**SUPPORT_VALUES)
