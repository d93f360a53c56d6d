"""The semver policy for what issue 13 adds to the format: one test per rule of
docs/review.md, "Messages, files, formats and snippets"."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from promptctl.model import Prompt, Snippet
from promptctl.review.semver_policy import required_bump

BASE: dict[str, Any] = {
    "kind": "prompt", "name": "chat", "version": "1.0.0", "description": "chat",
    "model": "m@1.0.0",
    "variables": {"question": {"type": "string"}},
    "template": {"messages": [
        {"role": "system", "content": "You answer order questions in one sentence."},
        {"role": "user", "content": "Where is order 1?"},
        {"role": "assistant", "content": "Order 1 left the warehouse today."},
        {"placeholder": "history"},
        {"role": "user", "content": "{{ question }}"},
    ]},
}


def bump_of(edit: Callable[[dict[str, Any]], None], base: dict[str, Any] = BASE
            ) -> tuple[str, list[str]]:
    new = copy.deepcopy(base)
    edit(new)
    old_p, new_p = Prompt.model_validate(base), Prompt.model_validate(new)
    bump = required_bump(old_p, new_p)
    return bump.level, bump.reasons


def messages(p: dict[str, Any]) -> list[dict[str, Any]]:
    return p["template"]["messages"]  # type: ignore[no-any-return]


def test_a_message_added_requires_minor() -> None:
    assert bump_of(lambda p: messages(p).insert(1, {"role": "user", "content": "Hi"})) == (
        "minor", ["user message added → minor"])


def test_a_message_removed_requires_minor() -> None:
    assert bump_of(lambda p: messages(p).pop(2)) == ("minor", ["assistant message removed → minor"])


def test_messages_reordered_require_minor() -> None:
    def swap(p: dict[str, Any]) -> None:
        m = messages(p)
        m[1], m[2] = m[2], m[1]
    assert bump_of(swap) == ("minor", ["messages reordered → minor"])


def test_a_placeholder_moved_requires_minor() -> None:
    def move(p: dict[str, Any]) -> None:
        messages(p).insert(1, messages(p).pop(3))
    assert bump_of(move) == ("minor", ["messages reordered → minor"])


def test_message_text_follows_the_text_rules() -> None:
    level, reasons = bump_of(lambda p: messages(p)[0].update(content="You answer in French."))
    assert (level, reasons) == ("minor", ["message 1 (system) text changed → minor"])
    level, _ = bump_of(lambda p: messages(p)[0].update(
        content="You answer order questions in one sentence. "))
    assert level == "patch"
    level, _ = bump_of(lambda p: messages(p)[0].update(
        content="You answer order qustions in one sentence."))
    assert level == "patch"


def test_a_placeholder_added_without_default_requires_major() -> None:
    assert bump_of(lambda p: messages(p).insert(0, {"placeholder": "context"})) == (
        "major", ["placeholder `context` added without default → major"])


def test_a_placeholder_added_with_a_default_requires_minor() -> None:
    level, reasons = bump_of(lambda p: messages(p).insert(0, {"placeholder": "context",
                                                              "default": []}))
    assert level == "minor" and "optional placeholder `context` added → minor" in reasons


def test_a_placeholder_removed_or_made_required_requires_major() -> None:
    assert bump_of(lambda p: messages(p).pop(3)) == (
        "major", ["placeholder `history` removed → major"])
    optional = copy.deepcopy(BASE)
    messages(optional)[3]["default"] = []
    assert bump_of(lambda p: messages(p)[3].pop("default"), optional)[0] == "major"


@pytest.mark.parametrize("where", ["prompt", "message"])
def test_a_change_of_format_requires_minor(where: str) -> None:
    def literal(p: dict[str, Any]) -> None:
        if where == "prompt":
            p["format"] = "literal"
            messages(p)[4]["format"] = "jinja"  # the message with the variable stays Jinja
        else:
            messages(p)[0]["format"] = "literal"
    level, reasons = bump_of(literal)
    assert level == "minor" and any("format of" in r for r in reasons), reasons


def test_a_referenced_file_follows_the_text_rules_and_a_new_path_alone_is_patch() -> None:
    filed = copy.deepcopy(BASE)
    messages(filed)[0]["file"] = "chat/system.md"
    level, reasons = bump_of(lambda p: messages(p)[0].update(content="Other text."), filed)
    assert level == "minor", reasons
    level, _ = bump_of(lambda p: messages(p)[0].update(
        content=messages(filed)[0]["content"] + "\r\n"), filed)
    assert level == "patch"
    assert bump_of(lambda p: messages(p)[0].update(file="shared/system.md"), filed) == (
        "patch", ["message 1 (system) read from another file, same text → patch"])


def test_the_short_form_rewritten_as_the_same_messages_is_patch() -> None:
    short = {**BASE, "template": {"system": "S", "user": "{{ question }}"}}
    def rewrite(p: dict[str, Any]) -> None:
        p["template"] = {"messages": [{"role": "system", "content": "S"},
                                      {"role": "user", "content": "{{ question }}"}]}
    assert bump_of(rewrite, short)[0] == "patch"


def test_a_variable_schema_added_requires_major_and_removed_minor() -> None:
    def narrow(p: dict[str, Any]) -> None:
        p["variables"]["question"]["schema"] = {"maxLength": 200}
    assert bump_of(narrow)[0] == "major"
    narrowed = copy.deepcopy(BASE)
    narrow(narrowed)
    assert bump_of(lambda p: p["variables"]["question"].pop("schema"), narrowed)[0] == "minor"


@pytest.mark.parametrize(("old", "new", "level"), [
    ("1.0.0", "2.0.0", "major"), ("1.0.0", "1.1.0", "minor"), ("1.0.0", "1.0.1", "patch")])
def test_a_snippet_ref_bump_requires_at_least_the_snippets_own_bump(old: str, new: str,
                                                                   level: str) -> None:
    base = copy.deepcopy(BASE)
    base["snippets"] = [f"safety@{old}"]
    assert bump_of(lambda p: p.update(snippets=[f"safety@{new}"]), base) == (
        level, [f"snippet ref `safety` moved from {old} to {new} → {level}"])


def test_a_snippet_added_or_removed_requires_minor() -> None:
    assert bump_of(lambda p: p.update(snippets=["safety@1.0.0"]))[0] == "minor"
    included = copy.deepcopy(BASE)
    messages(included)[0]["content"] += '{% include "safety@1.0.0" %}'
    assert bump_of(lambda p: messages(p)[0].update(content=messages(BASE)[0]["content"]),
                   included)[1][-1] == "snippet `safety@1.0.0` removed → minor"


def test_a_snippets_own_text_follows_the_text_rules() -> None:
    old = Snippet(name="safety", version="1.0.0", description="d", text="Never share data.")
    new = old.model_copy(update={"text": "Never share data. "})
    assert required_bump(old, new).level == "patch"
    assert required_bump(old, old.model_copy(update={"text": "Share data."})).level == "minor"
    assert required_bump(old, old.model_copy(update={"format": "literal"})).level == "minor"
