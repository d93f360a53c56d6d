"""Load the registry at any git revision straight from git objects.

Nothing is checked out and neither the working tree nor the index is touched:
one ``git ls-tree -r`` lists the artifact files of a revision and one
``git cat-file --batch`` streams the blobs needed. A diff fully parses only
files whose blob differs between the two sides; unchanged files are read for
their identity and refs only (:class:`LightArtifact`) and parsed in full on
demand, e.g. when a changed prompt pins them. Parses are cached by
``(path, blob id)``.
The working tree is a pseudo-revision (:data:`WORKTREE`) read from disk.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from promptctl.bounded_cache import BoundedCache
from promptctl.errors import NotFoundError, UsageError
from promptctl.findings import Finding
from promptctl.gitrepo import list_tags, probe_git, run_git
from promptctl.limits import DEFAULT_LIMITS, Limits
from promptctl.loader import (
    DiskFiles,
    FileSource,
    LoadResult,
    Located,
    Unreadable,
    attach_datasets,
    check_size,
    duplicate_findings,
    kind_of_path,
    misnamed_kind,
    parse_with_files,
    path_findings,
    read_file,
    scan_directory,
    symlink_finding,
)
from promptctl.model import ArtifactBase, ArtifactKey, Ref
from promptctl.yaml_io import NotText, decode_text, load_yaml

WORKTREE = "WORKTREE"
DEFAULT_BRANCHES = ("main", "origin/main", "master", "origin/master")

_ParseResult = tuple[ArtifactBase | None, list[Finding], tuple[str, ...]]
# (path, blob id) -> the limits a document was parsed under, the blob ids of the content
# files it read (``{file: ...}``), and the result
_CACHE_LIMIT = 50_000
_PARSE_CACHE: BoundedCache[tuple[str, str], tuple[Limits, tuple[str, ...], _ParseResult]] = \
    BoundedCache(_CACHE_LIMIT)
# Files that may read other files or pin snippets: always parsed in full by a diff, since
# their blob alone does not say whether their content changed.
_RICH = re.compile(r"\bfile\s*:|\binclude\b|^snippets\s*:", re.M)
_LIGHT_CACHE: BoundedCache[tuple[str, str], LightArtifact | None] = BoundedCache(_CACHE_LIMIT)
SYMLINK_MODE = "120000"


@dataclass(frozen=True)
class Revision:
    """One side of a diff: what the user typed and the commit it named (None: working tree)."""

    label: str
    commit: str | None

    @property
    def short(self) -> str:
        return self.commit[:10] if self.commit else "working tree"


@dataclass
class RevisionFiles:
    """The artifact files of one revision: path → blob id, with bytes read on demand.

    (Not the SDK's :class:`promptctl.state.Snapshot`, which is a served environment.)

    ``refused`` holds files that are listed but never read, each with the finding that
    says why: a symlink, a suffix that is almost right, a file over the size limit.
    """

    root: Path
    revision: Revision
    files: dict[str, str]
    _texts: dict[str, bytes] = field(default_factory=dict)
    refused: dict[str, Finding] = field(default_factory=dict)
    limits: Limits = DEFAULT_LIMITS
    content: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    """Other blobs below the registry folder (``{file: ...}`` content): path → (blob id,
    mode, size), read only when an artifact names them."""
    registry_dir: str = "prompts"
    companions: dict[str, str] = field(default_factory=dict)
    """Dataset files eval suites may name (``*.jsonl``, ``*.yaml``): path → blob id."""

    @property
    def content_files(self) -> FileSource:
        """Where this revision's artifacts read ``{file: ...}`` content from."""
        if self.revision.commit is None:
            return DiskFiles(self.root, self.registry_dir, self.limits)
        return _RevisionContent(self)

    def rich(self, paths: list[str]) -> set[str]:
        """Those of ``paths`` that may read content files or pin snippets."""
        texts = self.blobs(paths)
        return {p for p, data in texts.items()
                if _RICH.search(data.decode("utf-8", errors="replace"))}

    def content_id(self, path: str) -> str | None:
        """The blob id of a content file, ``None`` when it is not there."""
        if self.revision.commit is None:
            try:
                return _blob_id(self.content_files.read(path))
            except Unreadable:
                return None
        entry = self.content.get(path)
        return entry[0] if entry else None

    def blobs(self, paths: list[str]) -> dict[str, bytes]:
        """Bytes of ``paths`` (not decoded: the loader decodes strictly), reading the missing
        ones with one ``git cat-file --batch``; refused files are left out."""
        paths = [p for p in paths if p not in self.refused]
        missing = sorted({self.files[p] for p in paths if p not in self._texts})
        if missing:
            blobs = _cat_blobs(self.root, missing)
            for path in paths:
                if path not in self._texts:
                    self._texts[path] = blobs[self.files[path]]
        return {p: self._texts[p] for p in paths}

    def texts(self, paths: list[str]) -> dict[str, str]:
        """Texts of ``paths``; a refused file or one that is not UTF-8 text reads as ``""``
        (it has no artifact, and its finding comes from :meth:`parse`)."""
        data = self.blobs(paths)
        return {p: _text_or_empty(data[p]) if p in data else "" for p in paths}

    def parse(self, paths: list[str]) -> LoadResult:
        """Fully parse and validate ``paths`` (cached by path, blob id and limits)."""
        need = [p for p in paths if _cached(self, p) is None]
        texts = self.blobs(need)
        result = LoadResult()
        for path in paths:
            if path in self.refused:
                result.findings.append(self.refused[path])
                continue
            artifact, findings, deps = _parse(self, path, texts.get(path, b""))
            result.findings.extend(findings)
            if artifact is not None:
                result.artifacts.append(Located(artifact, path, deps))
        result.artifacts = attach_datasets(result.artifacts, result.findings,
                                           self._companion, self.limits)
        return result

    def identity(self, path: str) -> str:
        """What makes a file unchanged: its blob, and for a suite its folder's datasets."""
        if not path.endswith(".eval.yaml"):
            return self.files[path]
        folder = posixpath.dirname(path)
        beside = sorted(f"{p}={sha}" for p, sha in self.companions.items()
                        if posixpath.dirname(p) == folder)
        return "|".join([self.files[path], *beside])

    def _companion(self, path: str) -> bytes | None:
        sha = self.companions.get(path)
        if sha is None:
            return None
        if path not in self._texts:
            self._texts[path] = _cat_blobs(self.root, [sha])[sha]
        return self._texts[path]

    def light(self, paths: list[str]) -> list[Located]:
        """Identity and refs only (no validation) of ``paths``: enough to match and resolve."""
        paths = [p for p in paths if p not in self.refused]
        need = [p for p in paths if (p, self.files[p]) not in _LIGHT_CACHE]
        texts = self.blobs(need)
        out = []
        for path in paths:
            key = (path, self.files[path])
            if key not in _LIGHT_CACHE:
                _LIGHT_CACHE.put(key, LightArtifact.from_text(texts[path], self.limits))
            light = _LIGHT_CACHE[key]
            if light is not None:
                out.append(Located(light, path))  # type: ignore[arg-type]
        return out


@dataclass(frozen=True)
class LightArtifact:
    """What an unchanged file contributes to a diff: its key and the refs it pins."""

    kind: str
    name: str
    version: str
    pinned: tuple[tuple[str, Ref], ...] = ()

    @property
    def key(self) -> ArtifactKey:
        return ArtifactKey(self.kind, self.name, self.version)

    def refs(self) -> list[tuple[str, Ref]]:
        return list(self.pinned)

    @classmethod
    def from_text(cls, text: str | bytes, limits: Limits = DEFAULT_LIMITS) -> LightArtifact | None:
        """Read identity and refs; a regular-expression fast path, else a (bounded) YAML
        parse. Anything unreadable is ``None``: the full parse reports it."""
        try:
            text = decode_text(text) if isinstance(text, bytes) else text
        except NotText:
            return None
        data = _fast_fields(text)
        if data is None:
            try:
                data = load_yaml(text, limits)
            except yaml.YAMLError:
                return None
        if not isinstance(data, dict) or not all(
                isinstance(data.get(k), str) for k in ("kind", "name", "version")):
            return None
        pinned: list[tuple[str, str]] = []
        if data["kind"] == "prompt":
            pinned += [("model", data["model"])] if isinstance(data.get("model"), str) else []
            tools = data.get("tools")
            pinned += [("tool", t) for t in tools if isinstance(t, str)] \
                if isinstance(tools, list) else []
            pinned += [("index", data["index"])] if isinstance(data.get("index"), str) else []
        refs = []
        for kind, ref_text in pinned:
            try:
                refs.append((kind, Ref.parse(ref_text)))
            except ValueError:
                continue
        return cls(data["kind"], data["name"], data["version"], tuple(refs))


_TOP_KEY = re.compile(r"^(kind|name|version|model|index|tools):[ \t]*(.*?)[ \t]*$", re.M)
_SIMPLE = re.compile(r"^[A-Za-z0-9._@+-]+$")
_BLOCK_ITEM = re.compile(r"^[ \t]*-[ \t]+(.+?)[ \t]*$")


def _fast_fields(text: str) -> dict[str, Any] | None:
    """Top-level identity fields of plainly written files; ``None`` means "use YAML"."""
    if "\t" in text or "&" in text or "---" in text:
        return None
    found: dict[str, object] = {}
    for match in _TOP_KEY.finditer(text):
        key, value = match.group(1), _unquote(match.group(2))
        if key in found:
            return None
        if key == "tools":
            items = _tool_items(value, text[match.end():].lstrip("\n").split("\n"))
            if items is None:
                return None
            found[key] = items
        elif value is None or not _SIMPLE.match(value):
            return None
        else:
            found[key] = value
    return found if {"kind", "name", "version"} <= set(found) else None


def _tool_items(value: str | None, following: list[str]) -> list[str] | None:
    if value and value.startswith("[") and value.endswith("]"):
        items = [_unquote(v) for v in value[1:-1].split(",") if v.strip()]
    elif value == "":
        items = []
        for line in following:
            match = _BLOCK_ITEM.match(line)
            if not match:
                break
            items.append(_unquote(match.group(1)))
    else:
        return None
    if not all(item and _SIMPLE.match(item) for item in items):
        return None
    return items  # type: ignore[return-value]


def _unquote(value: str) -> str | None:
    value = value.split(" #", 1)[0].strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return value


def resolve_revision(root: Path, rev: str) -> Revision:
    """Resolve ``rev`` to a commit; an unknown revision is a one-line :class:`NotFoundError`."""
    if rev == WORKTREE:
        return Revision(WORKTREE, None)
    if not rev or rev.startswith("-"):
        raise UsageError(f"{rev!r} is not a git revision")
    commit = probe_git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if commit is None:
        if probe_git(root, "rev-parse", "--git-dir") is None:
            raise NotFoundError(f"{root} is not inside a git repository")
        _require_a_commit(root)
        raise NotFoundError(f"unknown git revision {rev!r}")
    return Revision(rev, commit.decode().strip())


def _require_a_commit(root: Path) -> None:
    """In a repository without commits every revision is unknown: say why, as ``release`` does."""
    if probe_git(root, "rev-parse", "--verify", "--quiet", "HEAD") is None:
        from promptctl.gitrepo import GitRepo  # GitPython loads only on this error path

        GitRepo.discover(root).head_commit()  # raises the one "no commits yet" error


def default_base(root: Path) -> Revision:
    """The merge-base of ``main`` (or ``origin/main``, ``master``) and HEAD."""
    resolve_revision(root, "HEAD")  # a repository without commits has no base: say so
    for branch in DEFAULT_BRANCHES:
        base = probe_git(root, "merge-base", branch, "HEAD")
        if base is not None:
            return Revision(f"merge-base({branch}, HEAD)", base.decode().strip())
    raise NotFoundError("no `main` or `master` branch to compare with: name a BASE revision")


def list_revision(
    root: Path, revision: Revision, registry_dir: str, limits: Limits = DEFAULT_LIMITS
) -> RevisionFiles:
    """The artifact files below ``registry_dir`` at ``revision`` (one ``git ls-tree``).

    Symlinks (mode 120000), almost-right suffixes and blobs over ``limits.max_file_bytes``
    (sizes come from the listing, so such a blob is never read) are listed as refused.
    """
    if revision.commit is None:
        return _worktree_files(root, revision, registry_dir, limits)
    listing = run_git(root, "ls-tree", "-r", "-l", "-z", "--full-tree", revision.commit, "--",
                  registry_dir.rstrip("/") + "/")
    files: dict[str, str] = {}
    refused: dict[str, Finding] = {}
    content: dict[str, tuple[str, str, int]] = {}
    companions: dict[str, str] = {}
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, _, path_bytes = record.partition(b"\t")
        mode, obj_type, sha, size = meta.decode().split()
        path = path_bytes.decode("utf-8", errors="surrogateescape")
        if obj_type == "blob" and not (kind_of_path(path) or misnamed_kind(path)):
            content[path] = (sha, mode, int(size) if size.isdigit() else 0)
            if mode != SYMLINK_MODE and is_companion(path) and \
                    int(size) <= limits.max_file_bytes:
                companions[path] = sha
            continue
        if obj_type != "blob":
            continue
        files[path] = sha
        problem = _listing_problem(path, mode, int(size), limits)
        if problem is not None:
            refused[path] = problem
    return RevisionFiles(root, revision, dict(sorted(files.items())), refused=refused,
                         limits=limits, content=content, registry_dir=registry_dir.strip("/"),
                         companions=companions)


def is_companion(path: str) -> bool:
    """A file a suite may name as its dataset (not an artifact file)."""
    return path.endswith((".jsonl", ".yaml", ".yml")) and not kind_of_path(path) \
        and not misnamed_kind(path)


def _listing_problem(path: str, mode: str, size: int, limits: Limits) -> Finding | None:
    """Why a listed blob must not be read, or ``None``."""
    if mode == SYMLINK_MODE:
        return symlink_finding(path)
    problems = path_findings(path)
    if problems:
        return problems[0]
    try:
        check_size(size, limits)
    except Unreadable as exc:
        return exc.finding(path)
    return None


def load_revision(
    root: Path, revision: Revision, registry_dir: str, limits: Limits = DEFAULT_LIMITS
) -> LoadResult:
    """Load and validate every artifact file of ``revision`` (what ``lint`` would see)."""
    listed = list_revision(root, revision, registry_dir, limits)
    result = listed.parse(list(listed.files))
    result.findings.extend(duplicate_findings(result.artifacts))
    return result


def released_tags(root: Path) -> dict[str, str | None]:
    """Release tags (``kind/name/vX``) and the content hash each records, if any."""
    return {name: tag.content_hash for name, tag in list_tags(root).items()
            if name.count("/") >= 2}


def commit_messages(root: Path, base: Revision, head: Revision) -> list[tuple[str, str]]:
    """``(commit, message)`` of the commits in ``base..head``, newest first (HEAD for the
    working tree)."""
    if base.commit is None:
        return []
    out = run_git(root, "log", "--format=%H%x00%B%x1e", f"{base.commit}..{head.commit or 'HEAD'}")
    pairs = []
    for record in out.decode(errors="replace").split("\x1e"):
        commit, sep, message = record.strip("\n").partition("\0")
        if sep:
            pairs.append((commit, message))
    return pairs


# -- sources ------------------------------------------------------------------------------------


def _cat_blobs(root: Path, shas: list[str]) -> dict[str, bytes]:
    """Read many blobs with one ``git cat-file --batch`` (bytes: decoding is the loader's)."""
    out = run_git(root, "cat-file", "--batch", stdin=("\n".join(shas) + "\n").encode())
    blobs: dict[str, bytes] = {}
    pos = 0
    for sha in shas:
        header_end = out.index(b"\n", pos)
        size = int(out[pos:header_end].split(b" ")[2])
        body = out[header_end + 1:header_end + 1 + size]
        blobs[sha] = body
        pos = header_end + 1 + size + 1
    return blobs


def _worktree_files(
    root: Path, revision: Revision, registry_dir: str, limits: Limits
) -> RevisionFiles:
    """The working tree read the way ``lint`` reads it: symlinks are refused, never followed."""
    files, texts, refused = {}, {}, {}
    paths, findings = scan_directory(root / registry_dir, root)
    for rel, path in paths:
        try:
            data = read_file(path, limits)
        except Unreadable as exc:
            files[rel], refused[rel] = _stand_in_id(rel), exc.finding(rel)
            continue
        files[rel] = _blob_id(data)
        texts[rel] = data
    for finding in findings:
        link = root / finding.path
        files[finding.path] = (_blob_id(os.fsencode(os.readlink(link))) if link.is_symlink()
                               else _stand_in_id(finding.path))
        refused[finding.path] = finding
    companions = _worktree_companions(root, [rel for rel in files if rel.endswith(".eval.yaml")],
                                      texts, limits)
    return RevisionFiles(root, revision, dict(sorted(files.items())), texts, refused, limits,
                         registry_dir=registry_dir.strip("/"), companions=companions)


def _worktree_companions(root: Path, suites: list[str], texts: dict[str, bytes],
                         limits: Limits) -> dict[str, str]:
    """Dataset files in the folders of the suites (read now: they are small and few)."""
    found: dict[str, str] = {}
    for folder in sorted({posixpath.dirname(p) for p in suites}):
        with os.scandir(root / folder) as entries:
            for entry in entries:
                rel = posixpath.join(folder, entry.name)
                if not is_companion(rel) or entry.is_symlink() or not entry.is_file():
                    continue
                try:
                    data = read_file(Path(entry.path), limits)
                except Unreadable:
                    continue
                found[rel], texts[rel] = _blob_id(data), data
    return found


def _text_or_empty(data: bytes) -> str:
    try:
        return decode_text(data)
    except NotText:
        return ""


def _blob_id(data: bytes) -> str:
    """The id git gives a blob of ``data`` (so an unchanged file matches the commit's)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _stand_in_id(path: str) -> str:
    return hashlib.sha1(b"refused\0" + path.encode("utf-8", "surrogateescape")).hexdigest()


def _cached(files: RevisionFiles, path: str) -> _ParseResult | None:
    """A parse of ``path`` made under the same limits from the same blobs (the file's and
    those of the content files it read)."""
    hit = _PARSE_CACHE.get((path, files.files[path]))
    if hit is None or hit[0] != files.limits:
        return None
    parsed = hit[2]
    if hit[1] != tuple(files.content_id(dep) or "" for dep in parsed[2]):
        return None
    return parsed


def _parse(files: RevisionFiles, path: str, data: bytes) -> _ParseResult:
    parsed = _cached(files, path)
    if parsed is None:
        parsed = parse_with_files(path, data, files.limits, files.content_files)
        deps = tuple(files.content_id(dep) or "" for dep in parsed[2])
        _PARSE_CACHE.put((path, files.files[path]), (files.limits, deps, parsed))
    return parsed


@dataclass(frozen=True)
class _RevisionContent:
    """Content files read from one commit's git objects, as the tree lists them."""

    files: RevisionFiles

    @property
    def registry_dir(self) -> str:
        return self.files.registry_dir

    def read(self, path: str) -> bytes:
        entry = self.files.content.get(path)
        if entry is None:
            raise Unreadable("missing-file", f"{path} does not exist at "
                             f"{self.files.revision.short}")
        sha, mode, size = entry
        if mode == SYMLINK_MODE:
            raise Unreadable("symlink", f"{path} is a symbolic link")
        check_size(size, self.files.limits)
        return _cat_blobs(self.files.root, [sha])[sha]


def clear_caches() -> None:
    """Forget parsed documents (benchmarks measure a cold diff)."""
    _PARSE_CACHE.clear()
    _LIGHT_CACHE.clear()
