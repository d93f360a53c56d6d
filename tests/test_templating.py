"""Rendering: typed variables, strict undefined, and the sandbox."""

from __future__ import annotations

import pytest

from promptctl.errors import RenderError
from promptctl.model import Prompt, Variable
from promptctl.templating import coerce_cli_value, render_prompt


def prompt(user: str, **variables: dict) -> Prompt:
    return Prompt.model_validate({
        "kind": "prompt", "name": "p", "version": "1.0.0", "description": "d",
        "model": "m@1.0.0", "template": {"system": "sys", "user": user},
        "variables": variables or {"name": {"type": "string"}},
    })


def test_renders_chat_messages_with_defaults_applied():
    p = prompt("{{ name }} x{{ count }}", name={"type": "string"},
               count={"type": "integer", "default": 3})
    assert render_prompt(p, {"name": "Ann"}) == [
        {"role": "system", "content": "sys"}, {"role": "user", "content": "Ann x3"}]


def test_missing_required_variable():
    with pytest.raises(RenderError, match="missing required variable"):
        render_prompt(prompt("{{ name }}"), {})


def test_extra_variable_is_refused():
    with pytest.raises(RenderError, match=r"undeclared variable\(s\): nickname"):
        render_prompt(prompt("{{ name }}"), {"name": "Ann", "nickname": "A"})


@pytest.mark.parametrize(("type_name", "value"), [
    ("string", 5), ("integer", "5"), ("integer", True), ("number", "1.5"),
    ("boolean", "yes"), ("array", "a,b"), ("object", []),
])
def test_mistyped_variable(type_name: str, value: object):
    with pytest.raises(RenderError, match=f"must be {type_name}"):
        render_prompt(prompt("{{ v }}", v={"type": type_name}), {"v": value})


def test_all_problems_in_one_error():
    p = prompt("{{ a }}{{ b }}", a={"type": "string"}, b={"type": "integer"})
    with pytest.raises(RenderError) as info:
        render_prompt(p, {"b": "x", "c": 1})
    assert "undeclared" in info.value.message and "missing" in info.value.message
    assert "must be integer" in info.value.message


@pytest.mark.parametrize("attack", [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ name.__class__.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os }}",
])
def test_sandbox_refuses_attribute_tricks(attack: str):
    with pytest.raises(RenderError, match="refused by the sandbox"):
        render_prompt(prompt(attack), {"name": "x"})


def test_cli_values_are_coerced_to_declared_types():
    assert coerce_cli_value(Variable(type="integer"), "42") == 42
    assert coerce_cli_value(Variable(type="boolean"), "false") is False
    assert coerce_cli_value(Variable(type="array"), '["a", 1]') == ["a", 1]
    assert coerce_cli_value(None, "plain") == "plain"
    with pytest.raises(RenderError, match="not a valid integer"):
        coerce_cli_value(Variable(type="integer"), "4.2")


def test_block_tags_on_their_own_line_leave_no_blank_line():
    p = prompt("a\n{% if flag %}\nflagged\n{% endif %}\nb", flag={"type": "boolean"})
    assert render_prompt(p, {"flag": False})[1]["content"] == "a\nb"
    assert render_prompt(p, {"flag": True})[1]["content"] == "a\nflagged\nb"
