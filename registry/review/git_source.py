"""Load the registry at any git revision straight from git objects.

Nothing is checked out and neither the working tree nor the index is touched:
one ``git ls-tree -r`` lists the artifact files of a revision and one
``git cat-file --batch`` streams their blobs. Parsed documents are cached by
``(path, blob id)``, so the second side of a diff only parses what changed.
The working tree is a pseudo-revision (:data:`WORKTREE`) read from disk.
"""

from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from registry.errors import BackendUnavailable, NotFoundError, UsageError
from registry.findings import Finding
from registry.gitrepo import HASH_TRAILER
from registry.loader import (
    LoadResult,
    Located,
    _duplicate_findings,
    kind_of_path,
    parse_document,
    registry_files,
)
from registry.model import ArtifactBase

WORKTREE = "WORKTREE"
DEFAULT_BRANCHES = ("main", "origin/main", "master", "origin/master")

_ParseResult = tuple[ArtifactBase | None, list[Finding]]
_PARSE_CACHE: dict[tuple[str, str], _ParseResult] = {}
_CACHE_LIMIT = 50_000


@dataclass(frozen=True)
class Revision:
    """One side of a diff: what the user typed and the commit it named (None: working tree)."""

    label: str
    commit: str | None

    @property
    def short(self) -> str:
        return self.commit[:10] if self.commit else "working tree"


@dataclass
class Snapshot:
    """The registry as it is at one revision."""

    revision: Revision
    loaded: LoadResult


def git(root: Path, *args: str, stdin: bytes | None = None) -> bytes:
    """Run git in ``root``; a failure becomes :class:`BackendUnavailable` with git's message."""
    try:
        proc = subprocess.run(["git", *args], cwd=root, input=stdin, capture_output=True,
                              check=False)
    except FileNotFoundError:
        raise BackendUnavailable("git is not installed or not on PATH") from None
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip().splitlines()
        raise BackendUnavailable(f"git {args[0]} failed: {message[-1] if message else 'error'}")
    return proc.stdout


def resolve_revision(root: Path, rev: str) -> Revision:
    """Resolve ``rev`` to a commit; an unknown revision is a one-line :class:`NotFoundError`."""
    if rev == WORKTREE:
        return Revision(WORKTREE, None)
    if not rev or rev.startswith("-"):
        raise UsageError(f"{rev!r} is not a git revision")
    proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
                          cwd=root, capture_output=True, check=False)
    if proc.returncode != 0:
        inside = subprocess.run(["git", "rev-parse", "--git-dir"], cwd=root,
                                capture_output=True, check=False)
        if inside.returncode != 0:
            raise NotFoundError(f"{root} is not inside a git repository")
        raise NotFoundError(f"unknown git revision {rev!r}")
    return Revision(rev, proc.stdout.decode().strip())


def default_base(root: Path) -> Revision:
    """The merge-base of ``main`` (or ``origin/main``, ``master``) and HEAD."""
    head = resolve_revision(root, "HEAD")
    for branch in DEFAULT_BRANCHES:
        proc = subprocess.run(["git", "merge-base", branch, "HEAD"], cwd=root,
                              capture_output=True, check=False)
        if proc.returncode == 0:
            return Revision(f"merge-base({branch}, HEAD)", proc.stdout.decode().strip())
    if head.commit:
        raise NotFoundError("no `main` or `master` branch to compare with: name a BASE revision")
    raise NotFoundError("no base revision")


def load_revision(root: Path, revision: Revision, registry_dir: str) -> Snapshot:
    """Load every artifact file below ``registry_dir`` as it is at ``revision``."""
    if revision.commit is None:
        sources = _worktree_sources(root, registry_dir)
    else:
        sources = _commit_sources(root, revision.commit, registry_dir)
    return Snapshot(revision, _load(sources))


def released_tags(root: Path) -> dict[str, str | None]:
    """Release tags (``kind/name/vX``) and the content hash each records, if any."""
    fmt = "%(refname:strip=2)%00%(contents)%1e"
    out = git(root, "for-each-ref", f"--format={fmt}", "refs/tags").decode(errors="replace")
    tags: dict[str, str | None] = {}
    for record in out.split("\x1e"):
        record = record.lstrip("\n")
        if not record or record.count("/") < 2:
            continue
        name, _, message = record.partition("\0")
        content_hash = None
        for line in message.splitlines():
            if line.startswith(HASH_TRAILER):
                content_hash = line.removeprefix(HASH_TRAILER).strip()
        tags[name] = content_hash
    return tags


# -- sources ------------------------------------------------------------------------------------


def _commit_sources(root: Path, commit: str, registry_dir: str) -> list[tuple[str, str, str]]:
    """``(path, blob id, text)`` for each artifact file at ``commit``: two git processes."""
    listing = git(root, "ls-tree", "-r", "-z", "--full-tree", commit, "--",
                  registry_dir.rstrip("/") + "/")
    entries: list[tuple[str, str]] = []
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, _, path_bytes = record.partition(b"\t")
        _mode, obj_type, sha = meta.decode().split(" ")
        path = path_bytes.decode()
        if obj_type == "blob" and kind_of_path(path):
            entries.append((path, sha))
    missing = sorted({sha for path, sha in entries if (path, sha) not in _PARSE_CACHE})
    blobs = _cat_blobs(root, missing) if missing else {}
    return [(path, sha, blobs.get(sha, "")) for path, sha in sorted(entries)]


def _cat_blobs(root: Path, shas: list[str]) -> dict[str, str]:
    """Read many blobs with one ``git cat-file --batch``."""
    out = git(root, "cat-file", "--batch", stdin=("\n".join(shas) + "\n").encode())
    blobs: dict[str, str] = {}
    pos = 0
    for sha in shas:
        header_end = out.index(b"\n", pos)
        header = out[pos:header_end].decode().split(" ")
        size = int(header[2])
        body = out[header_end + 1:header_end + 1 + size]
        blobs[sha] = body.decode("utf-8", errors="replace")
        pos = header_end + 1 + size + 1
    return blobs


def _worktree_sources(root: Path, registry_dir: str) -> list[tuple[str, str, str]]:
    sources = []
    for path in registry_files(root / registry_dir):
        data = path.read_bytes()
        sha = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        sources.append((path.relative_to(root).as_posix(), sha,
                        data.decode("utf-8", errors="replace")))
    return sources


def _load(sources: list[tuple[str, str, str]]) -> LoadResult:
    """Like :func:`registry.loader.load_sources`, with parses cached by blob id."""
    result = LoadResult()
    for path, sha, text in sources:
        key = (path, sha)
        parsed = _PARSE_CACHE.get(key)
        if parsed is None:
            parsed = parse_document(path, text)
            if len(_PARSE_CACHE) >= _CACHE_LIMIT:
                _PARSE_CACHE.clear()
            _PARSE_CACHE[key] = parsed
        artifact, findings = parsed
        result.findings.extend(findings)
        if artifact is not None:
            result.artifacts.append(Located(artifact, path))
    result.findings.extend(_duplicate_findings(result.artifacts))
    return result
