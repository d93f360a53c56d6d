"""Template diffs that show what a reader of the prompt would notice.

Prose is often re-wrapped in review (a sentence edited, the paragraph
re-flowed). A plain line diff then shows the whole paragraph as changed. So
consecutive prose lines are joined and split into sentences (at ``.``, ``!``
and ``?``, never at a colon) before diffing; structured lines (lists,
including ``•`` bullets, headings, Jinja block tags, indented text) keep their
own line. Hunk headers count lines of the template file, as git does, not
sentences. A change that only moves whitespace is reported as such, with no
diff body.

Within a changed sentence the changed words are marked, as ``git diff
--word-diff=plain`` does: ``[-removed-]`` on the ``-`` line and ``{+added+}``
on the ``+`` line (:func:`mark_words`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

_WS = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"[.!?]$")
_STRUCTURED = re.compile(r"^\s*([-*+>#|•]|\d+[.)]\s|\{%|```)|^\s{2,}\S")
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")
_PAIR_RATIO = 0.5  # how alike two changed sentences must be to mark words instead of lines


@dataclass(frozen=True)
class Unit:
    """A sentence of prose, a structured line, or a paragraph break; with its file lines."""

    text: str
    first: int  # 1-based line of the template where it starts
    last: int  # ... and where it ends


def whitespace_only(old: str, new: str) -> bool:
    return old != new and _WS.sub(" ", old).strip() == _WS.sub(" ", new).strip()


def units(text: str) -> list[str]:
    """Sentences of prose and structured lines, in order; a blank line between paragraphs."""
    return [u.text for u in located_units(text)]


def located_units(text: str) -> list[Unit]:
    """:func:`units` with the template lines each one spans."""
    out: list[Unit] = []
    prose: list[tuple[int, str]] = []
    blank: list[int] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            out += _sentences(prose)
            prose = []
            blank.append(number)
            continue
        if blank and out:
            out.append(Unit("", blank[0], blank[-1]))
        blank = []
        if _STRUCTURED.match(line):
            out += _sentences(prose)
            prose = []
            out.append(Unit(line.rstrip(), number, number))
        else:
            prose.append((number, line))
    return out + _sentences(prose)


def _sentences(lines: list[tuple[int, str]]) -> list[Unit]:
    """Split joined prose lines after each word that ends in ``.``, ``!`` or ``?``."""
    out: list[Unit] = []
    words: list[tuple[int, str]] = []
    for number, line in lines:
        for word in line.split():
            words.append((number, word))
            if _SENTENCE_END.search(word):
                out.append(_unit(words))
                words = []
    return out + ([_unit(words)] if words else [])


def _unit(words: list[tuple[int, str]]) -> Unit:
    return Unit(" ".join(w for _, w in words), words[0][0], words[-1][0])


def template_diff(old: str | None, new: str | None, context: int = 1) -> tuple[list[str], bool]:
    """``(unified diff body lines, whitespace_only)`` between two template sources."""
    if old is not None and new is not None and whitespace_only(old, new):
        return [], True
    before = located_units(old) if old else []
    after = located_units(new) if new else []
    matcher = difflib.SequenceMatcher(None, [u.text for u in before], [u.text for u in after],
                                      autojunk=False)
    lines: list[str] = []
    for group in matcher.get_grouped_opcodes(context):
        lines.append(_hunk_header(before, after, group))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [" " + u.text for u in before[i1:i2]]
                continue
            lines += ["-" + u.text for u in before[i1:i2]]
            lines += ["+" + u.text for u in after[j1:j2]]
    return lines, False


def _hunk_header(before: list[Unit], after: list[Unit],
                 group: list[tuple[str, int, int, int, int]]) -> str:
    old = _line_range(before, group[0][1], group[-1][2])
    new = _line_range(after, group[0][3], group[-1][4])
    return f"@@ -{old} +{new} @@"


def _line_range(side: list[Unit], start: int, stop: int) -> str:
    """Git's ``start,count`` of template lines covered by ``side[start:stop]``."""
    if stop <= start:  # nothing on this side: git names the line before, with count 0
        return f"{side[start - 1].last if start else 0},0"
    first, count = side[start].first, side[stop - 1].last - side[start].first + 1
    return str(first) if count == 1 else f"{first},{count}"


# -- words within lines -------------------------------------------------------------------------


def mark_words(lines: list[str]) -> list[str]:
    """``lines`` with the changed words of each edited sentence marked.

    A run of ``-`` lines followed by a run of ``+`` lines is one replaced block;
    each removed sentence is paired with the most alike added one after the
    previous pair, if they are alike enough. Unpaired lines stay as they are.
    """
    out = list(lines)
    i = 0
    while i < len(lines):
        if not lines[i].startswith("-"):
            i += 1
            continue
        minus_end = i
        while minus_end < len(lines) and lines[minus_end].startswith("-"):
            minus_end += 1
        plus_end = minus_end
        while plus_end < len(lines) and lines[plus_end].startswith("+"):
            plus_end += 1
        _mark_block(lines, out, range(i, minus_end), range(minus_end, plus_end))
        i = plus_end
    return out


def _mark_block(lines: list[str], out: list[str], minus: range, plus: range) -> None:
    start = plus.start
    for m in minus:
        old = _TOKEN.findall(lines[m][1:])
        best, best_ratio = None, _PAIR_RATIO
        for p in range(start, plus.stop):
            ratio = difflib.SequenceMatcher(None, old, _TOKEN.findall(lines[p][1:]),
                                            autojunk=False).ratio()
            if ratio >= best_ratio and (best is None or ratio > best_ratio):
                best, best_ratio = p, ratio
        if best is not None:
            old_text, new_text = word_diff(lines[m][1:], lines[best][1:])
            out[m], out[best] = "-" + old_text, "+" + new_text
            start = best + 1


def word_diff(old: str, new: str) -> tuple[str, str]:
    """``old`` with removed words as ``[-…-]`` and ``new`` with added words as ``{+…+}``."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    ops = difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()
    segments: list[list[str]] = []  # [tag, old text, new text], changes merged over spaces
    for k, (tag, i1, i2, j1, j2) in enumerate(ops):
        before, after = "".join(a[i1:i2]), "".join(b[j1:j2])
        between = 0 < k < len(ops) - 1 and tag == "equal" and not before.strip()
        kind = "equal" if tag == "equal" and not between else "change"
        if segments and segments[-1][0] == kind == "change":
            segments[-1][1] += before
            segments[-1][2] += after
        else:
            segments.append([kind, before, after])
    old_out = new_out = ""
    for kind, before, after in segments:
        if kind == "equal":
            old_out, new_out = old_out + before, new_out + after
            continue
        old_out += _wrap("[-", before, "-]")
        new_out += _wrap("{+", after, "+}")
    return old_out, new_out


def _wrap(opening: str, text: str, closing: str) -> str:
    """Mark ``text``, leaving its outer spaces outside the marks."""
    core = text.strip()
    if not core:
        return text
    lead = text[:len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()):]
    return f"{lead}{opening}{core}{closing}{trail}"
