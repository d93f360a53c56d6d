"""Starting content for ``promptctl init`` and ``promptctl new``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from promptctl.errors import ConflictError, UsageError
from promptctl.model import KINDS, check_name, suffix_of
from promptctl.yaml_io import dump_content

CONFIG_TEXT = """\
# promptctl settings; flags and PROMPTCTL_* environment variables override these.
registry_dir = "prompts"
# db = "postgresql+psycopg://user@host/promptctl"   # default: .promptctl/registry.db
flags = "builtin"

[environments.development]
[environments.staging]
[environments.production]
"""


GITIGNORE_ENTRIES: tuple[str, ...] = (
    ".promptctl/",  # the local database and saved snapshots
    # API tokens: `promptctl token create --json > reader.json` writes a live secret, and a
    # `git add -A` would commit it. Keep tokens outside the repository; these catch the
    # usual names when one is written here anyway.
    "*.token",
    "*.token.json",
    "*-token.json",
    "reader.json",
    "deployer.json",
    "admin.json",
)
"""What ``init`` adds to ``.gitignore`` (each line once, after whatever is there)."""


def example(kind: str, name: str, version: str = "0.1.0",
            model_ref: str | None = None,
            case_vars: dict[str, Any] | None = None) -> dict[str, Any]:
    """Minimal valid content of ``kind``, used for new files."""
    base = {"kind": kind, "name": name, "version": version, "description": f"{name} {kind}"}
    if kind == "model":
        return base | {"provider": "openai", "model": "gpt-4o-mini",
                       "params": {"temperature": 0.2, "max_tokens": 512}}
    if kind == "tool":
        return base | {"parameters": {"type": "object",
                                      "properties": {"query": {"type": "string"}},
                                      "required": ["query"]}}
    if kind == "index":
        return base | {"backend": "pgvector", "uri": "postgresql://db.internal/docs",
                       "embedding_model": "text-embedding-3-small", "build": "2026-11-01T00:00Z"}
    if kind == "prompt":
        if not model_ref:
            raise UsageError("a prompt pins a model: create one first (`promptctl new model NAME`)")
        return base | {"model": model_ref,
                       "variables": {"question": {"type": "string"}},
                       "template": {"system": "You are a concise, helpful assistant.",
                                    "user": "{{ question }}"}}
    if kind == "snippet":
        return base | {"text": "Never share a customer's personal data.\n"}
    if kind == "eval":  # a suite of the prompt its name starts with (support-golden: support)
        prompt = name.removesuffix("-golden").removesuffix("-eval")
        return base | {"prompt": prompt,
                       "cases": [{"name": "first", "vars": case_vars or {"question": "..."},
                                  "assert": [{"type": "icontains", "value": "..."}]}],
                       "thresholds": {"min_pass_rate": 0.95, "max_regressions": 0}}
    raise UsageError(f"unknown kind {kind!r}; use one of: {', '.join(KINDS)}")


def write_new(folder: Path, kind: str, name: str, model_ref: str | None = None) -> Path:
    """Create ``folder/NAME.KIND.yaml``; refuses to overwrite."""
    try:
        check_name(name)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    case_vars = _required_vars(folder, name) if kind == "eval" else None
    content = example(kind, name, model_ref=model_ref, case_vars=case_vars)
    path = folder / f"{name}{suffix_of(kind)}"
    if path.exists():
        raise ConflictError(f"{path} already exists")
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_content(content), encoding="utf-8")
    return path


def _required_vars(folder: Path, suite: str) -> dict[str, Any] | None:
    """Placeholder values for the required variables of the prompt a new suite evaluates
    (the newest version in ``folder``), so the new file passes ``lint`` at once."""
    from promptctl.loader import load_directory
    from promptctl.model import Prompt

    prompt_name = suite.removesuffix("-golden").removesuffix("-eval")
    prompts = [item.artifact for item in load_directory(folder).artifacts
               if isinstance(item.artifact, Prompt) and item.artifact.name == prompt_name]
    if not prompts:
        return None
    newest = max(prompts, key=lambda p: p.semver)
    blank = {"string": "...", "integer": 0, "number": 0, "boolean": False, "array": [],
             "object": {}}
    return {n: blank[v.type] for n, v in newest.variables.items() if v.required}


def init_repo(root: Path, registry_dir: str = "prompts") -> list[str]:
    """Create the example registry, ``promptctl.toml`` and the ``.gitignore`` entries.

    Existing files are left alone, so ``init`` is safe to run twice.
    """
    created: list[str] = []
    folder = root / registry_dir
    for kind, name in (("model", "chat"), ("tool", "web-search"), ("index", "docs"),
                       ("prompt", "assistant")):
        path = folder / f"{name}{suffix_of(kind)}"
        if path.exists():
            continue
        content = example(kind, name, "1.0.0", model_ref="chat@1.0.0")
        if kind == "prompt":
            content |= {"tools": ["web-search@1.0.0"], "index": "docs@1.0.0"}
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_content(content), encoding="utf-8")
        created.append(path.relative_to(root).as_posix())
    config = root / "promptctl.toml"
    if not config.exists():
        config.write_text(CONFIG_TEXT, encoding="utf-8")
        created.append(config.name)
    gitignore = root / ".gitignore"
    lines = gitignore.read_text(encoding="utf-8").splitlines() if gitignore.exists() else []
    missing = [entry for entry in GITIGNORE_ENTRIES if entry not in lines]
    if missing:
        gitignore.write_text("\n".join([*lines, *missing]) + "\n", encoding="utf-8")
        created.append(".gitignore")
    return created
