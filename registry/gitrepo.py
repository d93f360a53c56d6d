"""The git side of the registry: commits, authors, dirty files and release tags.

Tags are created in bulk: tag objects are written straight into the object
database and every ref is added by one ``git update-ref --stdin`` transaction,
so releasing thousands of artifacts costs a handful of git processes instead
of one per tag (the slow whole-repo pattern DESIGN §7 warns about). A ref git
refuses is set aside and the others retried, so one bad ref never blocks the
rest. Reading files at old commits (``read_files``) and the authors of the last
change of many files (``last_authors``) are one process each, for the same reason.

:func:`run_git` (and :func:`probe_git`, for questions git answers with its exit
code) is the one way the registry runs git, and :func:`list_tags` the one tag
lister: ``release`` and ``diff`` (``promptctl.review.git_source``) both use them.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING

from promptctl.actors import current_actor
from promptctl.errors import BackendUnavailable, NotFoundError, UsageError, ValidationError

if TYPE_CHECKING:  # GitPython is imported on first use: commands that never touch git start faster
    import git

HASH_TRAILER = "Content-Hash:"
PATH_TRAILER = "Path:"
# After this many refused refs in one call, the rest are created one per process (a
# refusal that names no ref goes there at once): bounded work whatever git says.
MAX_BATCH_RETRIES = 8
_REFUSED_REF = re.compile(r"(?:cannot lock ref|invalid ref format:?) '?refs/tags/([^':\n]+)'?")


@dataclass(frozen=True)
class TagInfo:
    name: str
    commit: str
    message: str

    @property
    def content_hash(self) -> str | None:
        return content_hash_in(self.message)

    @property
    def path(self) -> str | None:
        """The file the release tag says it was made from (its ``Path:`` trailer)."""
        return trailer_in(self.message, PATH_TRAILER)


def content_hash_in(tag_message: str) -> str | None:
    """The content hash a release tag's message records (its ``Content-Hash:`` trailer)."""
    return trailer_in(tag_message, HASH_TRAILER)


def trailer_in(tag_message: str, trailer: str) -> str | None:
    for line in tag_message.splitlines():
        if line.startswith(trailer):
            return line.removeprefix(trailer).strip() or None
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

    @property
    def is_bare(self) -> bool:
        return self.repo.bare

    def require_work_tree(self, what: str) -> None:
        """Refuse ``what`` in a bare repository: it reads committed files from a working tree."""
        if self.repo.bare:
            raise UsageError(f"{self.repo.git_dir} is a bare repository: {what} needs a working "
                             "tree (clone it and run the command in the clone)")

    def head_commit(self) -> str:
        try:
            return self.repo.head.commit.hexsha
        except ValueError:
            raise ValidationError("the repository has no commits yet: commit your prompts first")\
                from None

    def author(self) -> str:
        """``Name <email>`` of the person releasing, from git config."""
        return current_actor(self.root)

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
        return list_tags(self.root, prefix)

    def create_tags(self, new_tags: list[NewTag], tagger: str) -> dict[str, str]:
        """Create annotated tags; return ``{tag name: git's reason}`` for each one git refused.

        All refs go in one ``update-ref`` transaction. When git refuses one (a name it does
        not accept, a ref in the way, a stale lock, a tag a concurrent release just made),
        that ref is set aside and the rest retried, so one bad ref costs one more process
        and never blocks the others.
        """
        if not new_tags:
            return {}
        objects = self._write_tag_objects(new_tags, tagger)
        pending = [tag.name for tag in new_tags]
        refused: dict[str, str] = {}
        existing: set[str] | None = None
        while pending:
            error = self._update_refs(pending, objects)
            if error is None:
                return refused
            if existing is None:  # a race: every tag that exists now is set aside in one go
                existing = set(self.tags())
                taken = [name for name in pending if name in existing]
                if taken:
                    refused |= dict.fromkeys(taken, "the tag already exists")
                    pending = [name for name in pending if name not in existing]
                    continue
            name = _refused_ref(error, pending)
            if name is None or len(refused) >= MAX_BATCH_RETRIES:
                break
            refused[name] = _reason(error, name)
            pending.remove(name)
        for name in pending:  # one process each: only after repeated or unexplained refusals
            error = self._update_refs([name], objects)
            if error is not None:
                refused[name] = _reason(error, name)
        return refused

    def _write_tag_objects(self, new_tags: list[NewTag], tagger: str) -> dict[str, str]:
        """Write the tag objects straight into the object database (no process per tag)."""
        from gitdb import IStream
        from gitdb.db import LooseObjectDB

        stamp = f"{int(time.time())} {time.strftime('%z')}"
        objects = LooseObjectDB(str(Path(self.repo.git_dir) / "objects"))
        shas: dict[str, str] = {}
        for tag in new_tags:
            body = (
                f"object {tag.commit}\ntype commit\ntag {tag.name}\n"
                f"tagger {_identity(tagger)} {stamp}\n\n{tag.message.rstrip()}\n"
            ).encode()
            stored = objects.store(IStream(b"tag", len(body), BytesIO(body)))
            shas[tag.name] = stored.hexsha.decode()
        return shas

    def _update_refs(self, names: list[str], objects: dict[str, str]) -> str | None:
        """Create ``refs/tags/<name>`` for each name in one transaction; git's error or None."""
        lines = ["start", *(f"create refs/tags/{name} {objects[name]}" for name in names),
                 "prepare", "commit", ""]
        proc = _git_process(self.root, ("update-ref", "--stdin"), "\n".join(lines).encode())
        if proc.returncode == 0:
            return None
        return (proc.stderr.decode(errors="replace").strip()
                or f"git update-ref exited {proc.returncode}")

    def read_files(self, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], bytes | None]:
        """The bytes of each ``(commit, path)`` (None where the commit has no such file).

        One ``git cat-file --batch`` process for all of them.
        """
        if not wanted:
            return {}
        request = "".join(f"{commit}:{path}\n" for commit, path in wanted).encode()
        out, pos = run_git(self.root, "cat-file", "--batch", stdin=request), 0
        found: dict[tuple[str, str], bytes | None] = {}
        for key in wanted:
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            pos = end + 1
            if len(header) == 3 and header[1] == b"blob":
                size = int(header[2])
                found[key] = out[pos:pos + size]
                pos += size + 1
            elif len(header) == 3:  # a tree or other object: not a file
                pos += int(header[2]) + 1
                found[key] = None
            else:  # "<name> missing" or "ambiguous"
                found[key] = None
        return found

    def last_authors(self, commit: str, paths: set[str]) -> dict[str, str]:
        """``Name <email>`` of the author of the last commit (as of ``commit``) that changed
        each of ``paths`` (repo-relative).

        One ``git log`` walk, newest first, stopped as soon as every path has its author,
        so a release made right after the commit that touched its files reads one commit.
        """
        authors: dict[str, str] = {}
        wanted = set(paths)
        if not wanted:
            return authors
        argv = ["git", "-c", "core.quotePath=false", "log", "-z", "--no-renames",
                "--format=%x1e%an <%ae>", "--name-only", commit, "--",
                os.path.commonpath(sorted(wanted)) or "."]
        with subprocess.Popen(argv, cwd=self.root, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL) as proc:
            assert proc.stdout is not None
            buffer = b""
            while wanted:
                chunk = proc.stdout.read(1 << 16)
                buffer += chunk
                records = buffer.split(b"\x1e")
                buffer = records.pop() if chunk else b""
                for record in records:
                    _take_authors(record, wanted, authors)
                if not chunk:
                    break
            proc.kill()
        return authors

    def _git(self, *args: str) -> str:
        return run_git(self.root, *args).decode(errors="surrogateescape")


