"""Handlebars (Dotprompt's template language) to Jinja, for the constructs that map.

Maps ``{{x}}`` / ``{{{x}}}`` (output), ``{{#if}}``/``{{else}}``/``{{/if}}``,
``{{#unless}}``, ``{{#each xs}}`` with ``this``/``@index``/``@first``/``@last``,
``{{json x}}`` and comments. Text between tags that Jinja would read as syntax
(``{%``, ``{#``) is emitted as a string so it reaches the model unchanged. Everything
else (partials, ``{{media}}``, ``{{section}}``, custom helpers) is reported, not guessed.
"""

from __future__ import annotations

import json
import re

_TAG = re.compile(r"\{\{\{\s*(.*?)\s*\}\}\}|\{\{(~?)\s*(!--.*?--|!.*?|.*?)\s*(~?)\}\}", re.S)
_JINJA_OPEN = re.compile(r"\{%|\{#|%\}|#\}")
_PATH = re.compile(r"^[A-Za-z_@][\w.@]*$")


def to_jinja(source: str) -> tuple[str, list[str]]:
    """``(jinja text, constructs that did not map)``."""
    out: list[str] = []
    unmapped: list[str] = []
    loops: list[str] = []
    blocks: list[str] = []
    pos = 0
    for match in _TAG.finditer(source):
        out.append(_text(source[pos:match.start()]))
        pos = match.end()
        raw = match.group(0)
        if match.group(1) is not None:
            out.append(_output(match.group(1), loops, unmapped, raw))
            continue
        tag = _tag(match.group(3), loops, blocks, unmapped, raw)
        if tag.startswith("{% ") and not _standalone(source, match.start(), match.end()):
            tag = "{%+ " + tag[3:-3] + " +%}"  # inline: Jinja must not trim around it
        out.append(tag)
    out.append(_text(source[pos:]))
    if blocks:
        unmapped.append(f"unclosed {{{{#{blocks[-1]}}}}}")
    return "".join(out), unmapped


def _standalone(source: str, start: int, end: int) -> bool:
    """Whether a tag is alone on its line, which Handlebars (like Jinja's trim_blocks and
    lstrip_blocks) removes with the line; an inline tag keeps the text around it."""
    line_start = max(source.rfind("\n", 0, start), source.rfind("\r", 0, start)) + 1
    after = source[end:]
    line_end = min((i for i in (after.find("\n"), after.find("\r")) if i >= 0),
                   default=len(after))
    return not source[line_start:start].strip() and not after[:line_end].strip()


def _text(text: str) -> str:
    """Literal text; Jinja delimiters in it are written as strings."""
    return _JINJA_OPEN.sub(lambda m: "{{ '" + m.group(0) + "' }}", text)


def _var(path: str, loops: list[str]) -> str | None:
    """A Handlebars path as a Jinja expression, or None."""
    if not _PATH.match(path):
        return None
    item = loops[-1] if loops else None
    if path == "this" and item:
        return item
    if path.startswith("this.") and item:
        return item + path[4:]
    if path in ("@index", "@first", "@last") and item:
        return {"@index": "loop.index0", "@first": "loop.first", "@last": "loop.last"}[path]
    if path.startswith("@"):
        return None
    return path


def _kept(raw: str, unmapped: list[str]) -> str:
    """A tag that does not map: listed, and sent as the text it was."""
    unmapped.append(raw)
    return "{{ " + json.dumps(raw, ensure_ascii=False) + " }}"


def _output(expr: str, loops: list[str], unmapped: list[str], raw: str) -> str:
    var = _var(expr, loops)
    if var is None:
        return _kept(raw, unmapped)
    return "{{ " + var + " }}"


def _tag(body: str, loops: list[str], blocks: list[str], unmapped: list[str], raw: str) -> str:
    if body.startswith("!"):
        comment = body.removeprefix("!--").removesuffix("--").removeprefix("!").strip()
        return "{# " + comment.replace("#}", "# }") + " #}"
    head, _, rest = body.partition(" ")
    rest = rest.strip()
    if head in ("#if", "#unless") and _var(rest, loops):
        blocks.append(head[1:])
        neg = "not " if head == "#unless" else ""
        return "{% if " + neg + str(_var(rest, loops)) + " %}"
    if head == "else" and not rest and blocks:
        return "{% else %}"
    if head == "#each" and _var(rest, loops):
        item = f"item{len(loops) or ''}"
        expr = _var(rest, loops)
        loops.append(item)
        blocks.append("each")
        return "{% for " + item + " in " + str(expr) + " %}"
    if head in ("/if", "/unless", "/each") and blocks and blocks[-1] == head[1:]:
        blocks.pop()
        if head == "/each":
            loops.pop()
            return "{% endfor %}"
        return "{% endif %}"
    if head == "json" and _var(rest, loops):
        return "{{ " + str(_var(rest, loops)) + " | tojson }}"
    if not rest:
        return _output(body, loops, unmapped, raw)
    return _kept(raw, unmapped)
