"""Templates that only print and test declared variables render without Jinja, with exactly
Jinja's output and errors (``promptctl.fast_render``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptctl.errors import RenderError
from promptctl.limits import DEFAULT_LIMITS, Limits
from promptctl.model import Prompt
from promptctl.templating import SnippetTexts, render_prompt, renders_without_jinja

FUZZ = settings(max_examples=int(os.environ.get("PROMPTCTL_FUZZ_EXAMPLES", "40")),
                deadline=None, suppress_health_check=[HealthCheck.too_slow])
SNIPPET = "s@1.0.0"
ANY: dict[str, Any] = {"schema": {}}  # a variable that takes any value


class Boom:
    """A value whose every use fails: both paths must fail the same way."""

    def __str__(self) -> str:
        raise ValueError("no text")

    def __bool__(self) -> bool:
        raise TypeError("no truth")

    def __eq__(self, other: object) -> bool:
        raise LookupError("no equality")

    __hash__ = object.__hash__


def prompt(messages: list[dict[str, Any]], fmt: str | None = None,
           snippets: list[str] | None = None) -> Prompt:
    return Prompt.model_validate({
        "kind": "prompt", "name": "p", "version": "1.0.0", "description": "d",
        "model": "m@1.0.0", "template": {"messages": messages}, "format": fmt,
        "snippets": snippets or [],
        "variables": {"a": ANY, "b": ANY | {"default": ""}, "c": {"schema": {"maxLength": 6}},
                      "self": ANY | {"default": "me"}, "d": {"type": "integer", "default": 1}},
    })


def outcome(p: Prompt, values: dict[str, Any], limits: Limits, snippets: SnippetTexts,
            fast: bool) -> Any:
    try:
        return render_prompt(p, values, limits, snippets, fast=fast)
    except Exception as exc:  # the comparison is the point: class and message
        return type(exc), str(exc)


def assert_same(p: Prompt, values: dict[str, Any], limits: Limits = DEFAULT_LIMITS,
                snippets: SnippetTexts = ()) -> Any:
    fast = outcome(p, values, limits, snippets, fast=True)
    assert fast == outcome(p, values, limits, snippets, fast=False)
    return fast


# --- random templates ------------------------------------------------------------------

text = st.lists(st.sampled_from(["x", " ", "\n", "\r\n", "\r", "\ufeff", "{", "}", "#", "%",
                                 "-", "é", "\t", "'"]), max_size=8).map("".join)
output = st.sampled_from(["{{ a }}", "{{b}}", "{{- c -}}", "{{ a.x }}", "{{ zz }}",
                          "{{ self }}", "{{ a|upper }}", "{{ 'k' }}", "{# note #}",
                          "{% raw %}{{ a }}{% endraw %}"])
test = st.sampled_from(["a", "not b", "a == 'x'", "b != 1", "a and b", "a or not c",
                        "'x' == a", "a == b", "a is defined", "c == none", "true"])


# What the direct path does: text that never opens a tag, names, simple tests.
plain_text = st.lists(st.sampled_from(["x", " ", "\n", "\r\n", "\ufeff", "{ ", "}", "#", "%",
                                       "-", "é", "\t", "'", "{#-#}"]), max_size=8).map("".join)
plain_output = st.sampled_from(["{{ a }}", "{{b}}", "{{- c -}}", "{# note #}",
                                "{% raw %}{{ a }}{% endraw %}"])
plain_test = st.sampled_from(["a", "not b", "a == 'x'", "b != 1", "a and b", "a or not c",
                              "'x' == a", "a == b", "c == none", "true"])


def _if(parts: st.SearchStrategy[str], test: st.SearchStrategy[str] = test
        ) -> st.SearchStrategy[str]:
    body = st.lists(parts, max_size=3).map("".join)
    dash = st.sampled_from(["", "-"])
    return st.tuples(dash, test, body, st.none() | st.tuples(test, body), st.none() | body,
                     dash).map(
        lambda t: (f"{{%{t[0]} if {t[1]} %}}{t[2]}"
                   + (f"{{% elif {t[3][0]} %}}{t[3][1]}" if t[3] else "")
                   + (f"{{% else %}}{t[4]}" if t[4] is not None else "")
                   + f"{{% endif {t[5]}%}}"))


flat = st.one_of(text, output)
template = st.lists(st.recursive(flat, _if, max_leaves=6), max_size=6).map("".join)
scalar = st.one_of(st.text(max_size=6), st.integers(-5, 5), st.floats(allow_nan=True),
                   st.booleans(), st.none(), st.just("x"), st.builds(Boom))
value = st.one_of(scalar, st.lists(scalar, max_size=3),
                  st.dictionaries(st.text(max_size=2), scalar, max_size=2))
# Undeclared (zz), missing (a, c), mistyped (d) and out-of-schema (c) values too: the
# checks before the render must refuse them with the same message.
values = st.fixed_dictionaries({}, optional={"a": value, "c": value, "b": value, "self": value,
                                             "zz": value, "d": st.one_of(st.integers(), value)})
history = st.one_of(st.just([{"role": "user", "content": "{{ a }}"}]), st.just([]),
                    st.just("no"), st.just([{"role": "robot", "content": "x"}]))
# Small caps put the max_render_chars boundary inside most outputs.
limits = st.one_of(st.just(DEFAULT_LIMITS),
                   st.integers(0, 40).map(lambda cap: Limits(max_render_chars=cap)))


@FUZZ
@given(template, values, limits)
def test_random_templates_render_alike_with_and_without_jinja(
        source: str, given_values: dict[str, Any], bound: Limits) -> None:
    assert_same(prompt([{"role": "user", "content": source}]), given_values, bound)


plain_template = st.lists(st.recursive(st.one_of(plain_text, plain_output),
                                       lambda parts: _if(parts, plain_test), max_leaves=6),
                          max_size=6).map("".join)


@FUZZ
@given(plain_template, values, limits)
def test_templates_of_text_names_and_ifs_take_the_direct_path_with_jinjas_output(
        source: str, given_values: dict[str, Any], bound: Limits) -> None:
    assert renders_without_jinja(source)
    assert_same(prompt([{"role": "user", "content": source}]), given_values, bound)


@FUZZ
@given(st.one_of(template, plain_template), st.sampled_from(["jinja", "literal"]), text,
       values, limits)
def test_included_snippets_render_alike(snippet: str, fmt: str, around: str,
                                        given_values: dict[str, Any], bound: Limits) -> None:
    p = prompt([{"role": "system", "content": f'{around}{{% include "{SNIPPET}" %}}{around}'}],
               snippets=[SNIPPET])
    assert_same(p, given_values, bound, ((SNIPPET, fmt, snippet),))


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["system", "user", "assistant"]), template,
                          st.sampled_from([None, "jinja", "literal"])), min_size=1, max_size=3),
       st.sampled_from([None, "literal"]), st.booleans(), values, history)
def test_chat_messages_literal_formats_and_placeholders_render_alike(
        parts: list[tuple[str, str, str | None]], prompt_format: str | None,
        with_history: bool, given_values: dict[str, Any], passed: Any) -> None:
    messages: list[dict[str, Any]] = [{"role": role, "content": source, "format": fmt}
                                      for role, source, fmt in parts]
    if with_history:
        messages.insert(1, {"placeholder": "history", "default": []})
        given_values = given_values | {"history": passed}
    assert_same(prompt(messages, prompt_format), given_values)


# --- which templates take the direct path ----------------------------------------------

@pytest.mark.parametrize("source", [
    "plain text\r\nwith CRLF and { braces }",
    "Hi {{ a }}, {{b}}!\n",
    '{% if a == "premium" %}P{% elif not b %}{{ c }}{% else %}E{% endif %}',
    "{# a comment #}{% raw %}{{ literally }}{% endraw %}",
])
def test_text_names_and_simple_ifs_skip_jinja(source: str) -> None:
    assert renders_without_jinja(source)


@pytest.mark.parametrize("source", [
    "{{ a|upper }}", "{{ a.x }}", "{{ a() }}", "{% for x in a %}{{ x }}{% endfor %}",
    "{% set x = 1 %}{{ x }}", "{{ self }}", "{% if a is defined %}y{% endif %}",
    "{{ 'constant' }}", "{% if a < 1 %}y{% endif %}",
])
def test_anything_else_keeps_the_sandboxed_jinja_path(source: str) -> None:
    assert not renders_without_jinja(source)


def test_the_example_support_prompt_renders_without_jinja() -> None:
    """The bench's prompt (bench/call_args.py): its kwargs target depends on this."""
    from promptctl.loader import load_directory

    root = Path(__file__).resolve().parent.parent
    tree = load_directory(root / "prompts", relative_to=root)
    support = next(i.artifact for i in tree.artifacts if i.artifact.name == "support"
                   and i.artifact.kind == "prompt")
    assert all(renders_without_jinja(source) for _, source in support.template.parts())


