"""Releasing: record every new (kind, name, version) and tag it in git.

A release refuses what ``lint`` refuses (:func:`promptctl.lint.lint_tree`, the
same function ``lint`` prints), and it needs a working tree: a bare repository
has no files to release.

Order matters for crash safety. Rows are written first (one transaction), tags
second. A crash between the two leaves rows whose tags are missing; the next
``release`` finds them unchanged in the store and creates the missing tags, so
a rerun always completes the release.

A tag git refuses (a ref in the way, a stale lock, a name git does not accept)
does not block the others: git sets that ref aside and creates the rest, and a
compensating transaction then deletes the rows of the refused tags, so no row
is left without its tag. A prompt pinning an artifact whose tag was refused is
refused too (tags go in dependency layers: what is pinned first), so a released
prompt never pins an unreleased ref. The one exception is a row an earlier,
crashed release left that a rollout already serves: deleting it would break the
rollout, so it stays and the error says so; a rerun retries its tag. The
release then fails with one line naming the artifact and git's reason.

A tag without a row (a fresh database on an existing clone) is adopted only
when its commit holds the same content: the file at the tag's ``Path:`` trailer
in the tag's commit must parse to the content hash of the tree, or the release
is refused naming the tag, its commit and both hashes.

Each row records who ran ``release`` (``author``) and who wrote the version
(``commit_author``): the author of the last commit that changed the file, as of
the commit the release records. That is the person whose edit the version
holds; the release commit's author may only have bumped another file.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

from promptctl.canonical import canonical_json
from promptctl.errors import ConflictError, DirtyTreeError, ValidationError
from promptctl.evals.dataset import Reader
from promptctl.failpoints import crash_point
from promptctl.gitrepo import HASH_TRAILER, PATH_TRAILER, NewTag, TagInfo, content_hash_in
from promptctl.lint import lint_tree, refuse_errors
from promptctl.loader import Located, attach_datasets, load_sources
from promptctl.model import ArtifactKey
from promptctl.release_overrides import declared_overrides
from promptctl.store import on_duplicate
from promptctl.store.releases import add_release, all_releases, delete_releases, served_keys
from promptctl.store.tables import ReleaseRecord
from promptctl.workspace import Workspace

_PINS = "it pins"


@dataclass(frozen=True)
class ReleasedItem:
    key: ArtifactKey
    content_hash: str
    path: str
    status: str  # "released" | "tag-restored"


@dataclass
class ReleaseReport:
    commit: str
    items: list[ReleasedItem] = field(default_factory=list)
    unchanged: int = 0

    @property
    def released(self) -> list[ReleasedItem]:
        return [i for i in self.items if i.status == "released"]


@dataclass(frozen=True)
class _Missing:
    """A row whose tag is missing (a crash between rows and tags)."""

    key: ArtifactKey
    content_hash: str
    path: str
    commit: str


@dataclass
class _Plan:
    new: list[tuple[Located, str]] = field(default_factory=list)
    missing_tags: list[_Missing] = field(default_factory=list)
    adopted: dict[ArtifactKey, TagInfo] = field(default_factory=dict)  # tag, no row
    unchanged: int = 0


def release(ws: Workspace, *, dry_run: bool = False) -> ReleaseReport:
    """Release everything new in the working tree at HEAD (see module docstring)."""
    ws.git.require_work_tree("release")
    tree = lint_tree(ws)
    refuse_errors(tree.findings, "cannot release")
    commit = ws.git.head_commit()
    tags = ws.git.tags()
    with ws.store.session() as session:
        records = {ArtifactKey(r.kind, r.name, r.version): r for r in all_releases(session)}
    plan = _plan(tree.artifacts, records, tags)
    _check_refs_released(plan, records)
    _check_clean(ws, plan)
    _check_adopted(ws, plan)
    report = ReleaseReport(commit=commit, unchanged=plan.unchanged)
    if dry_run:
        report.items = [_item(loc, h, "released") for loc, h in plan.new]
        return report
    releaser = ws.git.author()
    overrides = declared_overrides(ws.git, commit, [loc for loc, _ in plan.new],
                                   records.values())
    written = _write_rows(ws, plan, commit, releaser, _content_authors(ws, plan, commit),
                          overrides)
    crash_point("release.after-rows")
    new_tags = {loc.artifact.key: NewTag(loc.artifact.key.tag, commit,
                                         _tag_message(loc.artifact.key, h, loc.path))
                for loc, h in written if loc.artifact.key not in plan.adopted}
    new_tags |= {m.key: NewTag(m.key.tag, m.commit, _tag_message(m.key, m.content_hash, m.path))
                 for m in plan.missing_tags}
    refused = _create_tags(ws, new_tags, _pins(tree.artifacts, set(new_tags)), releaser)
    kept = _take_back(ws, refused, {m.key for m in plan.missing_tags})
    report.items = [_item(loc, h, "released") for loc, h in written
                    if loc.artifact.key not in refused]
    report.items += [ReleasedItem(m.key, m.content_hash, m.path, "tag-restored")
                     for m in plan.missing_tags if m.key not in refused]
    report.unchanged += len(plan.new) - len(written)
    if refused:
        raise _refused_error(refused, kept, report)
    return report


def _plan(
    artifacts: list[Located], records: dict[ArtifactKey, ReleaseRecord], tags: dict[str, TagInfo]
) -> _Plan:
    plan = _Plan()
    conflicts: list[str] = []
    for loc in artifacts:
        key, content_hash = loc.artifact.key, loc.artifact.content_hash()
        record, tag = records.get(key), tags.get(key.tag)
        known_hash = record.content_hash if record else (tag.content_hash if tag else None)
        if known_hash is not None and known_hash != content_hash:
            conflicts.append(
                f"{key} is already released with content {known_hash[:12]}, but {loc.path} now "
                f"has {content_hash[:12]}: released versions are immutable, bump the version"
            )
        elif record is None:
            plan.new.append((loc, content_hash))
            if tag is not None:
                plan.adopted[key] = tag
        else:
            plan.unchanged += 1
            if tag is None:
                plan.missing_tags.append(
                    _Missing(key, content_hash, record.path, record.git_commit))
    if conflicts:
        raise ConflictError(conflicts[0], detail=conflicts)
    return plan


def _check_refs_released(plan: _Plan, records: dict[ArtifactKey, ReleaseRecord]) -> None:
    releasing = {loc.artifact.key for loc, _ in plan.new}
    for loc, _ in plan.new:
        for kind, ref in loc.artifact.refs():
            key = ArtifactKey(kind, ref.name, ref.version)
            if key not in records and key not in releasing:
                raise ValidationError(
                    f"{loc.path}: {loc.artifact.key} pins {kind} {ref}, which is not released "
                    "and not in this release: add it to the tree or pin a released version"
                )


def _check_clean(ws: Workspace, plan: _Plan) -> None:
    if not plan.new:
        return
    dirty = ws.git.dirty_paths(ws.settings.registry_dir)
    blocked = sorted(loc.path for loc, _ in plan.new
                     if loc.path in dirty or any(dep in dirty for dep in loc.deps))
    if blocked:
        more = f" and {len(blocked) - 1} more" if len(blocked) > 1 else ""
        raise DirtyTreeError(
            f"{blocked[0]}{more} has uncommitted changes: commit them before releasing",
            detail=blocked,
        )


def _check_adopted(ws: Workspace, plan: _Plan) -> None:
    """Refuse to adopt a tag whose commit does not hold the tree's content (one git process)."""
    if not plan.adopted:
        return
    ours = {loc.artifact.key: (loc.path, h) for loc, h in plan.new}
    wanted = {key: (tag.commit, tag.path or ours[key][0]) for key, tag in plan.adopted.items()}
    files = ws.git.read_files(sorted(set(wanted.values())))
    problems = []
    for key, (commit, path) in sorted(wanted.items()):
        def beside(rel: str, at: str = commit) -> bytes | None:  # a suite's dataset file
            return ws.git.read_files([(at, rel)])[(at, rel)]

        theirs = _hash_of(key, path, files[(commit, path)],
                          _CommitFiles(ws, commit, ws.settings.registry_dir), beside)
        if theirs != ours[key][1]:
            held = f"content {theirs[:12]}" if theirs else "no such artifact"
            problems.append(
                f"tag {key.tag} points at commit {commit[:12]}, whose {path} holds {held}, not "
                f"{ours[key][1][:12]} as in {ours[key][0]}: refusing to adopt it (delete the "
                "stale tag or bump the version)")
    if problems:
        raise ConflictError(problems[0], detail=problems)


