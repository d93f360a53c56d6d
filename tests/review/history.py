"""Build real git histories of a small registry for review tests.

``History`` writes artifact YAML into a temp git repo and commits it; each test
edits one thing between two commits and diffs them with the real git source.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import git
import yaml

from promptctl.review.diff import diff_revisions
from promptctl.review.git_source import resolve_revision
from promptctl.review.report import ArtifactDiff, Report
from tests.conftest import commit_all

MODEL = {"kind": "model", "name": "chat", "version": "1.0.0", "description": "chat model",
         "provider": "openai", "model": "gpt-4o-mini",
         "params": {"temperature": 0.2, "max_tokens": 512}}
TOOL = {"kind": "tool", "name": "search-kb", "version": "2.0.1", "description": "search the kb",
        "parameters": {"type": "object",
                       "properties": {"query": {"type": "string"},
                                      "top_k": {"type": "integer"}},
                       "required": ["query"]}}
INDEX = {"kind": "index", "name": "kb-docs", "version": "3.1.0", "description": "product docs",
         "backend": "pgvector", "uri": "postgresql://vectors.internal/kb",
         "embedding_model": "text-embedding-3-small", "build": "2026-11-01T00:00Z"}
PROMPT = {"kind": "prompt", "name": "support", "version": "1.0.0", "description": "support agent",
          "model": "chat@1.0.0", "tools": ["search-kb@2.0.1"], "index": "kb-docs@3.1.0",
          "variables": {"customer": {"type": "string"},
                        "order_id": {"type": "string", "default": ""}},
          "template": {"system": "You are a helpful support agent.\nAnswer from the knowledge "
                                 "base only and cite the articles you used.\n",
                       "user": "Customer {{ customer }} asks about order {{ order_id }}."},
          "output_schema": {"type": "object",
                            "properties": {"answer": {"type": "string"},
                                           "sources": {"type": "array"}},
                            "required": ["answer"]}}
FILES = {"chat.model.yaml": MODEL, "search-kb.tool.yaml": TOOL, "kb-docs.index.yaml": INDEX,
         "support.prompt.yaml": PROMPT}


class History:
    """A registry in a real git repository, changed and committed step by step."""

    def __init__(self, repo: git.Repo, files: dict[str, dict[str, Any]] | None = None) -> None:
        self.repo = repo
        self.root = Path(repo.working_tree_dir or ".")
        self.files: dict[str, dict[str, Any]] = copy.deepcopy(files if files is not None
                                                             else FILES)
        self.write_all()

    def write_all(self) -> None:
        folder = self.root / "prompts"
        folder.mkdir(exist_ok=True)
        for existing in folder.glob("*.yaml"):
            if existing.name not in self.files:
                existing.unlink()
        for name, data in self.files.items():
            text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1000)
            (folder / name).write_text(text, encoding="utf-8")

    def commit(self, message: str = "change") -> str:
        self.write_all()
        return commit_all(self.repo, message)

    def __getitem__(self, name: str) -> dict[str, Any]:
        return self.files[name]

    def diff(self, base: str, head: str = "HEAD", **kwargs: Any) -> Report:
        return diff_revisions(self.root, resolve_revision(self.root, base),
                              resolve_revision(self.root, head), **kwargs)


def entry(report: Report, label: str) -> ArtifactDiff:
    found = [a for a in report.artifacts if a.label == label]
    assert found, f"{label} not in report: {[a.label for a in report.artifacts]}"
    return found[0]


def codes(report: Report) -> list[str]:
    return [f.code for f in report.errors]
