"""What an import writes, checked before anything is written.

An import never half-happens: every file is computed first, every generated artifact is
loaded and validated as ``lint`` would load it, and a file that exists with other bytes is
a conflict. Only then are the files written (a second identical run finds them all equal).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptctl.errors import ConflictError, UsageError, ValidationError
from promptctl.loader import Unreadable, load_directory, load_sources, read_file
from promptctl.model import NAME_RE
from promptctl.yaml_io import dump_content

_NOT_NAME = re.compile(r"[^a-z0-9._-]+")


def read_source(path: Path, where: str) -> bytes:
    """The bytes of a source file, which must be UTF-8 text within ``max_file_bytes``; else
    a one-line :class:`ValidationError` naming it."""
    from promptctl.yaml_io import NotText, decode_text

    try:
        data = read_file(path)
        decode_text(data)
    except Unreadable as exc:
        raise ValidationError(f"{where}: {exc.message}") from None
    except NotText as exc:
        raise ValidationError(f"{where}: {str(exc).removeprefix('file ')}") from None
    return data


def source_files(source: Path, suffix: str, what: str) -> list[Path]:
    """The regular files named ``*suffix`` below ``source``, sorted (symlinks are left out: an
    import reads only what is really in the folder); none is a one-line error."""
    files = sorted(p for p in source.rglob(f"*{suffix}") if p.is_file() and not p.is_symlink())
    if not files:
        raise UsageError(f"no {what} files (*{suffix}) in {source}")
    return files


def slug(text: str, taken: set[str] | None = None) -> str:
    """An artifact name made from a file or folder name (``Customer Support`` →
    ``customer-support``), unique among ``taken``."""
    name = _NOT_NAME.sub("-", text.lower()).strip("-._")[:60] or "prompt"
    name = name.replace("..", ".")
    if not NAME_RE.match(name):
        name = f"p-{name}"[:60]
    base, n = name, 2
    while taken is not None and name in taken:
        name, n = f"{base}-{n}", n + 1
    if taken is not None:
        taken.add(name)
    return name


@dataclass
class ImportPlan:
    """Files to write (repository-relative path → bytes) and what did not map."""

    root: Path
    registry_dir: str
    prefix: str = ""
    """Put before every imported name (``legacy-`` → ``legacy-support``)."""
    files: dict[str, bytes] = field(default_factory=dict)
    artifacts: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)

    def add_text(self, path: str, data: bytes) -> None:
        self.files[path] = data

    def add_artifact(self, path: str, content: dict[str, Any]) -> None:
        self.files[path] = dump_content(content).encode("utf-8")
        self.artifacts.append(path)

    def note(self, where: str, what: str) -> None:
        self.unmapped.append(f"{where}: {what}")

    def check(self) -> tuple[list[str], list[str]]:
        """``(new or changed paths, unchanged paths)``; raises :class:`ConflictError` for a
        file that exists with other bytes, :class:`ValidationError` for an artifact that
        would not load."""
        self._validate()
        write: list[str] = []
        same: list[str] = []
        conflicts: list[str] = []
        for rel, data in sorted(self.files.items()):
            path = self.root / rel
            if path.is_symlink():
                conflicts.append(f"{rel} is a symbolic link")
                continue
            if not path.exists():
                write.append(rel)
                continue
            try:
                current = read_file(path)
            except Unreadable as exc:
                conflicts.append(f"{rel} {exc.message}")
                continue
            (same if current == data else conflicts).append(
                rel if current == data else f"{rel} exists with other content")
        if conflicts:
            more = f" (and {len(conflicts) - 1} more)" if len(conflicts) > 1 else ""
            raise ConflictError(f"import would overwrite {conflicts[0]}{more}: move or delete "
                                "it, or import into another folder", detail=conflicts)
        return write, same

    def write(self) -> tuple[list[str], list[str]]:
        """Check, then write the new and changed files; returns what :meth:`check` does."""
        write, same = self.check()
        for rel in write:
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(self.files[rel])
        return write, same

    def _validate(self) -> None:
        sources = [(p, self.files[p]) for p in self.artifacts]
        result = load_sources(sources, files=_PlannedFiles(self))
        errors = [f for f in result.findings if f.severity == "error"]
        if errors:
            raise ValidationError(f"the imported files would not load: {errors[0]}",
                                  detail=[str(f) for f in errors])
        tree = load_directory(self.root / self.registry_dir, relative_to=self.root)
        elsewhere = {i.artifact.key: i.path for i in tree.artifacts if i.path not in self.files}
        for item in result.artifacts:
            if item.artifact.key in elsewhere:
                raise ConflictError(
                    f"{item.artifact.key} is already defined in "
                    f"{elsewhere[item.artifact.key]}: import the prompts under other names")


@dataclass(frozen=True)
class _PlannedFiles:
    """Content files as the plan will leave them: planned bytes first, then the disk."""

    plan: ImportPlan

    @property
    def registry_dir(self) -> str:
        return self.plan.registry_dir

    def read(self, path: str) -> bytes:
        if path in self.plan.files:
            return self.plan.files[path]
        target = self.plan.root / path
        if not target.exists():
            raise Unreadable("missing-file", f"{path} does not exist")
        return read_file(target)
