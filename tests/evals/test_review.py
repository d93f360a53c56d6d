"""Evals in review: the suites covering a pull request's changed prompts run, and their
summary and regressions go into the same sticky comment as the diff."""

from __future__ import annotations

import yaml

from tests.conftest import REPO_ROOT, Cli
from tests.evals.suites import IMPROVED_SYSTEM, REWRITE_SYSTEM, rewrite_support


def test_a_regressing_change_gets_its_regressions_in_the_comment_and_fails(cli: Cli) -> None:
    rewrite_support(cli.root, "1.1.0", REWRITE_SYSTEM)  # the working tree of the PR
    result = cli("eval", "review", "HEAD")
    assert result.exit_code == 1
    out = result.output
    assert out.startswith("<!-- promptctl-eval-review -->")
    assert "`support-golden@1.0.0` on `support@1.1.0` against `1.0.0`: ❌ failed" in out
    assert "`delivery-01`, `delivery-02`, `delivery-03`" in out
    assert "| cost per case |" in out and "| `max_cost_increase` | ❌ |" in out
    short = cli("eval", "review", "HEAD", "--max-chars", "1200")
    assert len(short.output) <= 1200 and "Eval report cut" in short.output


def test_an_improvement_passes_and_an_uncovered_change_says_so(cli: Cli) -> None:
    rewrite_support(cli.root, "1.1.0", IMPROVED_SYSTEM)
    summarize = cli.root / "prompts" / "summarize-ticket.prompt.yaml"
    summarize.write_text(summarize.read_text().replace("version: 1.1.0", "version: 1.2.0")
                         .replace("Be factual and brief.", "Be factual."))
    result = cli("eval", "review", "HEAD")
    assert result.exit_code == 0, result.output
    assert "✅ 1 suite run(s), 0 failed" in result.output
    assert "Changed prompts no suite covers: `summarize-ticket`" in result.output


def test_the_workflow_puts_the_eval_section_into_the_sticky_comment() -> None:
    workflow = yaml.safe_load((REPO_ROOT / ".github/workflows/prompt-review.yml").read_text())
    run = next(s for s in workflow["jobs"]["review"]["steps"] if s.get("id") == "diff")["run"]
    assert 'promptctl eval review --max-chars 7000 "$BASE" > eval-review.md' in run
    assert "cat eval-review.md >> review.md" in run
