"""Read-only use cases over the catalog: what ``list``, ``show``, ``history`` and ``new`` show.

Kept in the core so the CLI only formats: each function returns plain data (or a small
record) that ``--json`` prints as is and the human output lays out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from promptctl.bundle import resolve_bundle
from promptctl.catalog import Catalog, Entry
from promptctl.errors import NotFoundError
from promptctl.loader import load_directory
from promptctl.model import KINDS, Prompt
from promptctl.workspace import Workspace


@dataclass(frozen=True)
class ReleaseInfo:
    """One released version of an artifact, as ``history NAME`` lists it.

    ``author`` wrote the version (the last commit that changed its file; ``None`` on rows
    released before that was recorded); ``released_by`` ran ``promptctl release``."""

    version: str
    released_at: str
    commit: str
    author: str | None
    released_by: str
    hash: str
    tag: str
    bump_override: str | None
    """The smaller bump the release declared (file comment or commit trailer), if any."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def tree_catalog(ws: Workspace) -> Catalog:
    """The valid artifacts of the working tree alone (no database)."""
    tree = load_directory(ws.settings.registry_path, relative_to=ws.root,
                          limits=ws.settings.limits)
    return Catalog(Entry(item.artifact, item.path) for item in tree.artifacts)


def default_model_ref(ws: Workspace) -> str | None:
    """The model a new prompt pins: ``chat`` if the tree has one, else the newest model."""
    models = [e.artifact for e in tree_catalog(ws) if e.artifact.kind == "model"]
    if not models:
        return None
    latest = max(models, key=lambda m: (m.name != "chat", m.semver))
    return f"{latest.name}@{latest.version}"


def catalog_rows(catalog: Catalog, kind: str | None = None) -> list[dict[str, Any]]:
    """One row per (kind, name): latest version, released versions, newest draft."""
    names = sorted({(e.artifact.kind, e.artifact.name) for e in catalog
                    if kind is None or e.artifact.kind == kind},
                   key=lambda kn: (KINDS.index(kn[0]), kn[1]))
    rows = []
    for k, n in names:
        versions = catalog.versions(k, n)
        drafts = [e.artifact.version for e in versions if not e.released]
        rows.append({"kind": k, "name": n, "latest": versions[-1].artifact.version,
                     "released": [e.artifact.version for e in versions if e.released],
                     "draft": drafts[-1] if drafts else None,
                     "description": versions[-1].artifact.description})
    return rows


def describe(ws: Workspace, catalog: Catalog, entry: Entry) -> dict[str, Any]:
    """One version: content, refs, fingerprint, sibling versions and release metadata."""
    artifact = entry.artifact
    data: dict[str, Any] = {
        "kind": artifact.kind, "name": artifact.name, "version": artifact.version,
        "path": entry.path, "released": entry.released, "content": artifact.content(),
        "content_hash": artifact.content_hash(),
        "refs": [f"{kind}/{ref}" for kind, ref in artifact.refs()],
        "versions": [e.artifact.version for e in catalog.versions(artifact.kind, artifact.name)],
        "release": None,
    }
    if isinstance(artifact, Prompt):
        try:
            data["fingerprint"] = resolve_bundle(artifact, catalog).fingerprint
        except NotFoundError as exc:  # a draft pinning something absent: still show it
            data["fingerprint"] = None
            data["unresolved"] = exc.message
    if entry.released:
        from promptctl.store.releases import get_release

        with ws.store.session() as session:
            record = get_release(session, artifact.key)
        if record:
            data["release"] = {"commit": record.git_commit, "tag": record.tag,
                               "author": record.commit_author, "released_by": record.author,
                               "released_at": record.released_at.isoformat(),
                               "bump_override": record.bump_override}
    return data


def release_history(ws: Workspace, name: str, kind: str | None = None
                    ) -> tuple[Entry, list[ReleaseInfo]]:
    """The released artifact ``name`` names and every release of it, oldest first."""
    from promptctl.store.releases import releases_of

    entry = ws.catalog(include_tree=False).find(name, kind)
    with ws.store.session() as session:
        records = releases_of(session, entry.artifact.kind, entry.artifact.name)
    return entry, [ReleaseInfo(version=r.version, released_at=r.released_at.isoformat(),
                               commit=r.git_commit, author=r.commit_author,
                               released_by=r.author, hash=r.content_hash, tag=r.tag,
                               bump_override=r.bump_override)
                   for r in records]
