"""Renderers of a :class:`~promptctl.review.report.Report`: markdown, JSON and Rich text.

The markdown is a pull-request comment: a hidden marker (so CI can find and
update its one sticky comment), a verdict, a summary table, findings, then one
collapsible ``<details>`` block per artifact with fenced ``diff`` blocks. It
holds no dates and no absolute paths, so it is byte-for-byte reproducible.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from promptctl.findings import Finding
from promptctl.review.report import ArtifactDiff, Report, ValueChange
from promptctl.review.semver_policy import level_index

MARKER = "<!-- promptctl-diff -->"
FORMATS = ("text", "markdown", "json")


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# -- markdown -----------------------------------------------------------------------------------


def render_markdown(report: Report) -> str:
    out = [MARKER, f"### promptctl diff: {_verdict(report)}", "", _comparing(report), ""]
    if report.artifacts:
        out += ["| artifact | change | version | bump (declared / required) | fingerprint "
                "| findings |", "| --- | --- | --- | --- | --- | --- |"]
        out += [_summary_row(a) for a in report.artifacts]
        out.append("")
    else:
        out += ["No artifact changed.", ""]
    if report.findings:
        out += ["**Findings**", ""]
        out += [f"- {_md_finding(f)}" for f in report.findings]
        out.append("")
    if report.affected:
        out += ["**Prompts affected indirectly**", ""]
        for a in report.affected:
            fp = ""
            if a.old_fingerprint or a.new_fingerprint:
                fp = f" (fingerprint {_short(a.old_fingerprint)} → {_short(a.new_fingerprint)})"
            out.append(f"- `{a.prompt}` via `{a.via}`: {_md_text(a.reason)}{fp}")
        out.append("")
    for item in report.artifacts:
        out += _details(item)
    return "\n".join(out).rstrip("\n") + "\n"


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
    bump = "—"
    if item.required_bump:
        ok = level_index(item.declared_bump or "none") >= level_index(item.required_bump)
        bump = f"{item.declared_bump} / {item.required_bump} {'✅' if ok else '❌'}"
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
    if item.required_bump:
        out += [f"Required bump **{item.required_bump}** (declared {item.declared_bump}):", ""]
        out += [f"- {_md_text(r)}" for r in item.reasons] or ["- no content change"]
        out.append("")
    for t in item.templates:
        if t.whitespace_only:
            out += [f"**`template.{t.role}`**: whitespace or re-wrapping only.", ""]
        else:
            out += [f"**`template.{t.role}`**", "", *_fenced("diff", t.lines), ""]
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
    console.print(f"\n[bold]{escape(item.label)}[/bold] {item.status} {item.version_text}")
    for reason in item.reasons:
        console.print(f"  [dim]{escape(reason)}[/dim]")
    for t in item.templates:
        if t.whitespace_only:
            console.print(f"  template.{t.role}: whitespace only")
            continue
        console.print(f"  [bold]template.{t.role}[/bold]")
        for line in t.lines:
            style = {"+": "green", "-": "red", "@": "cyan"}.get(line[:1], "")
            console.print(f"    [{style}]{escape(line)}[/{style}]" if style else
                          f"    {escape(line)}")
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


def _plain(value: Any) -> str:
    if value is None:
        return "(unset)"
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True,
                                                           ensure_ascii=False)
