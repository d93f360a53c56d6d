"""Rendering: typed variables, strict undefined, and the sandbox."""

from __future__ import annotations

import re
import time

import pytest
from jinja2 import TemplateSyntaxError

from promptctl.errors import RenderError
from promptctl.limits import Limits
from promptctl.model import Prompt, Variable
from promptctl.templating import (
    coerce_cli_value,
    render_prompt,
    template_complexity_findings,
    template_variables,
)


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


# --- bounded resources: a template cannot exhaust CPU or memory --------------------------------
#
# Inputs here are scaled down against small limits, so a missing bound fails fast (the value
# gets built, and the test sees the wrong message or none) instead of eating the machine. The
# full-size attacks from the issue run in a subprocess under a memory cap and a timeout in
# tests/cli/test_render_limits.py.

SMALL = Limits(max_render_chars=10_000, render_timeout_seconds=0.3, max_range=1_000,
               max_template_nesting=16)


def render_small(template: str, **values: object) -> str:
    variables = ({name: {"type": type_name(v)} for name, v in values.items()}
                 or {"unused": {"type": "string", "default": ""}})
    return render_prompt(prompt(template, **variables), values, SMALL)[1]["content"]


def type_name(value: object) -> str:
    return {int: "integer", str: "string", list: "array"}[type(value)]


@pytest.mark.parametrize(("template", "message"), [
    ("{{ 'a' * 10**6 }}", r"'\*' would build about 1000000 characters, more than "
                          r"max_render_chars \(10000\)"),
    ("{{ 10**6 * 'a' }}", r"'\*' would build about 1000000 characters"),
    ("{{ ([1] * 10**6)|length }}", r"'\*' would build about \d+ characters"),
    ("{{ ([[1] * 100] * 1000)|length }}", r"'\*' would build about \d+ characters"),
    ("{{ x ** 100000 }}", r"'\*\*' would build an integer of about 100000 digits"),
    ("{% set ns = namespace(n=3) %}{% for i in range(14) %}{% set ns.n = ns.n * ns.n %}"
     "{% endfor %}", r"'\*' would build an integer of about \d+ digits"),
    ("{% set ns = namespace(s='ab') %}{% for i in range(20) %}{% set ns.s = ns.s + ns.s %}"
     "{% endfor %}", r"'\+' would build about 16384 characters"),
    ("{% set ns = namespace(s='ab') %}{% for i in range(20) %}{% set ns.s = ns.s ~ ns.s %}"
     "{% endfor %}", r"'~' would build about 16384 characters"),
])
def test_operators_refuse_results_over_the_bound_before_building_them(template: str,
                                                                       message: str):
    with pytest.raises(RenderError, match=f"^template user: {message}"):
        render_small(template, x=10)


@pytest.mark.parametrize(("template", "what"), [
    ("{{ s.center(10**6) }}", "str.center()"),
    ("{{ s.ljust(10**6) }}", "str.ljust()"),
    ("{{ s.rjust(10**6, '-') }}", "str.rjust()"),
    ("{{ s.zfill(10**6) }}", "str.zfill()"),
    ("{{ ('\t' * 100).expandtabs(10**4) }}", "str.expandtabs()"),
    ("{{ (s * 1000).replace('', 'x' * 100) }}", "str.replace()"),
    ("{{ ('x' * 100).join(['y' * 100] * 90) }}", "str.join()"),
    ("{{ '{:>1000000}'.format(s) }}", "str.format()"),
    ("{{ '{:.{w}f}'.format(1.5, w=10**6) }}", "str.format()"),
    ("{{ '%*s' % (10**6, s) }}", "'%' format width"),
    ("{{ '%1000000s' % s }}", "'%' format width"),
    ("{{ '%.1000000f' % 1.5 }}", "'%' format width"),
    ("{{ '%*s'|format(10**6, s) }}", "'%' format width"),
    ("{{ s|center(10**6) }}", "|center"),
    ("{{ s|indent(10**6, first=true) }}", "|indent"),
    ("{{ (s * 1000)|replace('', 'x' * 100) }}", "|replace"),
    ("{{ ((s + ' ') * 1000)|wordwrap(1, wrapstring='x' * 100) }}", "|wordwrap"),
    ("{{ [[[[s]]]]|tojson(indent=10**5) }}", "|tojson"),
    ("{{ (['y' * 100] * 90)|join('x' * 100) }}", "|join"),
])
def test_string_growth_is_refused_before_it_happens(template: str, what: str):
    with pytest.raises(RenderError, match=f"^template user: {re.escape(what)} would build about"):
        render_small(template, s="ab")


def test_shared_references_are_measured_as_the_text_they_print():
    # b holds one 5,000-character string 10 times: tiny in memory, 50,000 characters as text
    aliased = "{% set a = ['a' * 5000] %}{% set b = [a, a, a, a, a, a, a, a, a, a] %}"
    for use in ("{{ b }}", "{{ b|string }}", "{{ b|map('join')|join }}", "{{ b ~ '' }}",
                "{{ '%s' % (b,) }}", "{{ '{}'.format(b) }}", "{{ b|pprint }}"):
        with pytest.raises(RenderError, match="max_render_chars"):
            render_small(aliased + use)


