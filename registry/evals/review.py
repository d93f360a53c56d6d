"""Evals in review: run the suites covering the prompts a pull request changes, and write
their summaries and regressions as a markdown section for the same sticky PR comment that
``promptctl diff --format markdown`` starts.

A prompt is covered when a suite in the working tree names it. It is changed when the diff
shows it added, changed or bumped, when a change to what it pins affects it, or when one of
its suites changed. Each covering suite runs on the prompt's version in the working tree
with the suite's provider (``replay`` for deterministic offline CI) or the one configured.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from promptctl.bundle import Bundle, resolve_bundle
from promptctl.catalog import Catalog
from promptctl.errors import PromptctlError
from promptctl.evals.evaluate import EvalReport, EvalRequest, evaluate, suites_of
from promptctl.evals.report import markdown_body
from promptctl.evals.suite import EvalSuite
from promptctl.model import Prompt
from promptctl.service import RegistryService

SECTION_MARKER = "<!-- promptctl-eval-review -->"


@dataclass
class ReviewOutcome:
    reports: list[EvalReport] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.errors and all(r.outcome.passed for r in self.reports)


def changed_prompts(diff_report: Any, catalog: Catalog) -> list[str]:
    """Names of the prompts the diff changes (directly, through a pin, or via a suite)."""
    names: set[str] = set()
    for artifact in diff_report.artifacts:
        if artifact.new is None:
            continue
        if artifact.kind == "prompt":
            names.add(artifact.name)
        elif artifact.kind == "eval":
            entry = catalog.find(f"eval/{artifact.name}@{artifact.new.version}")
            if isinstance(entry.artifact, EvalSuite):
                names.add(entry.artifact.prompt)
    names |= {a.prompt.partition("@")[0] for a in diff_report.affected}
    return sorted(names)


def base_bundles(diff_report: Any, base_catalog: Catalog) -> dict[str, Bundle]:
    """The changed prompts as the base revision has them (the review's baseline)."""
    out = {}
    for artifact in diff_report.artifacts:
        if artifact.kind == "prompt" and artifact.old is not None:
            try:
                entry = base_catalog.find(f"prompt/{artifact.name}@{artifact.old.version}")
                assert isinstance(entry.artifact, Prompt)
                out[artifact.name] = resolve_bundle(entry.artifact, base_catalog)
            except PromptctlError:
                continue
    return out


def run_review(prompts: list[str], catalog: Catalog, service: RegistryService,
               base_request: EvalRequest, baselines: dict[str, Bundle] | None = None,
               **evaluate_args: Any) -> ReviewOutcome:
    """Run every suite covering ``prompts``; without ``--against``, each is compared with
    its prompt in ``baselines`` (the base revision)."""
    outcome = ReviewOutcome()
    baselines = baselines or {}
    for prompt in prompts:
        suites = suites_of(catalog, prompt)
        if not suites:
            outcome.uncovered.append(prompt)
            continue
        for suite in suites:
            request = EvalRequest(**{**base_request.__dict__, "target": prompt,
                                     "suite": f"{suite.name}@{suite.version}"})
            try:
                base = None if request.against else baselines.get(prompt)
                outcome.reports.append(evaluate(request, catalog, service,
                                                baseline_bundle=base, **evaluate_args))
            except PromptctlError as exc:
                outcome.errors.append((f"{suite.name} on {prompt}", exc.message))
    return outcome


def review_markdown(outcome: ReviewOutcome, max_chars: int = 0) -> str:
    """The section; with ``max_chars``, cut at a whole line with a note saying so."""
    text = _section(outcome)
    if max_chars and len(text) > max_chars:
        note = "\n_Eval report cut to fit the comment: the full one is in the job summary._\n"
        text = text[:max_chars - len(note)].rsplit("\n", 1)[0] + "\n" + note
    return text


def _section(outcome: ReviewOutcome) -> str:
    icon = "✅" if outcome.passed else "❌"
    ran = len(outcome.reports)
    failed = sum(not r.outcome.passed for r in outcome.reports) + len(outcome.errors)
    out = [SECTION_MARKER, "",
           f"### promptctl eval: {icon} {ran} suite run(s), {failed} failed", ""]
    if not ran and not outcome.errors:
        out.append("No changed prompt is covered by an eval suite.")
    for report in outcome.reports:
        run = report.run
        verdict = "✅ passed" if report.outcome.passed else "❌ failed"
        against = f" against `{report.comparison.baseline_version}`" if report.comparison \
            else ""
        where = f" ({report.env})" if report.env else ""
        out.append(f"#### `{run.suite}@{run.suite_version}` on `{run.prompt}@{run.version}`"
                   f"{against}{where}: {verdict}")
        out.append("")
        out += markdown_body(report)
        out.append("")
    for what, message in outcome.errors:
        out.append(f"#### {what}: ❌ could not run")
        out.append("")
        out.append(f"`{message.replace('`', chr(39))}`")
        out.append("")
    if outcome.uncovered:
        out.append("Changed prompts no suite covers: "
                   + ", ".join(f"`{p}`" for p in outcome.uncovered))
    return "\n".join(out).rstrip() + "\n"
