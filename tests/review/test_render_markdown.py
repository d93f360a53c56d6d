"""Golden markdown: the PR comment for a fixed repository is reproduced byte for byte.

Commit dates are pinned so commit ids (shown in the comment) are the same on
every machine. Regenerate after an intended change with
``PROMPTCTL_UPDATE_GOLDEN=1 pytest tests/review/test_render_markdown.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from promptctl.review.render import render_markdown
from tests.review.history import History

GOLDEN = Path(__file__).parent / "golden" / "review.md"


@pytest.fixture
def fixed_dates(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE"):
        monkeypatch.setenv(name, "2026-11-24T12:00:00+00:00")


def build(history: History) -> None:
    history.commit("base")
    prompt = history["support.prompt.yaml"]
    prompt["version"] = "1.1.0"
    prompt["variables"]["tone"] = {"type": "string", "default": "friendly"}
    prompt["template"]["system"] = (
        "You are a helpful support agent. Answer from the knowledge base\n"
        "only and cite the article titles you used. Keep a {{ tone }} tone.\n")
    prompt["tools"] = ["search-kb@2.1.0"]
    prompt["output_schema"]["required"] = ["answer", "sources"]
    tool = history["search-kb.tool.yaml"]
    tool["version"] = "2.1.0"
    tool["parameters"]["properties"]["language"] = {"type": "string"}
    model = history["chat.model.yaml"]
    model["params"]["temperature"] = 0.4
    model["params"]["max_tokens"] = 0
    history.commit("tune support")


def test_markdown_report_matches_the_golden_file(git_repo, fixed_dates):
    history = History(git_repo)
    build(history)
    text = render_markdown(history.diff("HEAD~1", "HEAD"))
    if os.environ.get("PROMPTCTL_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")
