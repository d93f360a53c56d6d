"""Checking a model's output against the prompt's ``output_schema`` and its tool calls'
arguments against the tools' ``parameters``, on the SDK's background thread.

``jsonschema`` loads here on the first check (never at import, never in ``track()``), and
one validator is built per schema and kept (bounded) by the bundle's fingerprint.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

MAX_VALIDATORS = 512


class Checker:
    def __init__(self) -> None:
        self._validators: dict[tuple[str, str], Any] = {}

    def _validator(self, key: tuple[str, str], schema: Mapping[str, Any]) -> Any:
        validator = self._validators.get(key)
        if validator is None:
            from jsonschema import validators

            cls = validators.validator_for(schema)
            validator = cls(schema)
            if len(self._validators) >= MAX_VALIDATORS:
                self._validators.clear()
            self._validators[key] = validator
        return validator

    def output_valid(self, bundle: Any, output: object) -> bool | None:
        """Whether ``output`` (a parsed value, or JSON text) fits the bundle's
        ``output_schema``; None when the prompt declares none."""
        schema = bundle.output_schema
        if not schema:
            return None
        value = _parsed(output)
        if value is _INVALID:
            return False
        return bool(self._validator((bundle.fingerprint, ""), schema).is_valid(value))

    def tool_calls_valid(self, bundle: Any, calls: object) -> tuple[int, int]:
        """``(checked, valid)`` over ``calls``: ``[{"name", "arguments"}]`` (arguments a
        mapping or JSON text, as providers return them). A tool the bundle does not have
        is invalid."""
        if not isinstance(calls, list | tuple):
            return 1, 0
        tools = {t["name"]: t["parameters"] for t in bundle.tools}
        valid = 0
        for call in calls:
            name = call.get("name") if isinstance(call, Mapping) else None
            schema = tools.get(name) if isinstance(name, str) else None
            if schema is None or not isinstance(call, Mapping):
                continue
            args = _parsed(call.get("arguments", {}))
            if args is not _INVALID and self._validator((bundle.fingerprint, str(name)),
                                                        schema).is_valid(args):
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
