"""Call arguments for each provider API, from a :class:`CallSpec` and chat messages.

The per-bundle part (tools, response format, mapped params) is built once per released
bundle and cached: a bundle is immutable, so each call only adds its messages. The
nested dicts of the result (tool schemas, params) are shared between calls: read them,
do not mutate them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from weakref import WeakKeyDictionary

from promptctl.errors import CallArgsError, ProviderMismatch
from promptctl.providers import params as tables
from promptctl.providers.messages import Message, anthropic_layout, responses_layout
from promptctl.providers.spec import CallSpec
from promptctl.providers.strict import strict_eligible

OPENAI_PROVIDERS = frozenset({"openai", "azure"})
ANTHROPIC_PROVIDERS = frozenset({"anthropic"})
# Both APIs accept tool (function) names of this form; ours may also hold "."
TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")


def _check_provider(spec: CallSpec, api: str, accepted: frozenset[str]) -> None:
    if spec.provider not in accepted:
        raise ProviderMismatch(
            f"model {spec.model!r} is a {spec.provider!r} model, not for the {api} API; "
            f"use bundle.litellm() or pin a {api} model", detail={"provider": spec.provider})


def _tool_names(spec: CallSpec, api: str) -> None:
    for tool in spec.tools:
        if not TOOL_NAME.match(tool["name"]):
            raise CallArgsError(f"tool {tool['name']!r} is not a valid {api} function name "
                                "(letters, digits, '_' and '-' only)",
                                detail={"tool": tool["name"], "provider": api})


def _format_name(spec: CallSpec) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", spec.name)[:64] or "output"


# -- OpenAI Chat Completions ------------------------------------------------------------------

def openai_chat_base(spec: CallSpec) -> dict[str, Any]:
    _check_provider(spec, "openai", OPENAI_PROVIDERS)
    return _chat_shape(spec, spec.model, tables.OPENAI_CHAT, "openai")


def _chat_shape(spec: CallSpec, model: str, table: Mapping[str, str],
                api: str) -> dict[str, Any]:
    _tool_names(spec, api)
    kwargs: dict[str, Any] = {"model": model}
    kwargs.update(tables.map_params(spec.params, table, api, spec.model))
    if spec.tools:
        kwargs["tools"] = [{"type": "function", "function": _function(tool)}
                           for tool in spec.tools]
    if spec.output_schema:
        schema: dict[str, Any] = {"name": _format_name(spec), "schema": spec.output_schema}
        if strict_eligible(spec.output_schema):
            schema["strict"] = True
        kwargs["response_format"] = {"type": "json_schema", "json_schema": schema}
    return kwargs


def _function(tool: Mapping[str, Any]) -> dict[str, Any]:
    function = {"name": tool["name"], "description": tool["description"],
                "parameters": tool["parameters"]}
    if strict_eligible(tool["parameters"]):
        function["strict"] = True
    return function


def openai_chat(spec: CallSpec, messages: Sequence[Message]) -> dict[str, Any]:
    """Keyword arguments for ``OpenAI().chat.completions.create``."""
    return _with_messages(openai_chat_base(spec), messages)


def _with_messages(base: Mapping[str, Any], messages: Sequence[Message]) -> dict[str, Any]:
    kwargs = dict(base)
    kwargs["messages"] = [dict(m) for m in messages]  # every key (name, tool_call_id...)
    return kwargs


# -- OpenAI Responses -------------------------------------------------------------------------

def openai_responses_base(spec: CallSpec) -> dict[str, Any]:
    _check_provider(spec, "openai", OPENAI_PROVIDERS)
    _tool_names(spec, "openai")
    kwargs: dict[str, Any] = {"model": spec.model}
    kwargs.update(tables.map_params(spec.params, tables.OPENAI_RESPONSES, "openai responses",
                                    spec.model))
    if spec.tools:
        kwargs["tools"] = [{"type": "function", "name": t["name"],
                            "description": t["description"], "parameters": t["parameters"],
                            "strict": strict_eligible(t["parameters"])} for t in spec.tools]
    if spec.output_schema:
        text = kwargs.setdefault("text", {})
        text["format"] = {"type": "json_schema", "name": _format_name(spec),
                          "schema": spec.output_schema,
                          "strict": strict_eligible(spec.output_schema)}
    return kwargs


def openai_responses(spec: CallSpec, messages: Sequence[Message]) -> dict[str, Any]:
    """Keyword arguments for ``OpenAI().responses.create``."""
    return _responses_with(openai_responses_base(spec), messages)


def _responses_with(base: Mapping[str, Any], messages: Sequence[Message]) -> dict[str, Any]:
    kwargs = dict(base)
    instructions, items = responses_layout(messages)
    if instructions is not None:
        kwargs["instructions"] = instructions
    kwargs["input"] = items
    return kwargs


# -- Anthropic Messages -----------------------------------------------------------------------

def anthropic_base(spec: CallSpec) -> dict[str, Any]:
    _check_provider(spec, "anthropic", ANTHROPIC_PROVIDERS)
    _tool_names(spec, "anthropic")
    kwargs: dict[str, Any] = {"model": spec.model}
    kwargs.update(tables.map_params(spec.params, tables.ANTHROPIC, "anthropic", spec.model))
    if "max_tokens" not in kwargs:
        raise CallArgsError(f"anthropic requires max_tokens: set params.max_tokens in the "
                            f"model file of {spec.model!r}",
                            detail={"param": "max_tokens", "provider": "anthropic"})
    if spec.tools:
        kwargs["tools"] = [{"name": t["name"], "description": t["description"],
                            "input_schema": t["parameters"]} for t in spec.tools]
    if spec.output_schema:
        config = kwargs.setdefault("output_config", {})
        config["format"] = {"type": "json_schema", "schema": closed(spec.output_schema)}
    return kwargs


def closed(schema: Any) -> Any:
    """``schema`` with ``additionalProperties: false`` on every object that leaves it
    unset, as Anthropic's structured outputs require. Only ever stricter: an answer valid
    under the result is valid under ``schema``, which ``parse`` checks."""
    if isinstance(schema, list):
        return [closed(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out = {key: (value if key in ("enum", "const", "default", "examples") else closed(value))
           for key, value in schema.items()}
    if out.get("type") == "object" and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def anthropic(spec: CallSpec, messages: Sequence[Message]) -> dict[str, Any]:
    """Keyword arguments for ``Anthropic().messages.create``."""
    return _anthropic_with(anthropic_base(spec), messages)


def _anthropic_with(base: Mapping[str, Any], messages: Sequence[Message]) -> dict[str, Any]:
    kwargs = dict(base)
    system, turns = anthropic_layout(messages)
    if system is not None:
        kwargs["system"] = system
    kwargs["messages"] = turns
    return kwargs


# -- LiteLLM ----------------------------------------------------------------------------------

def litellm_base(spec: CallSpec) -> dict[str, Any]:
    return _chat_shape(spec, f"{spec.provider}/{spec.model}", tables.LITELLM, "litellm")


def litellm(spec: CallSpec, messages: Sequence[Message]) -> dict[str, Any]:
    """Keyword arguments for ``litellm.completion`` (the OpenAI shape, ``provider/model``)."""
    return _with_messages(litellm_base(spec), messages)


# -- per released bundle ----------------------------------------------------------------------

APIS: dict[str, tuple[Callable[[CallSpec], dict[str, Any]],
                      Callable[[Mapping[str, Any], Sequence[Message]], dict[str, Any]]]] = {
    "openai": (openai_chat_base, _with_messages),
    "openai_responses": (openai_responses_base, _responses_with),
    "anthropic": (anthropic_base, _anthropic_with),
    "litellm": (litellm_base, _with_messages),
}
# released bundle -> {api: base kwargs, "spec": CallSpec}; dropped with the bundle
_cache: WeakKeyDictionary[Any, dict[str, Any]] = WeakKeyDictionary()


def cached(released: Any) -> dict[str, Any]:
    """The per-bundle cache entry (built parts are kept here, errors are not)."""
    entry = _cache.get(released)
    if entry is None:
        entry = _cache[released] = {"spec": CallSpec.of(released)}
    return entry


def call_kwargs(api: str, released: Any, messages: Sequence[Message]) -> dict[str, Any]:
    """``api``'s keyword arguments for a released bundle and its rendered messages."""
    entry = cached(released)
    base = entry.get(api)
    if base is None:
        build, _ = APIS[api]
        base = entry[api] = build(entry["spec"])
    return APIS[api][1](base, messages)
