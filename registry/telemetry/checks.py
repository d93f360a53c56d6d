"""Checking a model's output against the prompt's ``output_schema`` and its tool calls'
arguments against the tools' ``parameters``, on the SDK's background thread.

The common shapes are checked by :mod:`promptctl.telemetry.mini_schema` (microseconds);
a schema using anything else loads ``jsonschema`` here on its first check (never at import,
never in ``track()``). One checker is built per schema and kept (bounded) by fingerprint.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from promptctl.telemetry.mini_schema import compile_schema

MAX_VALIDATORS = 512


class Checker:
    def __init__(self) -> None:
        self._validators: dict[tuple[str, str], Any] = {}
        # Per fingerprint: the output schema and the tools' parameters, read once (a
        # bundle's properties parse its document on each access).
        self._shapes: dict[str, tuple[Any, dict[str, Any]]] = {}

    def _shape(self, bundle: Any) -> tuple[Any, dict[str, Any]]:
        shape = self._shapes.get(bundle.fingerprint)
        if shape is None:
            shape = (bundle.output_schema, {t["name"]: t["parameters"] for t in bundle.tools})
            if len(self._shapes) >= MAX_VALIDATORS:
                self._shapes.clear()
            self._shapes[bundle.fingerprint] = shape
        return shape

    def _validator(self, key: tuple[str, str], schema: Mapping[str, Any]) -> Any:
        validator = self._validators.get(key)
        if validator is None:
            validator = compile_schema(schema)  # the common shapes: microseconds a check
            if validator is None:
                from jsonschema import validators

                validator = validators.validator_for(schema)(schema).is_valid
            if len(self._validators) >= MAX_VALIDATORS:
                self._validators.clear()
            self._validators[key] = validator
        return validator

    def output_valid(self, bundle: Any, output: object) -> bool | None:
        """Whether ``output`` (a parsed value, or JSON text) fits the bundle's
        ``output_schema``; None when the prompt declares none."""
        schema = self._shape(bundle)[0]
        if not schema:
            return None
        value = _parsed(output)
        if value is _INVALID:
            return False
        return bool(self._validator((bundle.fingerprint, ""), schema)(value))

    def tool_calls_valid(self, bundle: Any, calls: object) -> tuple[int, int]:
        """``(checked, valid)`` over ``calls``: ``[{"name", "arguments"}]`` (arguments a
        mapping or JSON text, as providers return them). A tool the bundle does not have
        is invalid."""
        if not isinstance(calls, list | tuple):
            return 1, 0
        tools = self._shape(bundle)[1]
        valid = 0
        for call in calls:
            name = call.get("name") if isinstance(call, Mapping) else None
            schema = tools.get(name) if isinstance(name, str) else None
            if schema is None or not isinstance(call, Mapping):
                continue
            args = _parsed(call.get("arguments", {}))
            if args is not _INVALID and self._validator((bundle.fingerprint, str(name)),
                                                        schema)(args):
                valid += 1
        return len(calls), valid


_INVALID = object()


def _parsed(value: object) -> object:
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError:
            return _INVALID
    return value
