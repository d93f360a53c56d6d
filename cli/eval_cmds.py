"""Eval commands: ``eval run`` (run a suite, compare with a baseline, gate), ``eval list``,
``eval show`` and ``eval record`` (a result from an external tool).

Stored runs go through the application layer, so with ``PROMPTCTL_URL`` they are written to
and read from the server with a deployer token. Providers run in this process.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from promptctl.cli.context import workspace
from promptctl.cli.output import console, emit, escape, handled, print_json, table
from promptctl.cli.rollout_cmds import ENV_OPT, JSON_OPT, service

if TYPE_CHECKING:
    from promptctl.service import EvalRunInfo


def register(app: typer.Typer) -> None:
    evals = typer.Typer(help="Eval suites: run them, gate promotion on them, list results.",
                        no_args_is_help=True)
    evals.command("run")(eval_run)
    evals.command("list")(eval_list)
    evals.command("show")(eval_show)
    evals.command("record")(eval_record)
    evals.command("review")(eval_review)
    app.add_typer(evals, name="eval")


def eval_run(
    ctx: typer.Context,
    target: str = typer.Argument(..., metavar="NAME[@VERSION]",
                                 help="The prompt to evaluate (default: its newest version)."),
    against: str = typer.Option(None, "--against", "-a", metavar="ENV|VERSION",
                                help="Compare with the stable version live in ENV, or with "
                                "VERSION."),
    suite: str = typer.Option(None, "--suite", "-s", metavar="SUITE[@VERSION]",
                              help="The suite (default: the one that evaluates NAME)."),
    provider: str = typer.Option(None, "--provider", "-p", metavar="TYPE[:TARGET]",
                                 help="python:module:function, replay:FILE, openai, anthropic "
                                 "(default: the suite's)."),
    jobs: int = typer.Option(4, "--jobs", "-j", min=1, max=256, help="Cases run at once."),
    retries: int = typer.Option(3, "--retries", min=0, max=10,
                                help="Retries of a call answered 429/5xx or not at all."),
    timeout: float = typer.Option(60.0, "--timeout", min=0.001, help="Seconds per call."),
    max_cost: float = typer.Option(None, "--max-cost", min=0.0,
                                   help="Stop starting cases once the run spent this (USD)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Call the model for every case."),
    record: Path = typer.Option(None, "--record", metavar="FILE",
                                help="Write the answers as recordings for the replay provider."),
    no_store: bool = typer.Option(False, "--no-store", help="Do not store the result."),
    fmt: str = typer.Option("text", "--format", "-f", help="text | markdown | json"),
    as_json: bool = JSON_OPT,
) -> None:
    """Run the suite of NAME@VERSION; exit 1 when the suite's gate fails."""
    as_json = as_json or fmt == "json"
    with handled(as_json):
        from promptctl.errors import UsageError
        from promptctl.evals.evaluate import EvalRequest, evaluate
        from promptctl.evals.report import markdown, text_lines

        if fmt not in ("text", "markdown", "json"):
            raise UsageError(f"--format must be text, markdown or json, got {fmt!r}")
        ws = workspace(ctx)
        settings = ws.settings
        svc = service(ctx)
        catalog = _catalog(ws)
        request = EvalRequest(target=target, against=against, suite=suite, provider=provider,
                              jobs=jobs, retries=retries, timeout_seconds=timeout,
                              max_cost=max_cost, use_cache=not no_cache, record=record,
                              store=not no_store)
        with _progress(enabled=not as_json and fmt == "text") as progress:
            report = evaluate(request, catalog, svc, root=ws.root,
                              registry=settings.registry_path,
                              cache_dir=ws.root / ".promptctl" / "eval-cache",
                              progress=progress)
        if as_json:
            print_json(report.to_dict())
        elif fmt == "markdown":
            typer.echo(markdown(report), nl=False)
        else:
            for line in text_lines(report):
                console.print(escape(line))
    if not report.outcome.passed:
        raise typer.Exit(1)


def _catalog(ws: Any) -> Any:
    """Released versions and the tree; through a server, the tree alone (released versions
    it lacks come from the API)."""
    if ws.settings.url:
        from promptctl.catalog_queries import tree_catalog

        return tree_catalog(ws)
    return ws.catalog()