class _CommitFiles:
    """Content files (``{file: ...}``) as one commit holds them."""

    def __init__(self, ws: Workspace, commit: str, registry_dir: str) -> None:
        self.ws, self.commit, self.registry_dir = ws, commit, registry_dir.strip("/")

    def read(self, path: str) -> bytes:
        from promptctl.loader import Unreadable

        data = self.ws.git.read_files([(self.commit, path)]).get((self.commit, path))
        if data is None:
            raise Unreadable("missing-file", f"{path} does not exist at {self.commit[:12]}")
        return data


def _hash_of(key: ArtifactKey, path: str, data: bytes | None,
             files: _CommitFiles | None = None, beside: Reader | None = None) -> str | None:
    """The content hash of ``key`` as the file ``data`` defines it (None if it does not);
    ``files`` reads its ``{file: ...}`` content and ``beside`` the files next to it (an eval
    suite's dataset), both at the same commit."""
    if data is None:
        return None
    try:
        loaded = load_sources([(path, data.decode("utf-8"))], files=files)
    except (UnicodeDecodeError, ValueError):
        return None
    if beside is not None:
        loaded.artifacts = attach_datasets(loaded.artifacts, loaded.findings, beside)
    match = [item for item in loaded.artifacts if item.artifact.key == key]
    return match[0].artifact.content_hash() if match else None


