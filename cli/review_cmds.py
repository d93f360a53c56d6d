"""``promptctl diff``: the semantic diff of the registry between two git revisions."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from promptctl.cli.context import workspace
from promptctl.cli.output import console, handled
from promptctl.errors import CheckFailed, PromptctlError, UsageError
from promptctl.limits import DEFAULT_LIMITS

if TYPE_CHECKING:  # the review code (git, Rich, the diff engine) loads when `diff` runs
    from promptctl.rollout_state import RolloutState
    from promptctl.workspace import Workspace


def register(app: typer.Typer) -> None:
    app.command("diff")(diff)


def diff(
    ctx: typer.Context,
    base: str = typer.Argument(None, metavar="BASE",
                               help="Base revision (default: merge-base of main and HEAD)."),
    head: str = typer.Argument(None, metavar="HEAD",
                               help="Head revision (default: the working tree)."),
    fmt: str = typer.Option("text", "--format", "-f", help="text | markdown | json"),
    check: bool = typer.Option(False, "--check", help="Exit 1 on policy or lint errors."),
    max_chars: int = typer.Option(
        DEFAULT_LIMITS.max_comment_chars, "--max-chars",
        help="Markdown only: cut the report at whole blocks to fit this many characters "
             "(0: no limit). The default fits a GitHub comment."),
    full_report: str = typer.Option(
        None, "--full-report",
        help="Markdown only: where readers find the full report, named when it is cut."),
) -> None:
    """Show what changed in meaning between two revisions and check the semver policy."""
    from promptctl.review.diff import diff_revisions
    from promptctl.review.git_source import WORKTREE, default_base, resolve_revision
    from promptctl.review.lint_rules import GrowthPolicy
    from promptctl.review.render import FORMATS, print_text, render_json, render_markdown
    from promptctl.review.serving import gone_prompts, serving_findings

    with handled(fmt == "json"):
        if fmt not in FORMATS:
            raise UsageError(f"unknown format {fmt!r}; use one of: {', '.join(FORMATS)}")
        if max_chars < 0:
            raise UsageError(f"--max-chars must be 0 (no limit) or positive, got {max_chars}")
        ws = workspace(ctx)
        settings = ws.settings
        root = settings.root
        base_rev = resolve_revision(root, base) if base else default_base(root)
        head_rev = resolve_revision(root, head or WORKTREE)
        report = diff_revisions(root, base_rev, head_rev, settings.registry_dir,
                                GrowthPolicy.from_settings(settings.extra),
                                limits=settings.limits)
        if gone_prompts(report):
            serving_findings(report, *_rollout_states(ws))
        if fmt == "json":
            sys.stdout.write(render_json(report))
        elif fmt == "markdown":
            sys.stdout.write(render_markdown(report, max_chars, full_report))
        else:
            print_text(report, console)
        if check and not report.passed:
            raise typer.Exit(CheckFailed("review check failed").exit_code)


def _rollout_states(ws: Workspace) -> tuple[list[RolloutState] | None, str | None]:
    """Every environment's rollout state, as ``status`` reads it; or ``None`` and why not.

    A SQLite database that does not exist yet is not created: it holds no rollout.
    """
    from promptctl.config import MEMORY_DB_URL
    from promptctl.urls import sqlite_file

    settings = ws.settings
    try:
        missing = not settings.url and settings.db_url == MEMORY_DB_URL
    except PromptctlError as exc:  # outside a project, with no database named
        return None, exc.message
    if missing:
        path = sqlite_file(settings.configured_db_url)
        return None, (f"no registry database at {path}; set PROMPTCTL_DB or PROMPTCTL_URL "
                      "to check")
    try:
        from promptctl.service_factory import service_for

        return service_for(settings).status(), None
    except PromptctlError as exc:
        return None, exc.message
