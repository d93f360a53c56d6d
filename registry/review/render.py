"""Renderers of a :class:`~promptctl.review.report.Report`: markdown, JSON and Rich text.

The markdown is a pull-request comment: a hidden marker (so CI can find and
update its one sticky comment), a verdict, a summary table, findings, then one
collapsible ``<details>`` block per artifact with fenced ``diff`` blocks. It
holds no dates and no absolute paths, so it is byte-for-byte reproducible.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from promptctl.findings import Finding
from promptctl.review.report import Affected, ArtifactDiff, Report, ValueChange
from promptctl.review.semver_policy import level_index

MARKER = "<!-- promptctl-diff -->"
FORMATS = ("text", "markdown", "json")


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# -- markdown -----------------------------------------------------------------------------------


def render_markdown(report: Report, max_chars: int | None = None,
                    full_report: str | None = None) -> str:
    """The PR comment; with ``max_chars``, cut at whole blocks so it stays valid markdown.

    The summary table of every artifact comes first, then the findings, the
    indirectly affected prompts and one details block per artifact, in order,
    until the budget runs out. Nothing is cut inside a table row, a code fence
    or a ``<details>`` block; a closing line says how much was left out and
    where the full report is (``full_report``). ``max_chars`` counts UTF-16
    code units, as GitHub's comment limit does.
    """
    head = [MARKER, f"### promptctl diff: {_verdict(report)}", "", _comparing(report), ""]
    blocks = _blocks(report)
    full = _join(head + _fill(blocks, None)[0])
    if not max_chars or _size([full]) - 1 <= max_chars:
        return full
    closing = _closing(report, dict.fromkeys(_PARTS, 1), full_report, worst=True)
    body, left_out = _fill(blocks, max_chars - _size([*head, "", closing, ""]))
    if body and body[-1] != "":  # a table or list must end before the closing line
        body.append("")
    return _join([*head, *body, _closing(report, left_out, full_report)])


def _fill(blocks: list[_Block], budget: int | None) -> tuple[list[str], dict[str, int]]:
    """Blocks in order while they fit in ``budget`` (``None``: all), and what was left out."""
    out: list[str] = []
    left_out, opened = dict.fromkeys(_PARTS, 0), None
    for block in blocks:
        opener = list(block.opener) if block.group is not None and block.group != opened else []
        cost = _size(opener) + _size(block.lines)
        if any(left_out.values()) or (budget is not None and cost > budget):
            left_out[block.part] += block.counts
            continue
        out += opener + block.lines
        opened = block.group or opened
        if budget is not None:
            budget -= cost
    return out, left_out


_PARTS = ("summary rows", "findings", "affected prompts", "artifact details")


@dataclass(frozen=True)
class _Block:
    """A piece that is whole markdown on its own (a table row needs its table's header)."""

    part: str
    lines: list[str]
    group: str | None = None  # blocks of one group share ``opener`` (a table header, a title)
    opener: tuple[str, ...] = ()
    counts: int = 1


def _blocks(report: Report) -> list[_Block]:
    blocks: list[_Block] = []
    if report.artifacts:
        header = ("| artifact | change | version | bump (declared / required) | fingerprint "
                  "| findings |", "| --- | --- | --- | --- | --- | --- |")
        blocks += [_Block("summary rows", [_summary_row(a)], "summary", header)
                   for a in report.artifacts]
        blocks.append(_Block("summary rows", [""], "summary", header, counts=0))
    else:
        blocks.append(_Block("summary rows", ["No artifact changed.", ""], counts=0))
    if report.findings:
        title = ("**Findings**", "")
        blocks += [_Block("findings", [f"- {_md_finding(f)}"], "findings", title)
                   for f in report.findings]
        blocks.append(_Block("findings", [""], "findings", title, counts=0))
    if report.affected:
        title = ("**Prompts affected indirectly**", "")
        blocks += [_Block("affected prompts", [_affected_item(a)], "affected", title)
                   for a in report.affected]
        blocks.append(_Block("affected prompts", [""], "affected", title, counts=0))
    blocks += [_Block("artifact details", _details(item)) for item in report.artifacts
               if item.status != "moved"]
    return blocks


def _affected_item(a: Affected) -> str:
    fp = ""
    if a.old_fingerprint or a.new_fingerprint:
        fp = f" (fingerprint {_short(a.old_fingerprint)} → {_short(a.new_fingerprint)})"
    return f"- `{a.prompt}` via `{a.via}`: {_md_text(a.reason)}{fp}"


def _closing(report: Report, left_out: dict[str, int], full_report: str | None,
             worst: bool = False) -> str:
    """The last line of a cut report: what was left out, and where to read everything."""
    if worst:  # the longest this line can be, to reserve room for it
        big = 10 ** len(str(len(report.artifacts) + len(report.findings) + len(report.affected)))
        left_out = dict.fromkeys(left_out, big)
    parts = [f"{n} {part}" for part, n in left_out.items() if n]
    where = full_report or "the output of `promptctl diff --format markdown --max-chars 0`"
    if not parts:
        return ""
    return (f"**Report cut to fit a comment:** left out {', '.join(parts)}. "
            f"The full report is in {where}.")


def _size(lines: list[str] | tuple[str, ...]) -> int:
    """Length in UTF-16 code units (what GitHub counts), newlines included."""
    return sum(len(line.encode("utf-16-le")) // 2 + 1 for line in lines)


def _join(lines: list[str]) -> str:
    return "\n".join(lines).rstrip("\n") + "\n"


def _verdict(report: Report) -> str:
    errors, warnings = len(report.errors), len(report.warnings)
    tail = f"{errors} error(s), {warnings} warning(s)"
    return f"❌ check failed — {tail}" if errors else f"✅ check passed — {tail}"


def _comparing(report: Report) -> str:
    counts = ", ".join(f"{n} {status}" for status, n in report.counts().items() if n)
    return (f"Comparing `{report.base.label}` ({_rev(report.base.commit)}) → "
            f"`{report.head.label}` ({_rev(report.head.commit)}): {counts or 'no changes'}.")


def _summary_row(item: ArtifactDiff) -> str:
    change = item.status + (f" from `{item.renamed_from}`" if item.renamed_from else "")
    if item.moved_path:
        change += f" `{item.old.path}` → `{item.new.path}`"  # type: ignore[union-attr]
    bump = "—"
    if item.required_bump:
        declared = level_index(item.declared_bump or "none")
        ok = declared >= level_index(item.required_bump)
        excused = item.override is not None and declared >= level_index(item.override.level)
        mark = "✅" if ok else ("⚠️ override" if excused else "❌")
        bump = f"{item.declared_bump} / {item.required_bump} {mark}"
    fingerprint = "—"
    if item.kind == "prompt":
        fingerprint = f"{_short(item.old.fingerprint if item.old else None)} → " \
                      f"{_short(item.new.fingerprint if item.new else None)}"
    errors = sum(f.severity == "error" for f in item.findings)
    warnings = sum(f.severity == "warning" for f in item.findings)
    findings = ", ".join(x for x in (f"❌ {errors}" if errors else "",
                                     f"⚠️ {warnings}" if warnings else "") if x) or "—"
    return (f"| `{item.label}` | {change} | {item.version_text} | {bump} | {fingerprint} "
            f"| {findings} |")


def _details(item: ArtifactDiff) -> list[str]:
    out = ["<details>",
           f"<summary><code>{item.label}</code> {item.status} {item.version_text}</summary>", ""]
    if item.renamed_from:
        out += [f"Renamed from `{item.kind}/{item.renamed_from}`.", ""]
    if item.moved_path:
        out += [f"File moved: `{item.old.path}` → `{item.new.path}`.", ""]  # type: ignore
    if item.required_bump:
        out += [f"Required bump **{item.required_bump}** (declared {item.declared_bump}):", ""]
        out += [f"- {_md_text(r)}" for r in item.reasons] or ["- no content change"]
        out.append("")
    if item.override:
        o = item.override
        out += [f"The author declared **{o.level}** ({o.source}): {_md_text(o.reason)}", ""]
    for t in item.templates:
        if t.whitespace_only:
            out += [f"**`template.{t.role}`**: whitespace or re-wrapping only.", ""]
        else:
            out += [f"**`template.{t.role}`**", "", *_fenced("diff", t.marked or t.lines), ""]
    if item.params:
        out += _md_table("parameter", item.params)
    if item.fields:
        out += _md_table("field", item.fields)
    if item.refs:
        out += ["**Refs**", ""]
        out += [f"- {r.name}: {r.old or '(none)'} → {r.new or '(none)'}" for r in item.refs]
        out.append("")
    for title, lines in (("Tool parameters", item.tool_parameters),
                         ("Output schema", item.output_schema)):
        if lines:
            out += [f"**{title}**", "", *[f"- {_md_text(x)}" for x in lines], ""]
    if item.kind == "prompt" and (item.old or item.new):
        old = item.old.fingerprint if item.old else None
        new = item.new.fingerprint if item.new else None
        out += [f"Fingerprint: `{old or '—'}` → `{new or '—'}`", ""]
    if item.findings:
        out += [f"- {_md_finding(f)}" for f in item.findings]
        out.append("")
    return [*out, "</details>", ""]


def _md_table(what: str, changes: list[ValueChange]) -> list[str]:
    rows = [f"| {what} | old | new |", "| --- | --- | --- |"]
    rows += [f"| `{c.name}` | {_cell(c.old)} | {_cell(c.new)} |" for c in changes]
    return [*rows, ""]


def _fenced(lang: str, lines: list[str]) -> list[str]:
    fence = "```"
    while any(fence in line for line in lines):
        fence += "`"
    return [f"{fence}{lang}", *lines, fence]


def _md_finding(f: Finding) -> str:
    icon = {"error": "❌", "warning": "⚠️"}.get(f.severity, "📝")
    where = f"`{f.path}`" + (f" `{f.field}`" if f.field else "")
    fix = f" — fix: {_md_text(f.fix)}" if f.fix else ""
    return f"{icon} **{f.severity}** {where}: {_md_text(f.message)}{fix}"


def _cell(value: Any) -> str:
    if value is None:
        return "(unset)"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True,
                                                           ensure_ascii=False)
    text = text.replace("|", "\\|").replace("\n", "↵")
    return f"`{text}`" if "`" not in text else text


def _md_text(text: str) -> str:
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _short(fingerprint: str | None) -> str:
    return f"`{fingerprint[:12]}`" if fingerprint else "—"


def _rev(commit: str | None) -> str:
    return f"`{commit[:10]}`" if commit else "working tree"


# -- text (Rich) --------------------------------------------------------------------------------


def print_text(report: Report, console: Console) -> None:
    """Coloured terminal output: summary table, per-artifact changes, findings, verdict."""
    console.print(escape(_comparing(report)).replace("`", ""))
    if report.artifacts:
        t = Table(show_edge=False, header_style="bold")
        for column in ("artifact", "change", "version", "bump", "findings"):
            t.add_column(column, overflow="fold")
        for item in report.artifacts:
            bump = f"{item.declared_bump} / {item.required_bump}" if item.required_bump else "-"
            t.add_row(item.label, item.status, item.version_text, bump, str(len(item.findings)))
        console.print(t)
    for item in report.artifacts:
        _text_item(item, console)
    if report.affected:
        console.print("\n[bold]prompts affected indirectly[/bold]")
        for a in report.affected:
            console.print(f"  {escape(a.prompt)} via {escape(a.via)}: {escape(a.reason)}")
    if report.findings:
        console.print()
        for f in report.findings:
            colour = {"error": "red", "warning": "yellow"}.get(f.severity, "blue")
            console.print(f"[{colour}]{f.severity}[/{colour}] {escape(str(f))}")
    colour = "red" if report.errors else "green"
    verdict = "check failed" if report.errors else "check passed"
    console.print(f"\n[{colour}]{verdict}[/{colour}]: {len(report.errors)} error(s), "
                  f"{len(report.warnings)} warning(s)")


def _text_item(item: ArtifactDiff, console: Console) -> None:
    path = f" {item.old.path} → {item.new.path}" if item.moved_path else ""  # type: ignore
    console.print(f"\n[bold]{escape(item.label)}[/bold] {item.status} {item.version_text}"
                  f"{escape(path)}")
    if item.status == "moved":
        return
    for reason in item.reasons:
        console.print(f"  [dim]{escape(reason)}[/dim]")
    if item.override:
        o = item.override
        console.print(f"  [yellow]the author declared {o.level} ({escape(o.source)}): "
                      f"{escape(o.reason)}[/yellow]")
    for t in item.templates:
        if t.whitespace_only:
            console.print(f"  template.{t.role}: whitespace only")
            continue
        console.print(f"  [bold]template.{t.role}[/bold]")
        for line in t.marked or t.lines:
            console.print(_styled_line(line))
    for what, changes in (("param", item.params), ("field", item.fields), ("ref", item.refs)):
        for c in changes:
            console.print(f"  {what} {escape(c.name)}: [red]{escape(_plain(c.old))}[/red] → "
                          f"[green]{escape(_plain(c.new))}[/green]")
    for line in item.tool_parameters + item.output_schema:
        console.print(f"  {escape(line)}")
    if item.kind == "prompt":
        old = item.old.fingerprint if item.old else None
        new = item.new.fingerprint if item.new else None
        console.print(f"  [dim]fingerprint {(old or '-')[:16]} → {(new or '-')[:16]}[/dim]")


_MARK = re.compile(r"(\[-.*?-\]|\{\+.*?\+\})")


def _styled_line(line: str) -> Text:
    """One diff line, coloured by its sign, with marked words bold and reversed."""
    style = {"+": "green", "-": "red", "@": "cyan"}.get(line[:1], "")
    text = Text("    ", style=style)
    for piece in _MARK.split(line):
        if piece:
            marked = _MARK.fullmatch(piece) is not None
            text.append(piece, style=f"bold reverse {style}" if marked else style)
    return text


def _plain(value: Any) -> str:
    if value is None:
        return "(unset)"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True,
                                                           ensure_ascii=False)
