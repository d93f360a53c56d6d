"""Each mapping's kwargs go through the official SDK (openai, anthropic, litellm) to a local
server speaking the vendor's wire format: the SDK accepts them as they are, and the request on
the wire carries the model, every message, the tools, the response format and the params."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from promptctl.providers import calls
from promptctl.providers.spec import CallSpec
from tests.providers.bundles import ANTHROPIC_MODEL, SUPPORT_VALUES, example_doc, resolved
from tests.providers.test_calls import CONVERSATION, TOOL
from tests.vendor_wire import (
    CHAT,
    MESSAGES,
    RESPONSES,
    Answer,
    VendorWire,
    anthropic_body,
    openai_chat_body,
    openai_responses_body,
    vendor_wire,
)

__all__ = ["vendor_wire"]  # the fixture
pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore::UserWarning:pydantic")]  # LiteLLM's types
# LiteLLM reads its model price list from the network at import unless told not to.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
openai = pytest.importorskip("openai")
anthropic = pytest.importorskip("anthropic")

ANSWER = json.dumps({"answer": "It ships today.", "sources": ["Shipping"]})
TICKET = ("create-ticket", {"summary": "Lost parcel", "priority": "high"})
OPENAI_NO_STOP = {**example_doc()["model"], "params": {"temperature": 0.2, "max_tokens": 600}}


def openai_client(wire: VendorWire, **options: Any) -> Any:
    return openai.OpenAI(base_url=wire.openai_url, api_key="test", max_retries=0, **options)


def anthropic_client(wire: VendorWire, **options: Any) -> Any:
    return anthropic.Anthropic(base_url=wire.anthropic_url, api_key="test", max_retries=0,
                               **options)


def test_openai_chat_completions_takes_the_bundles_kwargs(vendor_wire: VendorWire) -> None:
    bundle = resolved()
    vendor_wire.reply(CHAT, openai_chat_body(ANSWER))
    completion = openai_client(vendor_wire).chat.completions.create(
        **bundle.openai(**SUPPORT_VALUES))
    sent = vendor_wire.last(CHAT).body
    assert sent["model"] == "gpt-4o-mini-2024-07-18"
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert "Where is my parcel?" in sent["messages"][1]["content"]
    assert [t["function"]["name"] for t in sent["tools"]] == ["search-kb", "create-ticket"]
    assert sent["tools"][0]["type"] == "function"
    assert sent["tools"][0]["function"]["parameters"]["required"] == ["query"]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"]["required"] == ["answer", "sources"]
    assert (sent["temperature"], sent["top_p"], sent["max_completion_tokens"], sent["stop"]) == (
        0.2, 1.0, 600, ["\nCustomer:"])
    assert bundle.parse(completion).data == json.loads(ANSWER)  # the SDK's own object


def test_openai_responses_takes_the_bundles_kwargs(vendor_wire: VendorWire) -> None:
    bundle = resolved(model=OPENAI_NO_STOP)
    vendor_wire.reply(RESPONSES, openai_responses_body(None, [TICKET]))
    result = openai_client(vendor_wire).responses.create(
        **bundle.openai_responses(**SUPPORT_VALUES))
    sent = vendor_wire.last(RESPONSES).body
    assert sent["instructions"].startswith("You are the support agent for Acme.")
    assert [m["role"] for m in sent["input"]] == ["user"]
    assert sent["tools"][1] == {"type": "function", "name": "create-ticket",
                                "description": bundle.tools[1]["description"],
                                "parameters": bundle.tools[1]["parameters"], "strict": False}
    assert sent["text"]["format"]["type"] == "json_schema"
    assert sent["text"]["format"]["schema"] == bundle.output_schema
    assert (sent["temperature"], sent["max_output_tokens"]) == (0.2, 600)
    assert bundle.parse(result).tool_calls[0].arguments == TICKET[1]


def test_anthropic_messages_takes_the_bundles_kwargs(vendor_wire: VendorWire) -> None:
    bundle = resolved(model=ANTHROPIC_MODEL)
    vendor_wire.reply(MESSAGES, anthropic_body("Let me check.", [TICKET]))
    message = anthropic_client(vendor_wire).messages.create(**bundle.anthropic(**SUPPORT_VALUES))
    sent = vendor_wire.last(MESSAGES).body
    assert sent["system"].startswith("You are the support agent for Acme.")
    assert [m["role"] for m in sent["messages"]] == ["user"]
    assert [t["name"] for t in sent["tools"]] == ["search-kb", "create-ticket"]
    assert sent["tools"][0]["input_schema"] == bundle.tools[0]["parameters"]
    assert (sent["max_tokens"], sent["stop_sequences"]) == (600, ["\nCustomer:"])
    assert sent["output_config"]["format"]["type"] == "json_schema"
    assert bundle.parse(message).tool_calls[0].name == "create-ticket"


@pytest.mark.parametrize("api", ["openai", "openai_responses", "anthropic"])
def test_every_message_of_a_conversation_reaches_the_wire(vendor_wire: VendorWire,
                                                          api: str) -> None:
    provider = "anthropic" if api == "anthropic" else "openai"
    spec = CallSpec(provider, "m-1", {"max_tokens": 50}, [TOOL], TOOL["parameters"], "chat")
    kwargs = getattr(calls, api if api != "openai" else "openai_chat")(spec, CONVERSATION)
    if api == "anthropic":
        anthropic_client(vendor_wire).messages.create(**kwargs)
        sent = vendor_wire.last(MESSAGES).body
        assert sent["system"] == "Be brief.\n\nAnswer in French."
        texts = [b["text"] if isinstance(b, dict) else b for m in sent["messages"]
                 for b in (m["content"] if isinstance(m["content"], list) else [m["content"]])]
        assert texts == ["Q1", "A1", "Q2", "Q3"]
    elif api == "openai":
        openai_client(vendor_wire).chat.completions.create(**kwargs)
        sent = vendor_wire.last(CHAT).body
        assert sent["messages"] == CONVERSATION
        assert sent["response_format"]["json_schema"]["strict"] is True
    else:
        openai_client(vendor_wire).responses.create(**kwargs)
        sent = vendor_wire.last(RESPONSES).body
        assert sent["instructions"] == "Be brief."
        assert sent["input"] == CONVERSATION[1:]


def test_litellm_completion_takes_the_bundles_kwargs(vendor_wire: VendorWire) -> None:
    litellm = pytest.importorskip("litellm")
    litellm.telemetry = False
    bundle = resolved()
    vendor_wire.reply(CHAT, openai_chat_body(ANSWER))
    response = litellm.completion(**bundle.litellm(**SUPPORT_VALUES),
                                  api_base=vendor_wire.openai_url, api_key="test")
    sent = vendor_wire.last(CHAT).body
    assert sent["model"] == "gpt-4o-mini-2024-07-18"  # LiteLLM strips the "openai/" route
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert [t["function"]["name"] for t in sent["tools"]] == ["search-kb", "create-ticket"]
    assert sent["response_format"]["json_schema"]["name"] == "support"
    assert (sent["temperature"], sent["stop"]) == (0.2, ["\nCustomer:"])
    assert bundle.parse(response).data == json.loads(ANSWER)  # LiteLLM's ModelResponse


def test_the_wire_fixture_sends_rate_limits_errors_malformed_and_slow_answers(
        vendor_wire: VendorWire) -> None:
    client, kwargs = openai_client(vendor_wire), resolved().openai(**SUPPORT_VALUES)
    vendor_wire.fail(CHAT, 429)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(**kwargs)
    vendor_wire.fail(MESSAGES, 529)
    with pytest.raises(anthropic.APIStatusError) as caught:
        anthropic_client(vendor_wire).messages.create(
            **resolved(model=ANTHROPIC_MODEL).anthropic(**SUPPORT_VALUES))
    assert caught.value.status_code == 529
    vendor_wire.script(CHAT, Answer(raw=b"{not json"))
    with pytest.raises(ValueError):  # the SDK lets the JSONDecodeError through
        client.chat.completions.create(**kwargs)
    vendor_wire.script(CHAT, Answer(delay=0.5))
    with pytest.raises(openai.APITimeoutError):
        openai_client(vendor_wire, timeout=0.1).chat.completions.create(**kwargs)
    assert len(vendor_wire.requests) == 4