class _progress:
    """A progress bar on a terminal (stderr), nothing elsewhere."""

    def __init__(self, *, enabled: bool) -> None:
        import sys

        self.enabled = enabled and sys.stderr.isatty()
        self.bar: Any = None
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> Any:
        if not self.enabled:
            return None
        from rich.console import Console
        from rich.progress import Progress

        self.bar = Progress(console=Console(stderr=True), transient=True)
        self.bar.start()

        def update(label: str, done: int, total: int) -> None:
            if label not in self.tasks:
                self.tasks[label] = self.bar.add_task(label, total=total)
            self.bar.update(self.tasks[label], completed=done)

        return update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def eval_list(
    ctx: typer.Context,
    prompt: str = typer.Option(None, "--prompt", help="Only runs of this prompt."),
    suite: str = typer.Option(None, "--suite", "-s", help="Only runs of this suite."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=500, help="How many."),
    as_json: bool = JSON_OPT,
) -> None:
    """Stored eval runs, newest first."""
    with handled(as_json):
        runs = service(ctx).eval_runs(prompt=prompt, suite=suite, limit=limit)

        def human() -> None:
            if not runs:
                console.print("no eval runs yet: `promptctl eval run NAME --against ENV`")
                return
            t = table("#", "time", "suite", "prompt", "fingerprint", "against", "pass rate",
                      "gate")
            for r in runs:
                against = f"{r.baseline_version or '-'}" + (f" ({r.env})" if r.env else "")
                t.add_row(str(r.id), r.created_at.isoformat()[:19].replace("T", " "),
                          f"{r.suite}@{r.suite_version}", f"{r.prompt}@{r.version}",
                          r.fingerprint[:12], against, _rate(r),
                          "passed" if r.passed else "failed")
            console.print(t)

        emit([r.to_dict() for r in runs], as_json, human)


def _rate(run: EvalRunInfo) -> str:
    s = run.summary
    return f"{s.get('pass_rate', 0):.1%} ({s.get('passed')}/{s.get('cases')})"


def eval_show(
    ctx: typer.Context,
    run_id: int = typer.Argument(..., metavar="ID", help="The run's id, as eval list shows it."),
    as_json: bool = JSON_OPT,
) -> None:
    """One stored run: evidence, summary, comparison, gate checks and every case."""
    with handled(as_json):
        run = service(ctx).eval_run(run_id)

        def human() -> None:
            s = run.summary
            lines = [
                f"run #{run.id}: {run.suite}@{run.suite_version} on {run.prompt}@{run.version}"
                f" — gate {'passed' if run.passed else 'FAILED'}"
                + ("" if run.complete else " (incomplete upload)"),
                f"fingerprint:   {run.fingerprint}",
                f"suite hash:    {run.suite_hash}",
                f"provider:      {run.provider}",
                f"judges:        {run.judges or 'none'}",
                f"against:       {run.baseline_version or '-'}"
                + (f" ({run.env})" if run.env else ""),
                f"pass rate:     {s.get('pass_rate', 0):.1%} ({s.get('passed')}/{s.get('cases')})",
                f"latency p50/p95: {s.get('p50_latency_ms')} / {s.get('p95_latency_ms')} ms; "
                f"p95 tokens {s.get('p95_tokens')}; cost per case {s.get('cost_per_case')}",
                f"by assertion:  {s.get('per_assertion')}",
            ]
            if run.comparison:
                cmp = run.comparison
                lines.append(f"regressions:   {', '.join(cmp.get('regressions') or []) or 'none'}")
            for check in run.gate.get("checks", []):
                lines.append(f"  {'ok  ' if check['passed'] else 'FAIL'} {check['name']}: "
                             f"{check['detail']}")
            for line in lines:
                console.print(escape(line))
            t = table("case", "pass", "score", "latency ms", "tokens", "cost", "output")
            for c in run.cases or []:
                tokens = (c.get("input_tokens") or 0) + (c.get("output_tokens") or 0)
                t.add_row(c["name"], "yes" if c["passed"] else "no", f"{c['score']:g}",
                          f"{c['latency_ms']:.0f}", str(tokens), str(c.get("cost")),
                          (c.get("error") or c.get("output") or "")[:60])
            console.print(t)

        emit(run.to_dict(), as_json, human)