# git's messages in English whatever the user's locale: the one line an error shows is
# git's last line, and the ref refusals above are matched by their wording.
_GIT_ENV = {"LANGUAGE": "C", "LC_ALL": "C"}


def _git_process(root: Path, args: tuple[str, ...], stdin: bytes | None
                 ) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", *args], cwd=root, input=stdin, capture_output=True,
                              check=False, env={**os.environ, **_GIT_ENV})
    except FileNotFoundError:
        raise BackendUnavailable("git is not installed or not on PATH") from None


def run_git(root: Path, *args: str, stdin: bytes | None = None) -> bytes:
    """Run git in ``root`` and return its output; a failure becomes one-line
    :class:`BackendUnavailable` with git's message."""
    proc = _git_process(root, args, stdin)
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip().splitlines()
        raise BackendUnavailable(f"git {args[0]} failed: {message[-1] if message else 'error'}")
    return proc.stdout


def probe_git(root: Path, *args: str) -> bytes | None:
    """Run git in ``root`` for a question its exit code answers (does this revision
    exist?): its output, or ``None`` when it exits non-zero."""
    proc = _git_process(root, args, None)
    return proc.stdout if proc.returncode == 0 else None


def list_tags(root: Path, prefix: str = "") -> dict[str, TagInfo]:
    """Every tag of the repository at ``root`` (optionally under ``prefix``) with its
    peeled commit and message: one ``git for-each-ref``."""
    fmt = "%(refname:strip=2)%00%(objectname)%00%(*objectname)%00%(contents)%1e"
    pattern = f"refs/tags/{prefix}" if prefix else "refs/tags"
    out = run_git(root, "for-each-ref", f"--format={fmt}", pattern)
    tags: dict[str, TagInfo] = {}
    for record in out.decode(errors="surrogateescape").split("\x1e"):
        record = record.lstrip("\n")
        if not record:
            continue
        name, obj, peeled, message = record.split("\0", 3)
        tags[name] = TagInfo(name, peeled or obj, message)
    return tags


def _take_authors(record: bytes, wanted: set[str], authors: dict[str, str]) -> None:
    """Credit one ``git log -z`` record's author with the wanted paths it changed."""
    if not record:
        return
    author, _, names = record.partition(b"\0")
    for raw in names.split(b"\0"):
        path = raw.lstrip(b"\n").decode(errors="replace")
        if path in wanted:
            wanted.discard(path)
            authors[path] = author.decode(errors="replace")


def _refused_ref(error: str, pending: list[str]) -> str | None:
    """The first of ``pending`` that git's error names as the ref it refused."""
    for match in _REFUSED_REF.finditer(error):
        if match[1] in pending:
            return match[1]
    return None


def _reason(error: str, name: str) -> str:
    """Git's one-line reason for refusing ``name`` (its ``fatal:`` line, without the prefix)."""
    lines = [line for line in error.splitlines() if line.strip()]
    line = next((line for line in lines if line.startswith(("fatal:", "error:"))), lines[0])
    for prefix in ("fatal:", "error:", " prepare:", " create:"):
        line = line.removeprefix(prefix)
    return line.replace(f"cannot lock ref 'refs/tags/{name}': ", "").strip()


def _identity(author: str) -> str:
    return author if "<" in author else f"{author} <>"

