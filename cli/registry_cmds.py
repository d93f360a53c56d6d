"""Registry commands: init, new, lint, release, list, show, render, history."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from promptctl.cli.choices import Kind
from promptctl.cli.context import workspace
from promptctl.cli.output import clean, console, emit, escape, handled, table
from promptctl.errors import CheckFailed, NotFoundError, UsageError, ValidationError
from promptctl.kinds import KINDS

if TYPE_CHECKING:  # the core's models, Jinja2 and git load when a command runs, not at start-up
    from promptctl.catalog import Catalog
    from promptctl.findings import Finding
    from promptctl.model import Prompt

JSON_OPT = typer.Option(False, "--json", help="Machine-readable JSON output.")
KIND_OPT = typer.Option(None, "--kind", "-k", help="Only look among artifacts of this kind.")


def register(app: typer.Typer) -> None:
    for command in (init, new, lint, release, list_, show, render, history):
        app.command(command.__name__.rstrip("_"))(command)


def init(ctx: typer.Context, as_json: bool = JSON_OPT) -> None:
    """Create prompts/ with one example of each kind, promptctl.toml and .gitignore entries."""
    import git

    from promptctl.gitrepo import GitRepo
    from promptctl.scaffold import init_repo

    with handled(as_json):
        root = (ctx.obj.repo or Path.cwd()).resolve()
        try:
            GitRepo.discover(root)
            initialised = False
        except NotFoundError:
            git.Repo.init(root)
            initialised = True
        created = init_repo(root)

        def human() -> None:
            if initialised:
                console.print(f"initialised a git repository in {root}")
            for path in created:
                console.print(f"created {path}")
            if not created:
                console.print("nothing to do: already initialised")

        emit({"root": str(root), "git_initialised": initialised, "created": created}, as_json,
             human)


def new(
    ctx: typer.Context,
    kind: str = typer.Argument(..., metavar="KIND", help=f"One of: {', '.join(KINDS)}."),
    name: str = typer.Argument(..., metavar="NAME", help="Lowercase name, e.g. support-agent."),
    as_json: bool = JSON_OPT,
) -> None:
    """Create a new artifact file at version 0.1.0."""
    from promptctl.catalog_queries import default_model_ref
    from promptctl.scaffold import write_new

    with handled(as_json):
        if kind not in KINDS:
            raise UsageError(f"unknown kind {kind!r}; use one of: {', '.join(KINDS)}")
        ws = workspace(ctx)
        model_ref = default_model_ref(ws) if kind == "prompt" else None
        path = write_new(ws.settings.registry_path, kind, name, model_ref)
        shown = path.relative_to(ws.root).as_posix()
        emit({"kind": kind, "name": name, "path": shown, "model": model_ref}, as_json,
             lambda: console.print(f"created {shown}"))


def lint(
    ctx: typer.Context,
    path: Path = typer.Argument(None, metavar="PATH",
                                help="Folder to lint (default: the registry folder)."),
    strict: bool = typer.Option(False, "--strict", help="Warnings fail too."),
    as_json: bool = JSON_OPT,
) -> None:
    """Validate every artifact file; exit 1 when any error (or, with --strict, warning) is found."""
    from promptctl.findings import has_errors
    from promptctl.lint import lint_tree

    with handled(as_json):
        ws = workspace(ctx)
        folder = path.resolve() if path else ws.settings.registry_path
        if not folder.is_dir():
            raise UsageError(f"{folder} is not a folder")
        result = lint_tree(ws, folder)
        findings = result.findings
        emit({"artifacts": len(result.artifacts), "findings": [f.to_dict() for f in findings]},
             as_json, lambda: _print_findings(findings, len(result.artifacts)))
        failed = has_errors(findings) or (strict and any(f.severity != "note" for f in findings))
        if failed:
            raise typer.Exit(CheckFailed("lint failed").exit_code)


def release(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be released."),
    as_json: bool = JSON_OPT,
) -> None:
    """Record and tag every new (kind, name, version) in the working tree at HEAD."""
    from promptctl.release import release as run_release
    from promptctl.release import release_summary

    with handled(as_json):
        report = run_release(workspace(ctx), dry_run=dry_run)

        def human() -> None:
            verb = "would release" if dry_run else "released"
            for item in report.items:
                what = verb if item.status == "released" else "restored tag of"
                console.print(f"{what} {item.key}  [dim]{item.key.tag}[/dim]")
            if not report.items:
                console.print(f"nothing new to release ({report.unchanged} already released)")

        emit(release_summary(report) | {"dry_run": dry_run}, as_json, human)


def list_(
    ctx: typer.Context,
    kind: Kind = typer.Option(None, "--kind", "-k", help="Only artifacts of this kind."),
    as_json: bool = JSON_OPT,
) -> None:
    """List artifacts: latest version, released versions and whether the tree has a draft."""
    from promptctl.catalog_queries import catalog_rows

    with handled(as_json):
        if kind and kind not in KINDS:
            raise UsageError(f"unknown kind {kind!r}; use one of: {', '.join(KINDS)}")
        catalog = workspace(ctx).catalog()
        rows = catalog_rows(catalog, kind)

        def human() -> None:
            t = table("kind", "name", "latest", "released", "draft", "description")
            for row in rows:
                t.add_row(row["kind"], row["name"], row["latest"],
                          ", ".join(row["released"]) or "-", row["draft"] or "-",
                          row["description"])
            console.print(t)

        emit(rows, as_json, human)


def show(
    ctx: typer.Context,
    spec: str = typer.Argument(..., metavar="NAME[@VERSION]", help="Also KIND/NAME[@VERSION]."),
    kind: Kind = KIND_OPT,
    as_json: bool = JSON_OPT,
) -> None:
    """Show one version: content, refs, fingerprint and release metadata."""
    from promptctl.catalog_queries import describe

    with handled(as_json):
        ws = workspace(ctx)
        catalog = ws.catalog()
        entry = catalog.find(spec, kind)
        data = describe(ws, catalog, entry)
        emit(data, as_json, lambda: _print_show(data))


def render(
    ctx: typer.Context,
    spec: str = typer.Argument(..., metavar="NAME[@VERSION]", help="Also prompt/NAME[@VERSION]."),
    var: list[str] = typer.Option([], "--var", metavar="NAME=VALUE",
                                  help="A variable, typed as the prompt declares it; repeat "
                                       "for more."),
    vars_file: Path = typer.Option(None, "--vars-file", metavar="FILE",
                                   help="JSON object of variables."),
    as_json: bool = JSON_OPT,
) -> None:
    """Render a prompt to chat messages with its variables checked against their types."""
    from promptctl.bundle import resolve_bundle

    with handled(as_json):
        ws = workspace(ctx)
        catalog = ws.catalog()
        prompt = _find_prompt(catalog, spec)
        values = _read_vars(prompt, var, vars_file)
        bundle = resolve_bundle(prompt, catalog)
        messages = bundle.render_with(values, ws.settings.limits)
        data = {"name": prompt.name, "version": prompt.version, "fingerprint": bundle.fingerprint,
                "model": bundle.model.model, "params": bundle.model.params, "messages": messages}

        emit(data, as_json, lambda: _print_messages(messages, prompt, bundle.fingerprint))


def history(
    ctx: typer.Context,
    name: str = typer.Argument(..., metavar="NAME", help="Artifact name."),
    kind: Kind = KIND_OPT,
    env: str = typer.Option(None, "--env", "-e",
                            help="Show NAME's rollout changes in this environment instead."),
    as_json: bool = JSON_OPT,
) -> None:
    """Every released version of NAME with date, commit and author (or, with --env, every
    rollout change of NAME in that environment)."""
    from promptctl.catalog_queries import release_history

    with handled(as_json):
        if env:
            from promptctl.cli.rollout_cmds import rollout_history

            rollout_history(ctx, name, env, as_json)
            return
        ws = workspace(ctx)
        entry, releases = release_history(ws, name, kind)

        def human() -> None:
            t = table("version", "released", "commit", "author", "released by", "content hash",
                      title=f"{entry.artifact.kind}/{entry.artifact.name}")
            for r in releases:
                t.add_row(r.version, r.released_at[:19].replace("T", " "), r.commit[:10],
                          r.author or "-", r.released_by, r.hash[:12])
            console.print(t)
            for r in releases:
                if r.bump_override:
                    console.print(f"{r.version}: declared {r.bump_override}")

        emit([r.to_dict() for r in releases], as_json, human)


# -- helpers ------------------------------------------------------------------------------------


def _find_prompt(catalog: Catalog, spec: str) -> Prompt:
    """The prompt ``spec`` names; a model, tool or index is refused by name, since only
    prompts have templates to render."""
    from promptctl.model import Prompt

    qualified = "/" in spec
    if qualified:
        kind, _, rest = spec.partition("/")
        name, kinds = rest.partition("@")[0], [kind]
    else:
        name = spec.partition("@")[0]
        kinds = catalog.kinds_named(name)
    if (kinds and "prompt" not in kinds and kinds[0] in KINDS
            and catalog.versions(kinds[0], name)):
        raise UsageError(f"{name} is a {kinds[0]}; only prompts render")
    entry = catalog.find(spec, None if qualified else "prompt")
    assert isinstance(entry.artifact, Prompt)
    return entry.artifact


def _print_findings(findings: list[Finding], count: int) -> None:
    for f in findings:
        colour = {"error": "red", "warning": "yellow"}.get(f.severity, "blue")
        console.print(f"[{colour}]{f.severity}[/{colour}] {escape(str(f))}")
    errors = sum(f.severity == "error" for f in findings)
    warnings = sum(f.severity == "warning" for f in findings)
    console.print(f"{count} artifact(s) checked: {errors} error(s), {warnings} warning(s)")


def _print_show(data: dict[str, Any]) -> None:
    from promptctl.yaml_io import dump_content

    status = "released" if data["released"] else "draft (not released)"
    console.print(f"[bold]{data['kind']}/{data['name']}@{data['version']}[/bold]  {status}")
    if data.get("path"):
        console.print(f"file:         {data['path']}")
    console.print(f"versions:     {', '.join(data['versions'])}")
    console.print(f"content hash: {data['content_hash']}")
    if data.get("fingerprint"):
        console.print(f"fingerprint:  {data['fingerprint']}")
    if data.get("unresolved"):
        console.print(f"[yellow]fingerprint:  unavailable ({escape(data['unresolved'])})[/yellow]")
    if data["refs"]:
        console.print(f"refs:         {', '.join(data['refs'])}")
    if data["release"]:
        r = data["release"]
        console.print(f"released:     {r['released_at'][:19]} by {escape(r['released_by'])} "
                      f"at {r['commit'][:10]} ({r['tag']})")
        console.print(f"author:       {escape(r['author'] or 'not recorded')}")
        if r.get("bump_override"):
            console.print(f"declared:     {escape(r['bump_override'])}")
    console.print()
    console.print(escape(dump_content(data["content"]).rstrip()))


def _print_messages(messages: list[dict[str, Any]], prompt: Prompt, fingerprint: str) -> None:
    """Each message's text exactly as the model receives it, under a plain role header.

    Written straight to stdout, not through Rich: a panel or a console wraps and
    crops long lines at the terminal's width, and real prompts have lines far
    longer than any terminal. On a terminal, control characters (other than newline
    and tab) are shown escaped so a template cannot drive the operator's terminal;
    piped output is exact.
    """
    on_terminal = sys.stdout.isatty()
    for message in messages:
        content = message["content"]
        if on_terminal:
            content = clean(content)
        sys.stdout.write(f"--- {message['role']} ---\n{content}")
        sys.stdout.write("" if content.endswith("\n") else "\n")
    sys.stdout.write(f"--- {prompt.name}@{prompt.version} fingerprint {fingerprint[:16]} ---\n")


def _read_vars(prompt: Prompt, pairs: list[str], vars_file: Path | None) -> dict[str, Any]:
    from promptctl.templating import coerce_cli_value

    values: dict[str, Any] = {}
    if vars_file is not None:
        try:
            loaded = json.loads(vars_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"--vars-file: cannot read JSON: {exc}") from None
        if not isinstance(loaded, dict):
            raise UsageError("--vars-file must hold a JSON object")
        values.update(loaded)
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--var {pair!r}: write it as name=value")
        try:
            decl = prompt.variables.get(key) or (
                "messages" if key in prompt.template.placeholders() else None)
            values[key] = coerce_cli_value(decl, text)
        except ValidationError as exc:
            raise UsageError(f"--var {key}: {exc.message}") from None
    return values
