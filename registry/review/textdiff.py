"""Template diffs that show what a reader of the prompt would notice.

Prose is often re-wrapped in review (a sentence edited, the paragraph
re-flowed). A plain line diff then shows the whole paragraph as changed. So
consecutive prose lines are joined and split into sentences before diffing;
structured lines (lists, headings, Jinja block tags, indented text) keep
their own line. A change that only moves whitespace is reported as such,
with no diff body.
"""

from __future__ import annotations

import difflib
import re

_WS = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+(?=\S)")
_STRUCTURED = re.compile(r"^\s*([-*+>#|]|\d+[.)]\s|\{%|```)|^\s{2,}\S")


def whitespace_only(old: str, new: str) -> bool:
    return old != new and _WS.sub(" ", old).strip() == _WS.sub(" ", new).strip()


def units(text: str) -> list[str]:
    """Sentences of prose and structured lines, in order; a blank line between paragraphs."""
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text.strip("\n")):
        if out:
            out.append("")
        prose: list[str] = []
        for line in paragraph.splitlines():
            if _STRUCTURED.match(line):
                out += _sentences(prose)
                prose = []
                out.append(line.rstrip())
            else:
                prose.append(line)
        out += _sentences(prose)
    return out


def _sentences(lines: list[str]) -> list[str]:
    joined = _WS.sub(" ", " ".join(lines)).strip()
    return _SENTENCE_END.split(joined) if joined else []


def template_diff(old: str | None, new: str | None, context: int = 1) -> tuple[list[str], bool]:
    """``(unified diff body lines, whitespace_only)`` between two template sources."""
    if old is not None and new is not None and whitespace_only(old, new):
        return [], True
    before = units(old) if old else []
    after = units(new) if new else []
    lines = []
    for line in difflib.unified_diff(before, after, lineterm="", n=context):
        if line.startswith(("---", "+++")):
            continue
        lines.append(line)
    return lines, False