def test_the_output_bound_and_value_errors_read_as_before() -> None:
    p = prompt([{"role": "user", "content": "ab{{ a }}cd"}])
    assert assert_same(p, {"a": "x" * 10, "c": ""}, Limits(max_render_chars=8))[1] == (
        "template messages.0: template produces more than 8 characters of text "
        "(limit max_render_chars)")
    assert assert_same(p, {"a": Boom(), "c": ""})[1] == (
        "template messages.0 failed: ValueError: no text")
    kind, message = assert_same(p, {"a": 1, "c": "x" * 9})
    assert kind is RenderError and message.startswith("variable c: ")


@pytest.mark.parametrize("cap", [5, 6, 7])
def test_the_output_bound_falls_on_the_same_character(cap: int) -> None:
    """``ab{{ a }}cd`` with a 2-letter value is 6 characters: refused under a cap of 5."""
    rendered = assert_same(prompt([{"role": "user", "content": "ab{{ a }}cd"}]),
                           {"a": "xy", "c": ""}, Limits(max_render_chars=cap))
    assert (rendered[0] is RenderError) == (cap < 6)


def test_a_value_counts_as_the_sandbox_measures_it_not_as_its_text() -> None:
    """``[1, 2]`` prints as 6 characters; the sandbox counts 8 (brackets, separators and
    digits, as :func:`promptctl.sandbox.size_of` estimates): a cap of 7 refuses it."""
    p = prompt([{"role": "user", "content": "{{ a }}"}])
    assert assert_same(p, {"a": [1, 2], "c": ""}, Limits(max_render_chars=7))[0] is RenderError
    assert assert_same(p, {"a": [1, 2], "c": ""}, Limits(max_render_chars=8)) == [
        {"role": "user", "content": "[1, 2]"}]
