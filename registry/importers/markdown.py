"""``promptctl import markdown DIR``: a folder of markdown prompts.

One prompt per file (``greet.md``: one message, ``--role`` says which) or per folder
(``support/system.md``, ``support/user.md``, ``support/assistant.md``: one message each, in
that order). The files are used as they are: referenced in place when they are already
under ``prompts/``, else copied byte for byte next to the prompt's YAML file.
"""

from __future__ import annotations

from pathlib import Path

from promptctl.errors import UsageError
from promptctl.importers.build import ImportedMessage, ImportedPrompt, add_prompt, describe
from promptctl.importers.plan import ImportPlan, read_source, slug

ROLE_FILES = ("system.md", "user.md", "assistant.md")


def plan_markdown(source: Path, plan: ImportPlan, into: str, model_ref: str | None,
                  version: str, role: str = "system", fmt: str = "auto") -> ImportPlan:
    if model_ref is None:
        raise UsageError("markdown names no model: pin one (NAME@VERSION) for the prompts")
    if not source.is_dir():
        raise UsageError(f"{source} is not a folder")
    registry = (plan.root / plan.registry_dir).resolve()
    taken: set[str] = set()
    for folder, files in _prompt_sources(source):
        rel = folder.relative_to(source).as_posix()
        rel = source.resolve().name if rel == "." else rel
        messages = []
        for path, file_role in files:
            data = read_source(path, path.relative_to(source).as_posix())
            messages.append(ImportedMessage(file_role or role, data,
                                            source=_in_registry(path, plan.root, registry)))
        stem = rel if files[0][1] else files[0][0].relative_to(source).with_suffix("").as_posix()
        name = slug(stem.replace("/", "-"), taken)
        first = messages[0].text or b""
        add_prompt(plan, into, ImportedPrompt(
            name, describe(first.decode("utf-8", "replace"), f"imported from {stem}"),
            messages, format=fmt, metadata={"imported_from": stem}), model_ref, version)
    if not plan.artifacts:
        raise UsageError(f"no markdown prompts (*.md) in {source}")
    return plan


def _prompt_sources(source: Path) -> list[tuple[Path, list[tuple[Path, str | None]]]]:
    """``(folder, [(file, role or None)])`` per prompt, in a stable order."""
    out: list[tuple[Path, list[tuple[Path, str | None]]]] = []
    for folder in sorted([source, *[p for p in source.rglob("*") if p.is_dir()
                                    and not p.is_symlink()]]):
        role_files = [(folder / n, n.removesuffix(".md")) for n in ROLE_FILES
                      if (folder / n).is_file()]
        if role_files:
            out.append((folder, list(role_files)))
            continue
        for path in sorted(folder.glob("*.md")):
            if path.is_file() and not path.is_symlink():
                out.append((folder, [(path, None)]))
    return out


def _in_registry(path: Path, root: Path, registry: Path) -> str | None:
    """``path`` relative to the repository when it lies under the registry folder."""
    resolved = path.resolve()
    if resolved.is_relative_to(registry):
        return resolved.relative_to(root.resolve()).as_posix()
    return None
