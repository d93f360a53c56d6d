"""A model's answer read back: text or JSON, and tool calls, validated against the bundle.

Accepts an OpenAI chat completion, an OpenAI Responses result or an Anthropic message,
as the SDK's object or its dict form. ``jsonschema`` is imported here, on the first parse,
and one validator per schema is kept with the bundle.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

from promptctl.errors import (
    InvalidJSONOutput,
    InvalidToolArguments,
    OutputError,
    OutputSchemaViolation,
    UnknownToolCall,
)
from promptctl.providers.spec import CallSpec


class ToolCall(NamedTuple):
    id: str
    name: str
    arguments: dict[str, Any]


class ParsedOutput(NamedTuple):
    """What the model answered. ``data`` is the JSON answer, validated, when the prompt has
    an ``output_schema`` and this is a final answer (no tool calls), else ``None``."""

    api: str  # "openai" | "openai_responses" | "anthropic"
    text: str | None
    data: Any
    tool_calls: list[ToolCall]
    finish_reason: str | None


class OutputCheck(NamedTuple):
    """Outcome counters for telemetry: ``None`` where there was nothing to check."""

    schema_valid: bool | None
    tool_args_valid: bool | None
    error: OutputError | None

    @property
    def ok(self) -> bool:
        return self.error is None


class _Raw(NamedTuple):
    api: str
    text: str | None
    calls: list[tuple[str, str, Any]]  # (id, name, arguments as str or dict)
    finish_reason: str | None
    refusal: str | None


def as_dict(response: Any) -> Mapping[str, Any]:
    """The dict form of an SDK response object (pydantic models of both SDKs)."""
    if isinstance(response, Mapping):
        return response
    dump = getattr(response, "model_dump", None)
    if callable(dump):
        return dump(mode="json")  # type: ignore[no-any-return]
    raise OutputError(f"not a model response: {type(response).__name__}")


def read(response: Any) -> _Raw:
    """Text, tool calls and stop reason of any of the three response shapes."""
    data = as_dict(response)
    try:
        if "choices" in data:
            return _read_chat(data)
        if data.get("object") == "response" or "output" in data:
            return _read_responses(data)
        if data.get("type") == "message" and isinstance(data.get("content"), list):
            return _read_anthropic(data)
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise OutputError(f"malformed model response: {exc!r}") from None
    raise OutputError("not an OpenAI chat completion, Responses result or Anthropic message")


def _read_chat(data: Mapping[str, Any]) -> _Raw:
    choice = data["choices"][0]
    message = choice["message"]
    calls = [(c["id"], c["function"]["name"], c["function"]["arguments"])
             for c in message.get("tool_calls") or [] if c.get("type", "function") == "function"]
    return _Raw("openai", message.get("content"), calls, choice.get("finish_reason"),
                message.get("refusal"))


def _read_responses(data: Mapping[str, Any]) -> _Raw:
    texts: list[str] = []
    calls: list[tuple[str, str, Any]] = []
    refusal = None
    for item in data["output"]:
        if item["type"] == "message":
            for part in item["content"]:
                if part["type"] == "output_text":
                    texts.append(part["text"])
                elif part["type"] == "refusal":
                    refusal = part["refusal"]
        elif item["type"] == "function_call":
            calls.append((item["call_id"], item["name"], item["arguments"]))
    return _Raw("openai_responses", "".join(texts) if texts else None, calls,
                data.get("status"), refusal)


def _read_anthropic(data: Mapping[str, Any]) -> _Raw:
    texts = [block["text"] for block in data["content"] if block["type"] == "text"]
    calls = [(b["id"], b["name"], b["input"]) for b in data["content"] if b["type"] == "tool_use"]
    stop = data.get("stop_reason")
    return _Raw("anthropic", "".join(texts) if texts else None, calls, stop,
                "the model refused" if stop == "refusal" else None)


def _validator(entry: dict[str, Any], key: str, schema: Mapping[str, Any]) -> Any:
    validators = entry.setdefault("validators", {})
    validator = validators.get(key)
    if validator is None:
        from jsonschema.validators import validator_for

        validator = validators[key] = validator_for(schema)(schema)
    return validator


def _violation(validator: Any, instance: Any) -> str | None:
    from jsonschema.exceptions import best_match

    error = best_match(validator.iter_errors(instance))
    if error is None:
        return None
    where = "/" + "/".join(str(p) for p in error.absolute_path)
    return f"at {where}: {error.message}"[:300]


def check_text(spec: CallSpec, entry: dict[str, Any], raw: _Raw) -> Any:
    """The JSON answer, validated; ``None`` when the prompt has no ``output_schema``."""
    if raw.refusal:
        raise OutputError(f"the model refused: {raw.refusal}"[:300])
    if not spec.output_schema or raw.calls:
        return None  # a tool turn: its text is commentary, the JSON answer comes later
    if raw.text is None:
        raise InvalidJSONOutput(f"{spec.name}: the answer has no text, and output_schema asks "
                                "for JSON")
    try:
        data = json.loads(raw.text)
    except ValueError as exc:
        raise InvalidJSONOutput(f"{spec.name}: the answer is not JSON ({exc})",
                                detail={"text": raw.text[:1000]}) from None
    problem = _violation(_validator(entry, "output_schema", spec.output_schema), data)
    if problem:
        raise OutputSchemaViolation(f"{spec.name}: the answer breaks output_schema {problem}",
                                    detail={"text": raw.text[:1000]})
    return data


def check_calls(spec: CallSpec, entry: dict[str, Any], raw: _Raw) -> list[ToolCall]:
    """The tool calls, each known and with arguments valid for its ``parameters``."""
    calls = []
    for call_id, name, arguments in raw.calls:
        tool = spec.tool(name)
        if tool is None:
            raise UnknownToolCall(f"the model called {name!r}, which {spec.name} does not "
                                  f"define (tools: {', '.join(t['name'] for t in spec.tools)})",
                                  detail={"tool": name})
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except ValueError as exc:
                raise InvalidToolArguments(f"tool call {name!r}: arguments are not JSON "
                                           f"({exc})", detail={"tool": name}) from None
        if not isinstance(arguments, dict):
            raise InvalidToolArguments(f"tool call {name!r}: arguments are not an object",
                                       detail={"tool": name})
        problem = _violation(_validator(entry, f"tool:{name}", tool["parameters"]), arguments)
        if problem:
            raise InvalidToolArguments(f"tool call {name!r}: arguments break its parameters "
                                       f"{problem}", detail={"tool": name})
        calls.append(ToolCall(call_id, name, arguments))
    return calls


def parse(spec: CallSpec, entry: dict[str, Any], response: Any) -> ParsedOutput:
    """The validated answer; raises an :class:`OutputError` subclass on invalid output."""
    raw = read(response)
    calls = check_calls(spec, entry, raw)
    data = check_text(spec, entry, raw)
    return ParsedOutput(raw.api, raw.text, data, calls, raw.finish_reason)


def check(spec: CallSpec, entry: dict[str, Any], response: Any) -> OutputCheck:
    """Like :func:`parse`, but the verdicts as booleans (for outcome counters); never raises
    on invalid output (an unreadable response is an error with both verdicts ``None``)."""
    try:
        raw = read(response)
    except OutputError as exc:
        return OutputCheck(None, None, exc)
    first: OutputError | None = None
    tool_ok: bool | None = None
    if raw.calls:
        try:
            check_calls(spec, entry, raw)
            tool_ok = True
        except OutputError as exc:
            tool_ok, first = False, exc
    schema_ok: bool | None = None
    if spec.output_schema and not raw.calls:
        try:
            check_text(spec, entry, raw)
            schema_ok = True
        except OutputError as exc:
            schema_ok, first = False, first or exc
    return OutputCheck(schema_ok, tool_ok, first)
