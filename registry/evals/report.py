"""An eval report as text (a terminal) or markdown (a PR comment): the gate's verdict, the
summary, the comparison with the baseline and the regressions by name."""

from __future__ import annotations

from promptctl.evals.comparison import Delta
from promptctl.evals.evaluate import EvalReport

MARKER = "<!-- promptctl-eval -->"
MAX_LISTED = 25


def _pct(delta: Delta) -> str:
    change = delta.change
    if change is None:
        return "n/a"
    return "+∞" if change == float("inf") else f"{change:+.1%}"


def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if unit == "$":
        return f"${value:.6f}"
    return f"{value:,.0f}{unit}"


def headline(report: EvalReport) -> str:
    run, s = report.run, report.run.summary
    verdict = "passed" if report.outcome.passed else "FAILED"
    against = ""
    if report.comparison is not None:
        where = f" ({report.env})" if report.env else ""
        against = f" against {run.prompt}@{report.comparison.baseline_version}{where}"
    return (f"eval {run.suite}@{run.suite_version} on {run.prompt}@{run.version} "
            f"({run.fingerprint[:12]}){against}: gate {verdict} — {s.passed}/{s.cases} cases "
            f"pass ({s.pass_rate:.1%})")


def text_lines(report: EvalReport) -> list[str]:
    run, s = report.run, report.run.summary
    lines = [headline(report)]
    lines.append(f"  p50/p95 latency {_num(s.p50_latency_ms, ' ms')} / "
                 f"{_num(s.p95_latency_ms, ' ms')}, p95 tokens {_num(s.p95_tokens)}, "
                 f"cost per case {_num(s.cost_per_case, '$')}, spent {_num(run.spent, '$')}"
                 f" ({s.cached} cached)")
    cmp = report.comparison
    if cmp is not None:
        lines.append(f"  vs {cmp.baseline_version}: pass rate {cmp.pass_rate_delta:+.1%}, "
                     f"p95 latency {_pct(cmp.p95_latency_ms)}, p95 tokens "
                     f"{_pct(cmp.p95_tokens)}, cost per case {_pct(cmp.cost_per_case)}")
        if cmp.regressions:
            lines.append(f"  regressions ({len(cmp.regressions)}): "
                         f"{', '.join(cmp.regressions[:MAX_LISTED])}"
                         + (" ..." if len(cmp.regressions) > MAX_LISTED else ""))
    for check in report.outcome.checks:
        lines.append(f"  {'ok  ' if check.passed else 'FAIL'} {check.name}: {check.detail}")
    failing = [c for c in run.cases if not c.passed]
    for case in failing[:10]:
        why = case.error or "; ".join(a.reason for a in case.assertions if not a.passed)
        lines.append(f"  failed case {case.name}: {why}")
    if len(failing) > 10:
        lines.append(f"  ... and {len(failing) - 10} more failed case(s)")
    lines += [f"  note: {n}" for n in report.notes]
    if report.stored is not None:
        lines.append(f"  stored as run #{report.stored.id} (`promptctl eval show "
                     f"{report.stored.id}`)")
    return lines


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(report: EvalReport, *, marker: bool = True) -> str:
    run, s = report.run, report.run.summary
    icon = "✅" if report.outcome.passed else "❌"
    out = [MARKER] if marker else []
    out.append(f"### promptctl eval: {icon} `{run.suite}@{run.suite_version}` on "
               f"`{run.prompt}@{run.version}`")
    out.append("")
    out += markdown_body(report)
    del s
    return "\n".join(out) + "\n"


def markdown_body(report: EvalReport) -> list[str]:
    """The summary, comparison and regressions (shared with the review comment)."""
    run, s = report.run, report.run.summary
    cmp = report.comparison
    out = [f"Bundle `{run.fingerprint[:12]}`, suite hash `{run.suite_hash[:12]}`, provider "
           f"`{run.provider.get('type')}`" + (f" `{run.provider.get('target')}`"
                                              if run.provider.get("target") else "") + "."]
    out.append("")
    base = cmp.baseline_version if cmp else None
    out.append(f"| | {run.version} |" + (f" {base} | change |" if cmp else ""))
    out.append("| --- | ---: |" + (" ---: | ---: |" if cmp else ""))
    b = report.baseline.summary if report.baseline else None
    rows = [("pass rate", f"{s.pass_rate:.1%} ({s.passed}/{s.cases})",
             f"{b.pass_rate:.1%} ({b.passed}/{b.cases})" if b else "",
             f"{cmp.pass_rate_delta:+.1%}" if cmp else ""),
            ("p50 latency", _num(s.p50_latency_ms, " ms"),
             _num(b.p50_latency_ms, " ms") if b else "", ""),
            ("p95 latency", _num(s.p95_latency_ms, " ms"),
             _num(b.p95_latency_ms, " ms") if b else "",
             _pct(cmp.p95_latency_ms) if cmp else ""),
            ("p95 tokens", _num(s.p95_tokens), _num(b.p95_tokens) if b else "",
             _pct(cmp.p95_tokens) if cmp else ""),
            ("cost per case", _num(s.cost_per_case, "$"),
             _num(b.cost_per_case, "$") if b else "", _pct(cmp.cost_per_case) if cmp else "")]
    for label, now, before, change in rows:
        out.append(f"| {label} | {now} |" + (f" {before} | {change} |" if cmp else ""))
    out.append("")
    out.append("| gate check | | |")
    out.append("| --- | --- | --- |")
    for check in report.outcome.checks:
        out.append(f"| `{check.name}` | {'✅' if check.passed else '❌'} | "
                   f"{_cell(check.detail)} |")
    if cmp is not None and cmp.regressions:
        out.append("")
        out.append(f"**Regressions** (passed on {cmp.baseline_version}, fail now): "
                   + ", ".join(f"`{_cell(n)}`" for n in cmp.regressions[:MAX_LISTED])
                   + (" ..." if len(cmp.regressions) > MAX_LISTED else ""))
    failing = [c for c in run.cases if not c.passed][:MAX_LISTED]
    if failing:
        out.append("")
        out.append("<details><summary>Failed cases</summary>")
        out.append("")
        for case in failing:
            why = case.error or "; ".join(a.reason for a in case.assertions if not a.passed)
            out.append(f"- `{_cell(case.name)}`: {_cell(why)[:300]}")
        out.append("")
        out.append("</details>")
    out += [f"\n_{n}_" for n in report.notes]
    return out
