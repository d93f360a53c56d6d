"""Model params (the ``params`` of a model file) mapped to each provider API's names.

A model file uses one vocabulary (OpenAI's names, plus ``top_k``/``stop_sequences``);
each table says what that param is called in one API, checked against the official
SDKs' ``create()`` signatures (openai 3.x ``chat.completions``/``responses``, anthropic
2.x ``messages``, litellm ``completion``). A param missing from a table is refused with
:class:`UnsupportedParam`, never dropped: a silently lost ``temperature`` changes the
output with nothing in the logs to say why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptctl.errors import CallArgsError, UnsupportedParam

# Params every OpenAI-shaped chat API takes under the same name.
_CHAT_SAME = ("temperature", "top_p", "seed", "stop", "presence_penalty", "frequency_penalty",
              "n", "logit_bias", "logprobs", "top_logprobs", "parallel_tool_calls",
              "reasoning_effort", "verbosity", "service_tier", "store", "metadata", "user",
              "safety_identifier", "prompt_cache_key", "prompt_cache_retention")

# model-file name -> the API's name ("a.b" sets a key in a nested object)
OPENAI_CHAT: dict[str, str] = {
    **{name: name for name in _CHAT_SAME},
    # max_tokens is deprecated in Chat Completions and refused by reasoning models
    "max_tokens": "max_completion_tokens",
    "max_completion_tokens": "max_completion_tokens",
    "max_output_tokens": "max_completion_tokens",
    "stop_sequences": "stop",
}
OPENAI_RESPONSES: dict[str, str] = {
    **{name: name for name in ("temperature", "top_p", "top_logprobs", "parallel_tool_calls",
                               "service_tier", "store", "metadata", "user", "safety_identifier",
                               "prompt_cache_key", "prompt_cache_retention", "max_tool_calls",
                               "truncation")},
    "max_tokens": "max_output_tokens",
    "max_completion_tokens": "max_output_tokens",
    "max_output_tokens": "max_output_tokens",
    "reasoning_effort": "reasoning.effort",
    "verbosity": "text.verbosity",
}
ANTHROPIC: dict[str, str] = {
    "max_tokens": "max_tokens",
    "max_completion_tokens": "max_tokens",
    "max_output_tokens": "max_tokens",
    "stop": "stop_sequences",
    "stop_sequences": "stop_sequences",
    "service_tier": "service_tier",
    "metadata": "metadata",
    "thinking": "thinking",
    "inference_geo": "inference_geo",
    "speed": "speed",
    "effort": "output_config.effort",
    "reasoning_effort": "output_config.effort",
}
LITELLM: dict[str, str] = {
    **{name: name for name in _CHAT_SAME},
    # LiteLLM translates max_tokens for every provider; keep the name it documents
    "max_tokens": "max_tokens",
    "max_completion_tokens": "max_completion_tokens",
    "max_output_tokens": "max_tokens",
    "stop_sequences": "stop",
    "top_k": "top_k",
    "thinking": "thinking",
}

_HINTS = {
    ("anthropic", "temperature"): "the Messages API of the current anthropic SDK takes no "
                                  "sampling params",
    ("anthropic", "top_p"): "the Messages API of the current anthropic SDK takes no sampling "
                            "params",
    ("anthropic", "top_k"): "the Messages API of the current anthropic SDK takes no sampling "
                            "params",
}


def map_params(params: Mapping[str, Any], table: Mapping[str, str], api: str,
               model_name: str) -> dict[str, Any]:
    """``params`` under ``api``'s names; raises on a param ``api`` does not accept."""
    out: dict[str, Any] = {}
    source: dict[str, str] = {}
    for name, value in params.items():
        target = table.get(name)
        if target is None:
            hint = _HINTS.get((api, name), f"{api} accepts: {', '.join(sorted(table))}")
            raise UnsupportedParam(
                f"model {model_name!r} sets {name!r}, which {api} does not accept ({hint}); "
                "remove it or pin a model file for that provider",
                detail={"param": name, "provider": api})
        if target in source:
            raise CallArgsError(f"model {model_name!r} sets both {source[target]!r} and "
                                f"{name!r}, which are the same {api} param {target!r}",
                                detail={"param": name, "provider": api})
        source[target] = name
        if target == "stop_sequences" and isinstance(value, str):
            value = [value]
        head, _, key = target.partition(".")
        if key:
            out.setdefault(head, {})[key] = value
        else:
            out[target] = value
    return out