def eval_record(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="NAME", help="Prompt name."),
    version: str = typer.Argument(..., metavar="VERSION", help="The version evaluated."),
    env: str = ENV_OPT,
    passed: bool = typer.Option(..., "--passed/--failed", help="The suite's outcome."),
    score: float = typer.Option(None, "--score", help="The suite's score."),
    suite: str = typer.Option(..., "--suite", help="Eval suite name."),
    fingerprint: str = typer.Option(None, "--fingerprint",
                                    help="The bundle evaluated (checked against the release)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Record an outcome from an external tool for NAME@VERSION's bundle in ENV."""
    with handled(as_json):
        result = service(ctx).record_eval(env, name, version, passed=passed, suite=suite,
                                          score=score, fingerprint=fingerprint)
        outcome = "passed" if result.passed else "failed"
        emit(result.to_dict(), as_json, lambda: console.print(escape(
            f"recorded: {result.prompt}@{result.version} ({(result.fingerprint or '')[:12]}) "
            f"{outcome} {result.suite} in {result.env}"
            + (f" (score {result.score})" if result.score is not None else ""))))


def eval_review(
    ctx: typer.Context,
    base: str = typer.Argument(None, metavar="BASE",
                               help="Base revision (default: merge-base of main and HEAD)."),
    against: str = typer.Option(None, "--against", "-a", metavar="ENV|VERSION",
                                help="Compare each prompt with the stable live in ENV."),
    provider: str = typer.Option(None, "--provider", "-p", metavar="TYPE[:TARGET]",
                                 help="Instead of each suite's provider (e.g. replay:FILE)."),
    jobs: int = typer.Option(4, "--jobs", "-j", min=1, max=256, help="Cases run at once."),
    max_cost: float = typer.Option(None, "--max-cost", min=0.0,
                                   help="Budget per suite run (USD)."),
    store: bool = typer.Option(False, "--store/--no-store",
                               help="Store the runs (needs write access: a deployer token)."),
    max_chars: int = typer.Option(0, "--max-chars", min=0,
                                  help="Cut the section at a whole line to fit (0: no limit)."),
    as_json: bool = JSON_OPT,
) -> None:
    """Run the suites covering the prompts changed since BASE; print a markdown section for
    the review comment; exit 1 when a gate fails."""
    with handled(as_json):
        from promptctl.catalog import Catalog, Entry
        from promptctl.evals.evaluate import EvalRequest
        from promptctl.evals.review import (
            base_bundles,
            changed_prompts,
            review_markdown,
            run_review,
        )
        from promptctl.review.diff import diff_revisions
        from promptctl.review.git_source import (
            WORKTREE,
            default_base,
            load_revision,
            resolve_revision,
        )
        from promptctl.review.lint_rules import GrowthPolicy

        ws = workspace(ctx)
        settings = ws.settings
        base_rev = resolve_revision(ws.root, base) if base else default_base(ws.root)
        report = diff_revisions(ws.root, base_rev, resolve_revision(ws.root, WORKTREE),
                                settings.registry_dir, GrowthPolicy.from_settings(settings.extra),
                                limits=settings.limits)
        catalog = _catalog(ws)
        old = load_revision(ws.root, base_rev, settings.registry_dir, settings.limits)
        base_catalog = Catalog(Entry(i.artifact, i.path) for i in old.artifacts)
        outcome = run_review(
            changed_prompts(report, catalog), catalog, service(ctx),
            EvalRequest(target="", against=against, provider=provider, jobs=jobs,
                        max_cost=max_cost, store=store),
            base_bundles(report, base_catalog), root=ws.root, registry=settings.registry_path,
            cache_dir=ws.root / ".promptctl" / "eval-cache")
        if as_json:
            print_json({"passed": outcome.passed,
                        "runs": [r.to_dict() for r in outcome.reports],
                        "errors": [{"suite": w, "error": m} for w, m in outcome.errors],
                        "uncovered": outcome.uncovered})
        else:
            typer.echo(review_markdown(outcome, max_chars), nl=False)
    if not outcome.passed:
        raise typer.Exit(1)
