"""The git side of the registry: commits, authors, dirty files and release tags.

Tags are created in bulk: tag objects are written straight into the object
database and every ref is added by one ``git update-ref --stdin`` transaction,
so releasing thousands of artifacts costs a handful of git processes instead
of one per tag (the slow whole-repo pattern DESIGN §7 warns about).
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

from promptctl.errors import BackendUnavailable, ConflictError, NotFoundError, ValidationError

if TYPE_CHECKING:  # GitPython is imported on first use: commands that never touch git start faster
    import git

HASH_TRAILER = "Content-Hash:"


@dataclass(frozen=True)
class TagInfo:
    name: str
    commit: str
    message: str

    @property
    def content_hash(self) -> str | None:
        return content_hash_in(self.message)


def content_hash_in(tag_message: str) -> str | None:
    """The content hash a release tag's message records (its ``Content-Hash:`` trailer)."""
    for line in tag_message.splitlines():
        if line.startswith(HASH_TRAILER):
            return line.removeprefix(HASH_TRAILER).strip()
    return None


@dataclass(frozen=True)
class NewTag:
    name: str
    commit: str
    message: str


class GitRepo:
    def __init__(self, repo: git.Repo) -> None:
        self.repo = repo
        self.root = Path(repo.working_tree_dir or ".").resolve()

    @classmethod
    def discover(cls, path: Path) -> GitRepo:
        import git

        try:
            return cls(git.Repo(path, search_parent_directories=True))
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise NotFoundError(
                f"{path} is not inside a git repository (run `git init` first)"
            ) from None

    def head_commit(self) -> str:
        try:
            return self.repo.head.commit.hexsha
        except ValueError:
            raise ValidationError("the repository has no commits yet: commit your prompts first")\
                from None

    def author(self) -> str:
        """``Name <email>`` of the person releasing, from git config."""
        return git_identity(self.root) or os.environ.get("USER", "unknown")

    def dirty_paths(self, under: str) -> set[str]:
        """Repo-relative paths below ``under`` that differ from HEAD or are untracked."""
        out = self._git("status", "--porcelain=v1", "-z", "--untracked-files=all", "--", under)
        paths: set[str] = set()
        entries = out.split("\0")
        i = 0
        while i < len(entries):
            entry = entries[i]
            if len(entry) > 3:
                paths.add(entry[3:])
                if entry[0] in "RC":  # a rename also names its source in the next entry
                    i += 1
            i += 1
        return paths

    def tags(self, prefix: str = "") -> dict[str, TagInfo]:
        """Every tag (optionally under ``prefix``) with its peeled commit and message."""
        fmt = "%(refname:strip=2)%00%(objectname)%00%(*objectname)%00%(contents)%1e"
        pattern = f"refs/tags/{prefix}" if prefix else "refs/tags"
        out = self._git("for-each-ref", f"--format={fmt}", pattern)
        tags: dict[str, TagInfo] = {}
        for record in out.split("\x1e"):
            record = record.lstrip("\n")
            if not record:
                continue
            name, obj, peeled, message = record.split("\0", 3)
            tags[name] = TagInfo(name, peeled or obj, message)
        return tags

    def create_tags(self, new_tags: list[NewTag], tagger: str) -> None:
        """Create annotated tags atomically: all of them or, on a race, none."""
        if not new_tags:
            return
        stamp = f"{int(time.time())} {time.strftime('%z')}"
        from gitdb import IStream
        from gitdb.db import LooseObjectDB

        objects = LooseObjectDB(str(Path(self.repo.git_dir) / "objects"))  # no process per tag
        lines = ["start"]
        for tag in new_tags:
            body = (
                f"object {tag.commit}\ntype commit\ntag {tag.name}\n"
                f"tagger {_identity(tagger)} {stamp}\n\n{tag.message.rstrip()}\n"
            ).encode()
            stream = objects.store(IStream(b"tag", len(body), BytesIO(body)))
            lines.append(f"create refs/tags/{tag.name} {stream.hexsha.decode()}")
        lines += ["prepare", "commit", ""]
        proc = subprocess.run(
            ["git", "update-ref", "--stdin"], input="\n".join(lines), cwd=self.root,
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            detail = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed"
            raise ConflictError(f"could not create release tags: {detail}")

    def _git(self, *args: str) -> str:
        import git

        try:
            return self.repo.git.execute(["git", *args], strip_newline_in_stdout=False)
        except git.GitCommandError as exc:
            raise BackendUnavailable(f"git {args[0]} failed: {_stderr(exc)}") from None


def git_identity(folder: Path) -> str | None:
    """``Name <email>`` from git config as seen from ``folder`` (None when no name is set).

    One ``git config`` process instead of GitPython: the audit trail of every
    ``promote``/``rollback`` needs it, and those commands should start fast.
    """
    proc = subprocess.run(["git", "config", "--get-regexp", r"^user\.(name|email)$"],
                          cwd=folder, capture_output=True, text=True, check=False)
    values = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    name, email = values.get("user.name"), values.get("user.email")
    if not name:
        return None
    return f"{name} <{email}>" if email else name


def _identity(author: str) -> str:
    return author if "<" in author else f"{author} <>"


def _stderr(exc: git.GitCommandError) -> str:
    text = (exc.stderr or str(exc)).strip().replace("stderr: ", "").strip("' \n")
    return text.splitlines()[-1] if text else "unknown error"
