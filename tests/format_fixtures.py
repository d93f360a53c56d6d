"""Helpers for the file-format tests: a real git repository holding the example prompts
plus files a test writes (bytes, so line endings and BOMs stay as written), and the CLI on
a SQLite file (these tests are about files, not databases)."""

from __future__ import annotations

import shutil
from pathlib import Path

import git

from promptctl.bundle import Bundle, resolve_bundle
from promptctl.catalog import Catalog, Entry
from promptctl.loader import LoadResult, load_directory
from promptctl.model import Prompt
from tests.conftest import EXAMPLE_PROMPTS, Cli, commit_all, make_repo

CHAT_PROMPT = """\
kind: prompt
name: chat
version: 1.0.0
description: support chat with few-shot turns and the conversation so far
model: support-chat@1.0.0
variables:
  question: {type: string}
template:
  messages:
    - {role: system, content: "You answer order questions in one sentence."}
    - {role: user, content: "Where is order 1?"}
    - {role: assistant, content: "Order 1 left the warehouse today."}
    - {placeholder: history}
    - {role: user, content: "{{ question }}"}
"""

HISTORY = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]


def write(root: Path, files: dict[str, str | bytes]) -> None:
    """Write ``files`` (paths relative to ``root``) exactly: str as UTF-8, bytes as is."""
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))


def repo_with(tmp_path: Path, files: dict[str, str | bytes] | None = None,
              examples: bool = True) -> tuple[git.Repo, Cli]:
    """A committed repository with the example prompts and ``files``; its CLI."""
    root = tmp_path / "repo"
    repo = make_repo(root)
    if examples:
        shutil.copytree(EXAMPLE_PROMPTS, root / "prompts")
    (root / ".gitignore").write_text(".promptctl/\n")
    write(root, files or {})
    commit_all(repo, "prompts")
    return repo, Cli(root, f"sqlite:///{tmp_path / 'registry.db'}")


def load(root: Path) -> LoadResult:
    return load_directory(root / "prompts", relative_to=root)


def bundle_of(root: Path, name: str) -> Bundle:
    """The bundle of prompt ``name`` as the working tree defines it."""
    result = load(root)
    errors = [f for f in result.findings if f.severity == "error"]
    assert not errors, errors
    catalog = Catalog([Entry(i.artifact, i.path) for i in result.artifacts])
    prompt = next(i.artifact for i in result.artifacts
                  if isinstance(i.artifact, Prompt) and i.artifact.name == name)
    return resolve_bundle(prompt, catalog)
