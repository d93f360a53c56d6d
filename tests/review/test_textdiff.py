"""Template diffs: sentences for prose, lines for structure, nothing for re-wrapping."""

from __future__ import annotations

from promptctl.review.textdiff import template_diff, units


def test_rewrapped_prose_is_whitespace_only():
    lines, ws_only = template_diff("Be brief.\nBe kind to\nthe customer.", "Be brief. Be kind\nto "
                                   "the customer.")
    assert (lines, ws_only) == ([], True)


def test_prose_is_split_into_sentences_and_structure_keeps_its_lines():
    text = ("You help. Answer from\nthe docs.\n{% if vip %}Offer a call.{% endif %}\n"
            "\n- one\n- two\n")
    assert units(text) == ["You help.", "Answer from the docs.",
                           "{% if vip %}Offer a call.{% endif %}", "", "- one", "- two"]


def test_an_edited_rewrapped_sentence_shows_as_one_sentence_changed():
    old = "You are the agent. Answer only from the knowledge base\n(use search) and cite titles."
    new = "You are the agent. Answer only from the knowledge\nbase (use search, in the user's " \
          "language) and cite titles."
    lines, ws_only = template_diff(old, new)
    assert not ws_only
    assert [x for x in lines if x[:1] in "+-"] == [
        "-Answer only from the knowledge base (use search) and cite titles.",
        "+Answer only from the knowledge base (use search, in the user's language) and cite "
        "titles."]


def test_an_added_template_is_all_additions():
    lines, _ = template_diff(None, "Hello. Bye.")
    assert [x for x in lines if not x.startswith("@@")] == ["+Hello.", "+Bye."]
