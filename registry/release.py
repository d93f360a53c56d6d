"""Releasing: record every new (kind, name, version) and tag it in git.

Order matters for crash safety. Rows are written first (one transaction), tags
second. A crash between the two leaves rows whose tags are missing; the next
``release`` finds them unchanged in the store and creates the missing tags, so
a rerun always completes the release. A tag without a row (a fresh database on
an existing clone) is adopted when its recorded content hash matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from promptctl.canonical import canonical_json
from promptctl.errors import ConflictError, DirtyTreeError, ValidationError
from promptctl.failpoints import crash_point
from promptctl.findings import has_errors
from promptctl.gitrepo import HASH_TRAILER, NewTag, TagInfo
from promptctl.loader import Located
from promptctl.model import ArtifactKey
from promptctl.store.releases import all_releases
from promptctl.store.tables import ReleaseRecord
from promptctl.workspace import Workspace


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


@dataclass
class _Plan:
    new: list[tuple[Located, str]] = field(default_factory=list)
    missing_tags: list[tuple[ArtifactKey, str, str, str]] = field(default_factory=list)
    unchanged: int = 0


def release(ws: Workspace, *, dry_run: bool = False) -> ReleaseReport:
    """Release everything new in the working tree at HEAD (see module docstring)."""
    tree = ws.load_tree()
    if has_errors(tree.findings):
        errors = [f for f in tree.findings if f.severity == "error"]
        raise ValidationError(
            f"{len(errors)} validation error(s); first: {errors[0]} (run `promptctl lint`)",
            detail=[f.to_dict() for f in errors],
        )
    commit = ws.git.head_commit()
    tags = ws.git.tags()
    with ws.store.session() as session:
        records = {ArtifactKey(r.kind, r.name, r.version): r for r in all_releases(session)}
    plan = _plan(tree.artifacts, records, tags)
    _check_refs_released(plan, records)
    _check_clean(ws, plan)
    report = ReleaseReport(commit=commit, unchanged=plan.unchanged)
    if dry_run:
        report.items = [_item(loc, h, "released") for loc, h in plan.new]
        return report
    author = ws.git.author()
    written = _write_rows(ws, plan, commit, author, tags)
    crash_point("release.after-rows")
    new_tags = [NewTag(loc.artifact.key.tag, commit, _tag_message(loc.artifact.key, h, loc.path))
                for loc, h in written if loc.artifact.key.tag not in tags]
    new_tags += [NewTag(key.tag, rec_commit, _tag_message(key, h, path))
                 for key, h, path, rec_commit in plan.missing_tags]
    _create_tags(ws, new_tags, author)
    report.items = [_item(loc, h, "released") for loc, h in written]
    report.items += [ReleasedItem(k, h, p, "tag-restored") for k, h, p, _ in plan.missing_tags]
    report.unchanged += len(plan.new) - len(written)
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
        else:
            plan.unchanged += 1
            if tag is None:
                plan.missing_tags.append((key, content_hash, record.path, record.git_commit))
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
    blocked = sorted(loc.path for loc, _ in plan.new if loc.path in dirty)
    if blocked:
        more = f" and {len(blocked) - 1} more" if len(blocked) > 1 else ""
        raise DirtyTreeError(
            f"{blocked[0]}{more} has uncommitted changes: commit them before releasing",
            detail=blocked,
        )


def _write_rows(
    ws: Workspace, plan: _Plan, commit: str, author: str, tags: dict[str, TagInfo]
) -> list[tuple[Located, str]]:
    """Insert the new rows in one transaction; rows another process wrote meanwhile are
    compared by hash (same: skipped, different: conflict)."""
    if not plan.new:
        return []
    now = datetime.now(UTC)
    try:
        with ws.store.write() as session:
            current = {ArtifactKey(r.kind, r.name, r.version): r for r in all_releases(session)}
            written = []
            for loc, content_hash in plan.new:
                key = loc.artifact.key
                if key in current:
                    _same_or_conflict(key, current[key].content_hash, content_hash)
                    continue
                tag = tags.get(key.tag)
                session.add(ReleaseRecord(
                    kind=key.kind, name=key.name, version=key.version,
                    content_hash=content_hash,
                    content=canonical_json(loc.artifact.content()).decode(),
                    path=loc.path, git_commit=tag.commit if tag else commit,
                    tag=key.tag, author=author, released_at=now,
                ))
                written.append((loc, content_hash))
        return written
    except IntegrityError:
        # Another process inserted the same key between our read and our write.
        raise ConflictError("another release ran at the same time: run `promptctl release` "
                            "again to pick up what is left") from None


def _same_or_conflict(key: ArtifactKey, stored: str, ours: str) -> None:
    if stored != ours:
        raise ConflictError(f"{key} was just released by another process with content "
                            f"{stored[:12]}, which differs from ours ({ours[:12]})")


def _create_tags(ws: Workspace, new_tags: list[NewTag], author: str) -> None:
    try:
        ws.git.create_tags(new_tags, author)
    except ConflictError:
        # A concurrent release may have created the same tags: fine if they all exist now.
        existing = ws.git.tags()
        missing = [t.name for t in new_tags if t.name not in existing]
        if missing:
            raise


def _tag_message(key: ArtifactKey, content_hash: str, path: str) -> str:
    return f"Release {key}\n\n{HASH_TRAILER} {content_hash}\nPath: {path}\n"


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
