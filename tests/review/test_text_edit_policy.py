"""Which template text edits are patch-level (docs/review.md, "Patch-level text edits"):
properties of the classifier, and the bump it gives on a real two-commit history."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptctl.review.semver_policy import GUARDED_WORDS, edit_distance, patch_level_edit
from tests.review.history import History, codes, entry

FUZZ = settings(max_examples=int(os.environ.get("PROMPTCTL_FUZZ_EXAMPLES", "40")),
                deadline=None, suppress_health_check=[HealthCheck.too_slow])

long_word = st.from_regex(r"[a-z]{7,12}", fullmatch=True).filter(
    lambda w: w not in GUARDED_WORDS)
words = st.lists(long_word, min_size=10, max_size=40)
PUNCTUATION = [",", ".", ";", ":", "!", "?", " -", " (", ")", "…", " —", "\""]
MARKUP = ["# ", "## ", "- ", "* ", "• ", "1. ", "> "]


def text_of(ws: list[str]) -> str:
    return " ".join(ws) + "."


@FUZZ
@given(words, st.data())
def test_changing_letter_case_is_patch_level(ws, data):
    text = text_of(ws)
    flips = data.draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    changed = "".join(c.upper() if flip else c for c, flip in zip(text, flips, strict=True))
    assert patch_level_edit(text, changed) == 0


@FUZZ
@given(words, st.data())
def test_adding_or_removing_punctuation_is_patch_level(ws, data):
    marks = data.draw(st.lists(st.sampled_from(["", *PUNCTUATION]), min_size=len(ws),
                               max_size=len(ws)))
    punctuated = " ".join(w + m for w, m in zip(ws, marks, strict=True))
    assert patch_level_edit(text_of(ws), punctuated) == 0
    assert patch_level_edit(punctuated, text_of(ws)) == 0


@FUZZ
@given(st.lists(words, min_size=1, max_size=5), st.data())
def test_markdown_markup_is_patch_level(paragraphs, data):
    lines = [text_of(p) for p in paragraphs]
    marked = [data.draw(st.sampled_from(MARKUP)) + f"**{line}**" for line in lines]
    assert patch_level_edit("\n".join(lines), "\n".join(marked)) == 0


@FUZZ
@given(words, st.data())
def test_up_to_three_small_spelling_fixes_are_patch_level(ws, data):
    fixed = list(ws)
    spots = data.draw(st.lists(st.integers(0, len(ws) - 1), min_size=1, max_size=3,
                               unique=True))
    for i in spots:
        word = fixed[i]
        k = data.draw(st.integers(0, len(word) - 2))
        fixed[i] = word[:k] + word[k + 1] + word[k] + word[k + 2:]  # swap two letters
    expected = sum(a != b for a, b in zip(ws, fixed, strict=True))
    assert patch_level_edit(text_of(ws), text_of(fixed)) == expected


@FUZZ
@given(words, long_word, st.data())
def test_adding_or_removing_a_word_is_not_patch_level(ws, extra, data):
    at = data.draw(st.integers(0, len(ws)))
    longer = [*ws[:at], extra, *ws[at:]]
    assert patch_level_edit(text_of(ws), text_of(longer)) is None
    assert patch_level_edit(text_of(longer), text_of(ws)) is None


@FUZZ
@given(words, st.data())
def test_a_changed_jinja_tag_or_number_is_not_patch_level(ws, data):
    at = data.draw(st.integers(0, len(ws)))
    with_tag = text_of([*ws[:at], "{% if tier == 'gold' %}", *ws[at:]])
    assert patch_level_edit(with_tag, with_tag.replace("==", "!=")) is None
    with_number = text_of([*ws[:at], "at most 80 words", *ws[at:]])
    assert patch_level_edit(with_number, with_number.replace("80", "90")) is None


@FUZZ
@given(words, words)
def test_the_classification_is_symmetric(a, b):
    assert patch_level_edit(text_of(a), text_of(b)) == patch_level_edit(text_of(b), text_of(a))


@pytest.mark.parametrize(("old", "new"), [
    ("Do not share the price.", "Do now share the price."),  # a guarded word
    ("Answer briefly always.", "Answer briefly never."),
    ("Use the search tool first.", "Use the lookup tool first."),  # another word, not a typo
    ("Reply in JSON: {\"a\": 1}.", "Reply in JSON: [{\"a\": 1}]."),  # a symbol that matters
    ("one two three four five", "ane twa thrae faur fiva"),  # 5 fixes in 5 words: too many
])
def test_meaningful_edits_are_not_patch_level(old, new):
    assert patch_level_edit(old, new) is None


@pytest.mark.parametrize(("old", "new", "corrected"), [
    ("Answer from teh knowledge base.", "Answer from the knowledge base.", 1),
    ("Send an e-mail to support.", "Send an email to support.", 1),
    ("## Rules\n- be brief", "# rules\n\u2022 Be brief!", 0),
])
def test_typical_patch_edits(old, new, corrected):
    assert patch_level_edit(old, new) == corrected


def test_edit_distance_counts_a_transposition_as_one():
    assert edit_distance("teh", "the") == 1
    assert edit_distance("kitten", "sitting") == 3


def test_a_typo_fix_in_a_template_passes_the_check_with_a_patch_bump(git_repo):
    history = History(git_repo)
    history.commit("base")
    prompt = history["support.prompt.yaml"]
    prompt["template"]["system"] = ("You are a helpful support agent!\n"
                                    "Answer from the knowlege base only, and cite the "
                                    "**articles** you used.\n")
    prompt["version"] = "1.0.1"
    history.commit("typos")
    report = history.diff("HEAD~1")
    item = entry(report, "prompt/support")
    assert item.required_bump == "patch"
    assert item.reasons == ["system template text: punctuation, letter case, markup or 1 small "
                            "word correction(s) only → patch"]
    assert codes(report) == []
