"""Variables with a full JSON Schema beside the short types, checked by render() (issue 13,
part c)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError as PydanticValidationError

from promptctl.errors import RenderError
from promptctl.model import Prompt, Variable, prompt_from_content
from promptctl.templating import render_prompt
from tests.format_fixtures import repo_with

SCHEMA_PROMPT = """\
kind: prompt
name: triage
version: 1.0.0
description: triage with constrained inputs
model: support-chat@1.0.0
variables:
  tier: {schema: {enum: [free, pro]}}
  order_id: {type: string, schema: {pattern: "^A-[0-9]+$"}}
  priority: {type: integer, default: 3, schema: {minimum: 1, maximum: 5}}
  tags: {schema: {type: array, items: {type: string}, maxItems: 3}, default: []}
template:
  user: "{{ tier }} {{ order_id }} {{ priority }} {{ tags | join(',') }}"
"""


def triage() -> Prompt:
    import yaml

    return Prompt.model_validate(yaml.safe_load(SCHEMA_PROMPT))


def test_values_that_match_the_schemas_render() -> None:
    messages = render_prompt(triage(), {"tier": "pro", "order_id": "A-7", "tags": ["x"]})
    assert messages == [{"role": "user", "content": "pro A-7 3 x"}]


@pytest.mark.parametrize(("values", "message"), [
    ({"tier": "gold"}, "variable tier: 'gold' is not one of"),
    ({"order_id": "B-1"}, "variable order_id: 'B-1' does not match"),
    ({"priority": 9}, "variable priority: 9 is greater than the maximum of 5"),
    ({"tags": ["a", 1]}, "variable tags: 1 is not of type 'string' (at 1)"),
    ({"priority": "3"}, "variable priority must be integer, got str"),
])
def test_a_value_outside_its_schema_is_a_one_line_render_error(values: dict[str, Any],
                                                              message: str) -> None:
    base: dict[str, Any] = {"tier": "free", "order_id": "A-1"}
    with pytest.raises(RenderError) as info:
        render_prompt(triage(), base | values)
    assert message in info.value.message and "\n" not in info.value.message


def test_the_sdk_prompt_checks_schemas_too() -> None:
    light = prompt_from_content(triage().content())
    with pytest.raises(RenderError, match="is not one of"):
        render_prompt(light, {"tier": "gold", "order_id": "A-1"})


def test_schemas_are_part_of_the_content_and_old_variables_are_unchanged() -> None:
    content = triage().content()
    assert content["variables"]["tier"] == {"schema": {"enum": ["free", "pro"]}}
    assert Variable(type="string").model_dump(exclude_defaults=True) == {"type": "string"}


@pytest.mark.parametrize(("decl", "message"), [
    ({}, "needs a `type`, a `schema` or both"),
    ({"schema": {"type": "nope"}}, "invalid JSON Schema"),
    ({"schema": {"enum": ["a"]}, "default": "b"}, "does not match the schema"),
])
def test_bad_declarations_are_refused(decl: dict[str, Any], message: str) -> None:
    with pytest.raises(PydanticValidationError, match=message):
        Variable.model_validate(decl)


def test_the_cli_types_values_from_the_schema_and_reports_violations(tmp_path: Path) -> None:
    _, cli = repo_with(tmp_path, {"prompts/triage.prompt.yaml": SCHEMA_PROMPT})
    assert cli("lint").exit_code == 0
    result = cli("render", "triage", "--var", "tier=pro", "--var", "order_id=A-1",
                 "--var", 'tags=["a","b"]', "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["messages"][0]["content"] == "pro A-1 3 a,b"
    result = cli("render", "triage", "--var", "tier=gold", "--var", "order_id=A-1")
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0 and "is not one of" in result.output