def _content_authors(ws: Workspace, plan: _Plan, commit: str) -> dict[ArtifactKey, str]:
    """Who wrote each new version: one ``git log`` walk per commit the rows record."""
    by_commit: dict[str, dict[str, ArtifactKey]] = defaultdict(dict)
    for loc, _ in plan.new:
        tag = plan.adopted.get(loc.artifact.key)
        at, path = (tag.commit, tag.path or loc.path) if tag else (commit, loc.path)
        by_commit[at][path] = loc.artifact.key
    authors: dict[ArtifactKey, str] = {}
    for at, paths in by_commit.items():
        found = ws.git.last_authors(at, set(paths))
        authors |= {paths[path]: author for path, author in found.items()}
    return authors


def _write_rows(
    ws: Workspace, plan: _Plan, commit: str, releaser: str, authors: dict[ArtifactKey, str],
    overrides: dict[ArtifactKey, str],
) -> list[tuple[Located, str]]:
    """Insert the new rows in one transaction; rows another process wrote meanwhile are
    compared by hash (same: skipped, different: conflict)."""
    if not plan.new:
        return []
    now = datetime.now(UTC)
    # A unique-key violation: another process inserted the same key between our read and
    # our write.
    raced = ConflictError("another release ran at the same time: run `promptctl release` "
                          "again to pick up what is left")
    with on_duplicate(raced), ws.store.write() as session:
        current = {ArtifactKey(r.kind, r.name, r.version): r for r in all_releases(session)}
        written = []
        for loc, content_hash in plan.new:
            key = loc.artifact.key
            if key in current:
                _same_or_conflict(key, current[key].content_hash, content_hash)
                continue
            tag = plan.adopted.get(key)
            add_release(session, ReleaseRecord(
                kind=key.kind, name=key.name, version=key.version,
                content_hash=content_hash,
                content=canonical_json(loc.artifact.content()).decode(),
                path=(tag.path if tag else None) or loc.path,
                git_commit=tag.commit if tag else commit,
                tag=key.tag, author=releaser, commit_author=authors.get(key),
                bump_override=overrides.get(key), released_at=now,
            ))
            written.append((loc, content_hash))
    return written


def _same_or_conflict(key: ArtifactKey, stored: str, ours: str) -> None:
    if stored != ours:
        raise ConflictError(f"{key} was just released by another process with content "
                            f"{stored[:12]}, which differs from ours ({ours[:12]})")


