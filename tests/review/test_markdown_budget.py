"""A markdown report over its budget stays valid markdown: whole blocks, a full summary
table, and a closing line saying what was left out and where the full report is.
Moved files are one compact row each (old → new path) with no details block."""

from __future__ import annotations

import copy
import json
import re

import pytest
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from promptctl.cli.app import app
from promptctl.review.render import render_markdown
from tests.review.history import FILES, PROMPT, History

PROMPTS = 30


def many_prompts() -> dict[str, dict]:
    files = copy.deepcopy(FILES)
    for i in range(PROMPTS):
        prompt = copy.deepcopy(PROMPT)
        prompt["name"] = f"agent-{i:02d}"
        prompt["template"]["system"] = "".join(
            f"Rule {n} of agent {i}: answer politely and cite the article you used.\n"
            for n in range(40))
        files[f"agent-{i:02d}.prompt.yaml"] = prompt
    return files


@pytest.fixture
def reworded(git_repo) -> History:
    """Thirty prompts whose long system templates all changed (each gets a big diff)."""
    history = History(git_repo, many_prompts())
    history.commit("base")
    for i in range(PROMPTS):
        prompt = history[f"agent-{i:02d}.prompt.yaml"]
        prompt["version"] = "1.1.0"
        prompt["template"]["system"] = prompt["template"]["system"].replace("politely", "briefly")
    history.commit("reword")
    return history


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def assert_valid_markdown(text: str) -> None:
    """Fences and <details> are balanced and nothing is left open at the end."""
    fence: str | None = None
    for line in text.splitlines():
        match = re.match(r"^(`{3,})", line)
        if match and fence is None:
            fence = match.group(1)
        elif match and fence is not None and line.strip() == fence:
            fence = None
    assert fence is None, "a code fence is left open"
    assert text.count("<details>") == text.count("</details>")
    opened = 0
    for line in text.splitlines():
        opened += line.count("<details>") - line.count("</details>")
        assert opened in (0, 1)


def table_rows(text: str) -> list[str]:
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    rows, cells, inside = [], [], False
    for token in tokens:
        if token.type == "tbody_open":
            inside = True
        elif token.type == "tbody_close":
            inside = False
        elif inside and token.type == "inline" and not cells:
            cells.append(token.content)
        elif inside and token.type == "tr_close":
            rows.append(cells[0])
            cells = []
    return rows


def paragraphs(text: str) -> list[str]:
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    return [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "paragraph_open"]


def test_a_report_over_budget_keeps_the_whole_summary_and_whole_blocks(reworded):
    report = reworded.diff("HEAD~1")
    full = render_markdown(report)
    assert utf16(full) > 20_000
    text = render_markdown(report, max_chars=20_000, full_report="the job summary")
    assert utf16(text) <= 20_000
    assert_valid_markdown(text)
    labels = [f"`prompt/agent-{i:02d}`" for i in range(PROMPTS)]
    assert table_rows(text) == labels  # the summary table of every artifact, first
    shown = text.count("<details>")
    assert 0 < shown < PROMPTS
    assert text.index("| `prompt/agent-29` |") < text.index("<details>")
    details = re.findall(r"<summary><code>(prompt/agent-\d\d)</code>", text)
    assert details == [f"prompt/agent-{i:02d}" for i in range(shown)]  # in order
    closing = paragraphs(text)[-1]
    assert closing == (f"**Report cut to fit a comment:** left out {PROMPTS - shown} artifact "
                       "details. The full report is in the job summary.")
    assert text.endswith(f"**Report cut to fit a comment:** left out {PROMPTS - shown} "
                         "artifact details. The full report is in the job summary.\n")


def test_a_report_within_budget_is_unchanged(reworded):
    report = reworded.diff("HEAD~1")
    full = render_markdown(report)
    assert render_markdown(report, max_chars=utf16(full)) == full
    assert "Report cut" not in full


def test_a_tiny_budget_cuts_the_summary_table_at_a_row_and_says_so(reworded):
    text = render_markdown(reworded.diff("HEAD~1"), max_chars=1_500)
    assert utf16(text) <= 1_500
    assert_valid_markdown(text)
    rows = table_rows(text)
    assert 0 < len(rows) < PROMPTS
    assert paragraphs(text)[-1].startswith(
        f"**Report cut to fit a comment:** left out {PROMPTS - len(rows)} summary rows, ")
    assert "The full report is in the output of `promptctl diff --format markdown " \
           "--max-chars 0`." in text


def test_the_cli_budget_defaults_to_a_github_comment_and_can_be_set(reworded):
    def run(*args: str) -> str:
        result = CliRunner().invoke(app, ["--repo", str(reworded.root), "diff", "HEAD~1", "HEAD",
                                          "--format", "markdown", *args],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.stdout

    assert utf16(run()) <= 65_000
    small = run("--max-chars", "8000", "--full-report", "the `prompt-review` artifact")
    assert utf16(small) <= 8000 and small.rstrip().endswith("the `prompt-review` artifact.")
    assert "Report cut" not in run("--max-chars", "0")
    bad = CliRunner().invoke(app, ["--repo", str(reworded.root), "diff", "HEAD~1", "HEAD",
                                   "--max-chars", "-5"])
    assert bad.exit_code == 2 and bad.output.strip() == (
        "error: --max-chars must be 0 (no limit) or positive, got -5")


# -- moves ---------------------------------------------------------------------------------------


@pytest.fixture
def moved(git_repo) -> History:
    history = History(git_repo, many_prompts())
    history.commit("base")
    (history.root / "prompts" / "agents").mkdir()
    for i in range(PROMPTS):
        name = f"agent-{i:02d}.prompt.yaml"
        history.files[f"agents/{name}"] = history.files.pop(name)
    history.commit("move into agents/")
    return history


def test_moves_are_one_row_each_with_both_paths_and_no_details(moved):
    report = moved.diff("HEAD~1")
    assert [a.status for a in report.artifacts] == ["moved"] * PROMPTS
    text = render_markdown(report)
    assert "<details>" not in text
    assert ("| `prompt/agent-07` | moved `prompts/agent-07.prompt.yaml` → "
            "`prompts/agents/agent-07.prompt.yaml` | 1.0.0 |") in text
    assert len(text.splitlines()) == PROMPTS + 7  # marker, verdict, comparing, table, blanks
    assert utf16(text) < 200 * PROMPTS


def test_moves_show_both_paths_in_text_and_json(moved):
    def run(*args: str) -> str:
        return CliRunner().invoke(app, ["--repo", str(moved.root), "diff", "HEAD~1", "HEAD",
                                        *args], env={"COLUMNS": "200"}).stdout

    text = run()
    assert ("prompt/agent-07 moved 1.0.0 prompts/agent-07.prompt.yaml → "
            "prompts/agents/agent-07.prompt.yaml") in text
    assert "fingerprint" not in text
    item = json.loads(run("--format", "json"))["artifacts"][7]
    assert (item["old"]["path"], item["new"]["path"]) == (
        "prompts/agent-07.prompt.yaml", "prompts/agents/agent-07.prompt.yaml")
