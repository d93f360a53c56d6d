"""Template diffs: sentences for prose, lines for structure, nothing for re-wrapping."""

from __future__ import annotations

from promptctl.review.textdiff import mark_words, template_diff, units, word_diff


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


# -- bullets, colons, hunk headers (file lines), changed words ----------------------------------


def test_bullets_are_list_items_on_their_own_line():
    text = "Rules for answers:\n• be brief\n• cite the docs\nThat is all."
    assert units(text) == ["Rules for answers:", "• be brief", "• cite the docs", "That is all."]


def test_a_colon_does_not_end_a_sentence():
    assert units("Note: answer in English. Then stop.") == ["Note: answer in English.",
                                                            "Then stop."]


def test_hunk_headers_count_template_lines_not_sentences():
    old = ("First sentence runs\nover two lines. Second one\nalso wraps here.\n"
           "Third sentence\nis long. Fourth\nends it.\n")
    new = old.replace("Third sentence", "The third sentence")
    lines, _ = template_diff(old, new)
    # sentences 2-4 (context 1 around the third) span file lines 2 to 6, as git counts them
    assert lines[0] == "@@ -2,5 +2,5 @@"
    assert lines[1:] == [" Second one also wraps here.", "-Third sentence is long.",
                         "+The third sentence is long.", " Fourth ends it."]


def test_hunk_headers_of_an_insertion_and_of_a_long_paragraph_match_git():
    lines, _ = template_diff("A.\n", "A.\nB.\n")
    assert lines[0] == "@@ -1 +1,2 @@"
    old = "".join(f"Line {n} of a long rule.\n" for n in range(1, 301))
    new = old.replace("Line 150 of", "Line 150 in")
    lines, _ = template_diff(old, new, context=3)
    assert lines[0] == "@@ -147,7 +147,7 @@"  # what `git diff -U3` says


def test_changed_words_are_marked_within_the_sentence():
    lines, _ = template_diff("Answer politely and cite the article you used. Bye.",
                             "Answer briefly and cite the articles you used. Bye.")
    assert mark_words(lines)[1:3] == [
        "-Answer [-politely-] and cite the [-article-] you used.",
        "+Answer {+briefly+} and cite the {+articles+} you used."]


def test_adjacent_changed_words_are_one_mark_and_unrelated_lines_are_not_marked():
    assert word_diff("the quick brown fox", "the slow red fox") == (
        "the [-quick brown-] fox", "the {+slow red+} fox")
    lines = ["@@ -1 +1 @@", "-Completely different words here.", "+Nothing alike at all!"]
    assert mark_words(lines) == lines


def test_marked_words_reach_text_markdown_and_json(git_repo):
    import json

    from typer.testing import CliRunner

    from promptctl.cli.app import app
    from tests.review.history import History

    history = History(git_repo)
    history.commit("base")
    prompt = history["support.prompt.yaml"]
    prompt["template"]["system"] = prompt["template"]["system"].replace("articles", "sources")
    prompt["version"] = "1.1.0"
    history.commit("reword")

    def run(*args: str) -> str:
        return CliRunner().invoke(app, ["--repo", str(history.root), "diff", "HEAD~1", "HEAD",
                                        *args], env={"COLUMNS": "200"}).stdout

    marked = "cite the {+sources+} you used."
    assert marked in run()
    assert marked in run("--format", "markdown")
    [template] = json.loads(run("--format", "json"))["artifacts"][0]["changes"]["templates"]
    assert marked in template["word_diff"] and marked not in template["diff"]