def test_range_is_bounded_by_max_range():
    assert render_small("{{ range(1000)|list|length }}") == "1000"
    with pytest.raises(RenderError, match=r"range\(\) of 1001 items is more than max_range "
                                          r"\(1000\)"):
        render_small("{{ range(1001)|list|length }}")
    with pytest.raises(RenderError, match=r"\|batch\(1001\) makes more than max_range"):
        render_small("{{ [1]|batch(1001, 0)|list|length }}")


def test_output_is_streamed_and_stops_at_max_render_chars():
    assert len(render_small("{% for i in range(100) %}" + "a" * 100 + "{% endfor %}")) == 10_000
    with pytest.raises(RenderError, match=r"^template user: template produces more than 10000 "
                                          r"characters of text \(limit max_render_chars\)$"):
        render_small("{% for i in range(101) %}" + "a" * 100 + "{% endfor %}")


def test_text_built_inside_macros_counts_toward_the_bound():
    with pytest.raises(RenderError, match="produces more than 10000 characters"):
        render_small("{% macro m() %}{% for i in range(1000) %}{{ s }}{% endfor %}{% endmacro %}"
                     "{{ m()|length }}", s="a" * 100)


@pytest.mark.parametrize("template", [
    "{% for a in items %}{% for b in items %}{% for c in items %}{% endfor %}{% endfor %}"
    "{% endfor %}",  # no call, no output: only the loop itself can see the clock
    "{% for a in range(300) %}{% for b in range(300) %}{% for c in range(300) %}"
    "{% endfor %}{% endfor %}{% endfor %}",
    "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
    "{{ f(20) }}",
])
def test_a_render_stops_after_render_timeout_seconds(template: str):
    # each of these runs for seconds unbounded (27 million iterations or a million calls)
    started = time.monotonic()
    with pytest.raises(RenderError, match=r"^template user: render took longer than 0.3 s "
                                          r"\(limit render_timeout_seconds\)$"):
        render_small(template, items=list(range(300)))
    assert time.monotonic() - started < 3


def test_templates_cannot_change_the_values_an_app_passes():
    items = [1]
    with pytest.raises(RenderError, match="refused by the sandbox"):
        render_small("{{ items.extend(items) }}", items=items)
    assert items == [1]


def test_lipsum_is_not_available():
    with pytest.raises(RenderError, match="'lipsum' is undefined"):
        render_small("{{ lipsum(1000) }}")


def test_a_macro_that_calls_itself_forever_is_a_one_line_error():
    with pytest.raises(RenderError, match="recurses too deeply") as info:
        render_small("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")
    assert "\n" not in info.value.message


@pytest.mark.parametrize(("template", "message"), [
    ("{{ " + "(" * 5000 + "x" + ")" * 5000 + " }}", "expression nests 5000 deep, more than "
                                                      r"max_template_nesting \(16\)"),
    ("{{ " + "[" * 5000 + "]" * 5000 + " }}", "expression nests 5000 deep"),
    ("{{ " + "not " * 5000 + "x }}", "expression nests 5000 deep"),
    ("{{ " + "-" * 5000 + "x }}", "expression nests 5000 deep"),
    ("{{ " + "x if x else " * 5000 + "x }}", "expression nests 5000 deep"),
    ("{{ " + " + ".join(["x"] * 5000) + " }}", "nests too deeply to compile"),
    ("{{ x" + "|abs" * 5000 + " }}", "nests too deeply to compile"),
    ("{% if x %}" * 5000 + "{% endif %}" * 5000, "nests too deeply to parse"),
    ("{% for i in [1] %}" * 25 + "{% endfor %}" * 25, "blocks nest 25 deep, more than "
                                                        r"max_template_nesting \(16\)"),
])
def test_deep_nesting_is_a_one_line_error_never_a_recursion_error(template: str, message: str):
    with pytest.raises(RenderError, match=message) as info:
        render_prompt(prompt(template, x={"type": "integer"}), {"x": 1})
    assert "\n" not in info.value.message


def test_lint_check_names_templates_that_can_never_render():
    assert template_complexity_findings("{% for i in [1] %}" * 16 + "{% endfor %}" * 16) == []
    assert template_complexity_findings("{% for i in [1] %}" * 17 + "{% endfor %}" * 17) == [
        "blocks nest 17 deep, more than max_template_nesting (16)"]
    elifs = "{% if x %}" + "{% elif x %}" * 30 + "{% endif %}"
    assert template_complexity_findings(elifs) == []


def test_variables_of_a_deeply_nested_template_raise_a_syntax_error():
    with pytest.raises(TemplateSyntaxError, match="nests 5000 deep"):
        template_variables("{{ " + "(" * 5000 + "x" + ")" * 5000 + " }}")
    with pytest.raises(TemplateSyntaxError, match="too deeply"):
        template_variables("{{ " + " ~ x + ".join(["x"] * 5000) + " }}")


def test_ordinary_templates_render_as_before():
    template = ("{% set ns = namespace(total=0) %}{% for n in items %}{% set ns.total = "
                "ns.total + n * 2 %}{{ loop.index }}:{{ '%03d' % n }} {% endfor %}"
                "{{ ns.total }} {{ '{:>5}|{}'.format(s, items) }} {{ s|center(6) }}"
                "{{ ['a', 'b']|join(', ') }} {{ 2 ** 10 }} {{ s * 2 ~ '!' }}")
    assert render_small(template, items=[1, 2, 3], s="ab") == (
        "1:001 2:002 3:003 12    ab|[1, 2, 3]   ab  a, b 1024 abab!")