def _pins(
    artifacts: list[Located], tagging: set[ArtifactKey]
) -> dict[ArtifactKey, set[ArtifactKey]]:
    """What each artifact being tagged pins among the others being tagged."""
    return {loc.artifact.key: {ArtifactKey(kind, ref.name, ref.version)
                               for kind, ref in loc.artifact.refs()} & tagging
            for loc in artifacts if loc.artifact.key in tagging}


def _create_tags(
    ws: Workspace, new_tags: dict[ArtifactKey, NewTag], pins: dict[ArtifactKey, set[ArtifactKey]],
    tagger: str,
) -> dict[ArtifactKey, str]:
    """Create the tags in dependency layers (pinned artifacts first, one git batch per layer);
    return ``{key: reason}`` for each tag that could not be created.

    An artifact pinning one whose tag was refused is refused too. A tag that a concurrent
    release created meanwhile with the same content counts as created.
    """
    refused: dict[ArtifactKey, str] = {}
    remaining = dict(new_tags)
    while remaining:
        ready = [k for k in remaining if not pins.get(k, set()) & remaining.keys()] \
            or list(remaining)
        layer = []
        for key in ready:
            blocked = sorted(pins.get(key, set()) & refused.keys())
            if blocked:
                refused[key] = f"{_PINS} {blocked[0]}, whose tag could not be created"
            else:
                layer.append(key)
        by_name = {new_tags[k].name: k for k in layer}
        failed = ws.git.create_tags([new_tags[k] for k in layer], tagger)
        refused |= {by_name[name]: reason for name, reason in failed.items()}
        for key in ready:
            del remaining[key]
    return _drop_raced(ws, refused, new_tags)


def _drop_raced(ws: Workspace, refused: dict[ArtifactKey, str],
                new_tags: dict[ArtifactKey, NewTag]) -> dict[ArtifactKey, str]:
    """Keep only the refusals whose tag does not now exist with our content hash."""
    if not refused:
        return refused
    existing = ws.git.tags()
    ours = {key: content_hash_in(new_tags[key].message) for key in refused}
    return {key: reason for key, reason in refused.items()
            if key.tag not in existing or existing[key.tag].content_hash != ours[key]}


def _take_back(ws: Workspace, refused: dict[ArtifactKey, str],
               restoring: set[ArtifactKey]) -> set[ArtifactKey]:
    """Delete the rows of refused tags in one compensating transaction; return the keys
    kept because a rollout serves them (rows an earlier, crashed release left)."""
    if not refused:
        return set()
    with ws.store.write() as session:
        kept = served_keys(session, refused.keys() & restoring)
        delete_releases(session, refused.keys() - kept)
    return kept


def _refused_error(refused: dict[ArtifactKey, str], kept: set[ArtifactKey],
                   report: ReleaseReport) -> ConflictError:
    # Name a tag git refused before one refused only because it pins that one.
    key = min(refused, key=lambda k: (refused[k].startswith(_PINS), k))
    more = f" ({len(refused) - 1} more refused)" if len(refused) > 1 else ""
    what = ("its row is kept because a rollout serves it; a rerun retries the tag"
            if key in kept else "nothing was recorded for it")
    done = len(report.items)
    return ConflictError(
        f"could not create tag {key.tag} for {key}: {_one_line(refused[key])}; {what}{more}; "
        f"{done} other artifact(s) released",
        detail=[{"key": str(k), "tag": k.tag, "reason": _one_line(r)}
                for k, r in sorted(refused.items())],
    )


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "refused by git"


def _tag_message(key: ArtifactKey, content_hash: str, path: str) -> str:
    return f"Release {key}\n\n{HASH_TRAILER} {content_hash}\n{PATH_TRAILER} {path}\n"


def _item(loc: Located, content_hash: str, status: str) -> ReleasedItem:
    return ReleasedItem(loc.artifact.key, content_hash, loc.path, status)


def release_summary(report: ReleaseReport) -> dict[str, object]:
    """JSON-ready summary for ``--json`` output."""
    return {
        "commit": report.commit,
        "released": [{"key": str(i.key), "tag": i.key.tag, "hash": i.content_hash,
                      "path": i.path, "status": i.status} for i in report.items],
        "unchanged": report.unchanged,
    }
