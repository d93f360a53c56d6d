"""Property tests for the new parsers: front matter, the Handlebars converter, content
paths, include refs, message lists, and byte fidelity of literal and plain Jinja text.
Bounded (``PROMPTCTL_FUZZ_EXAMPLES`` deepens them)."""

from __future__ import annotations

import os
import posixpath
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptctl.importers.frontmatter import split_front_matter
from promptctl.importers.handlebars import to_jinja
from promptctl.loader import content_path
from promptctl.model import Message, Prompt, Template, messages_problem, snippet_includes
from promptctl.templating import render_prompt

FUZZ = settings(max_examples=int(os.environ.get("PROMPTCTL_FUZZ_EXAMPLES", "40")),
                deadline=None)
# Text as real prompts hold it: tabs, trailing spaces, a BOM, non-ASCII, template-ish
# punctuation; one line ending per text (Jinja writes one).
CHARS = st.sampled_from([*list("ab Z\t{}%#!?'\"-é中\ufeff"), "\n"])
TEXT = st.lists(CHARS, max_size=60).map("".join)


def prompt_of(text: str, fmt: str | None) -> Prompt:
    message = Message.model_construct(role="system", content=text, format=fmt)
    return Prompt.model_construct(kind="prompt", name="p", version="1.0.0", description="d",
                                  model="m@1.0.0", variables={}, format=None, snippets=[],
                                  template=Template.model_construct(messages=[message]))


@FUZZ
@given(TEXT, st.booleans())
def test_literal_text_renders_byte_for_byte(text: str, crlf: bool) -> None:
    text = text.replace("\n", "\r\n") if crlf else text
    assert render_prompt(prompt_of(text, "literal"), {}) == [{"role": "system",
                                                              "content": text}]


@FUZZ
@given(st.lists(st.sampled_from([*list("ab Z\t!é中\ufeff"), "  \n"]), max_size=60)
       .map("".join), st.booleans())
def test_jinja_text_without_tags_keeps_its_bytes_and_line_endings(text: str, crlf: bool) -> None:
    text = text.replace("\n", "\r\n") if crlf else text
    assert render_prompt(prompt_of(text, None), {})[0]["content"] == text


@FUZZ
@given(TEXT.filter(lambda t: "{{" not in t and "}}" not in t))
def test_handlebars_text_without_tags_converts_to_jinja_that_renders_it_back(text: str) -> None:
    jinja, unmapped = to_jinja(text)
    assert unmapped == []
    assert render_prompt(prompt_of(jinja, None), {})[0]["content"] == text


@FUZZ
@given(st.dictionaries(st.sampled_from(["name", "model", "x"]), st.text("abc", max_size=5),
                       max_size=3), TEXT, st.booleans())
def test_front_matter_is_parsed_and_the_body_keeps_its_bytes(meta: dict[str, str], body: str,
                                                             crlf: bool) -> None:
    nl = "\r\n" if crlf else "\n"
    head = "".join(f"{k}: '{v}'{nl}" for k, v in meta.items())
    data = f"---{nl}{head}---{nl}".encode() + body.encode()
    parsed, rest = split_front_matter(data, "x")
    assert parsed == meta and rest == body.encode()
    if not body.startswith("---"):
        assert split_front_matter(body.encode(), "x")[1] == body.removeprefix("\ufeff").encode()


SEGMENT = st.sampled_from(["a", "b.md", "..", ".", "prompts", "x y", ""])


@FUZZ
@given(st.lists(SEGMENT, min_size=1, max_size=5), st.lists(SEGMENT, max_size=3))
def test_content_paths_never_leave_the_registry(parts: list[str], where: list[str]) -> None:
    artifact = posixpath.join("prompts", *[w for w in where if w not in ("", ".", "..")],
                              "p.prompt.yaml")
    ref = "/".join(parts)
    try:
        path = content_path(artifact, ref, "prompts")
    except ValueError:
        return
    assert path.startswith("prompts/") and ".." not in path.split("/")


@FUZZ
@given(st.text(st.sampled_from(list('{%} include"\'@.0123abx-')), max_size=40))
def test_include_scanning_gives_refs_or_a_one_line_error(source: str) -> None:
    try:
        refs = snippet_includes([("system", source)], [])
    except ValueError as exc:
        assert "\n" not in str(exc)
        return
    assert all("@" in str(ref) for ref in refs)


JSONISH: Any = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                            lambda inner: st.lists(inner, max_size=3)
                            | st.dictionaries(st.sampled_from(["role", "content", "name"]),
                                              inner, max_size=3), max_leaves=8)


@FUZZ
@given(JSONISH)
def test_a_placeholder_value_is_a_list_of_messages_or_one_line_why_not(value: Any) -> None:
    problem = messages_problem(value)
    if problem is None:
        assert isinstance(value, list)
        assert all(set(m) == {"role", "content"} for m in value)
    else:
        assert "\n" not in problem


@pytest.mark.parametrize("text", ["{{ a ? b : c }}", "{#anchor}", "{{}}", "{% raw %}"])
def test_real_prompt_syntax_survives_the_handlebars_converter(text: str) -> None:
    jinja, _ = to_jinja(text)
    assert render_prompt(prompt_of(jinja, None), {})[0]["content"] == text
