"""``promptctl import markdown|dotprompt|prompty DIR``: bring prompts written for other
tools into the registry, mapping what maps and listing what does not in one message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from promptctl.cli.context import workspace
from promptctl.cli.output import console, emit, escape, handled
from promptctl.errors import ConflictError, UsageError

SOURCES = ("markdown", "dotprompt", "prompty")
JSON_OPT = typer.Option(False, "--json", help="Machine-readable JSON output.")


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Import prompts from markdown, Dotprompt or Prompty files.",
                        no_args_is_help=True)
    for source in SOURCES:
        group.command(source, help=f"Import {source} prompts from DIR into the registry.")(
            _command(source))
    app.add_typer(group, name="import")


def _command(source: str):  # type: ignore[no-untyped-def]
    def command(
        ctx: typer.Context,
        folder: Path = typer.Argument(..., metavar="DIR", help="Folder to import from."),
        into: str = typer.Option("", "--into", help="Subfolder of the registry to write to."),
        prefix: str = typer.Option("", "--prefix", help="Put this before every imported name."),
        model: str = typer.Option(None, "--model", metavar="NAME@VERSION",
                                  help="Pin this model instead of writing one per prompt."),
        version: str = typer.Option("1.0.0", "--version", help="Version of the new files."),
        fmt: str = typer.Option("auto", "--format",
                                help="auto (Jinja when the text reads variables, else "
                                     "literal) | jinja | literal"),
        role: str = typer.Option("system", "--role",
                                 help="markdown only: the role of a one-file prompt."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be written."),
        as_json: bool = JSON_OPT,
    ) -> None:
        with handled(as_json):
            data = run_import(ctx, source, folder, into, model, version, fmt, role, dry_run,
                              prefix)
            emit(data, as_json, lambda: _print(data))

    command.__doc__ = f"Import {source} prompts from DIR (idempotent: a second run writes " \
        "nothing)."
    return command


def run_import(ctx: typer.Context, source: str, folder: Path, into: str, model: str | None,
               version: str, fmt: str, role: str, dry_run: bool, prefix: str = ""
               ) -> dict[str, Any]:
    from promptctl.importers.build import FORMAT_CHOICES
    from promptctl.importers.dotprompt import plan_dotprompt
    from promptctl.importers.markdown import plan_markdown
    from promptctl.importers.plan import ImportPlan
    from promptctl.importers.prompty import plan_prompty
    from promptctl.model import ROLES, Ref, check_version

    if fmt not in FORMAT_CHOICES:
        raise UsageError(f"unknown --format {fmt!r}; use one of: {', '.join(FORMAT_CHOICES)}")
    if role not in ROLES:
        raise UsageError(f"unknown --role {role!r}; use one of: {', '.join(ROLES)}")
    try:
        check_version(version)
        model_ref = str(Ref.parse(model)) if model else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if into.startswith("/") or ".." in into.split("/"):
        raise UsageError(f"--into {into!r} must be a folder inside the registry")
    settings = workspace(ctx).settings
    registry_dir = settings.registry_dir.strip("/")
    target = "/".join(p for p in (registry_dir, into.strip("/")) if p)
    plan = ImportPlan(settings.root, registry_dir, prefix)
    if source == "markdown" and model_ref is None:
        raise UsageError("markdown names no model: pin one with --model NAME@VERSION")
    if source == "markdown":
        plan_markdown(folder, plan, target, model_ref, version, role, fmt)
    elif source == "dotprompt":
        plan_dotprompt(folder, plan, target, model_ref, version, fmt)
    else:
        plan_prompty(folder, plan, target, model_ref, version, fmt)
    try:
        written, unchanged = plan.check() if dry_run else plan.write()
    except ConflictError as exc:
        raise ConflictError(f"{exc.message} (--into FOLDER, --prefix NAME-)",
                            detail=exc.detail) from None
    return {"source": source, "dry_run": dry_run, "written": written, "unchanged": unchanged,
            "artifacts": sorted(plan.artifacts), "not_mapped": plan.unmapped}


def _print(data: dict[str, Any]) -> None:
    verb = "would write" if data["dry_run"] else "wrote"
    for path in data["written"]:
        console.print(f"{verb} {escape(path)}")
    if not data["written"]:
        console.print(f"nothing to import: {len(data['unchanged'])} file(s) already up to date")
    if data["not_mapped"]:
        console.print("not mapped: " + escape("; ".join(data["not_mapped"])))
