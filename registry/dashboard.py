"""What the web dashboard shows, as plain values: the overview grid, a prompt's releases and
the comparison of two released versions.

Core code (no HTTP, no templates): ``promptctl.api.ui`` formats these. The rollout state
comes from the application layer (:class:`promptctl.local_service.LocalService`), releases
from the store, and the comparison from the same review code as ``promptctl diff``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from promptctl.errors import NotFoundError, UsageError
from promptctl.model import ArtifactKey, parse_version

if TYPE_CHECKING:  # the review code loads on the first compare, not with the server
    from promptctl.catalog_queries import ReleaseInfo
    from promptctl.review.report import ArtifactDiff
    from promptctl.store import Store


@dataclass(frozen=True)
class Cell:
    """What one environment serves of one prompt."""

    stable: str | None
    canary: str | None
    percent: int


@dataclass(frozen=True)
class OverviewRow:
    prompt: str
    cells: tuple[tuple[str, Cell | None], ...]  # (env, cell) per environment; None: never served


@dataclass(frozen=True)
class Overview:
    envs: tuple[str, ...]
    rows: tuple[OverviewRow, ...]


def overview(store: Store, envs: list[str], search: str = "") -> Overview:
    """Every prompt (released or served) by ``envs``, from two light queries; with
    ``search``, only the prompts whose name contains it."""
    from promptctl.store.rollouts import released_names, served_versions

    wanted = set(envs)
    with store.connect() as conn:
        names = set(released_names(conn, "prompt"))
        cells = {(env, prompt): Cell(stable, canary, percent if canary else 0)
                 for env, prompt, stable, canary, percent in served_versions(conn)
                 if env in wanted and (stable or canary)}
    names |= {prompt for _, prompt in cells}
    if search:
        names = {name for name in names if search.lower() in name}
    rows = tuple(OverviewRow(name, tuple((env, cells.get((env, name))) for env in envs))
                 for name in sorted(names))
    return Overview(tuple(envs), rows)


def served(store: Store, prompt: str) -> dict[str, Cell]:
    """What each environment serves of ``prompt`` (environments that never served it are
    absent)."""
    from promptctl.store.rollouts import served_versions

    with store.connect() as conn:
        rows = served_versions(conn, prompt)
    return {env: Cell(stable, canary, percent if canary else 0)
            for env, _, stable, canary, percent in rows if stable or canary}


def released_versions(store: Store, name: str) -> tuple[str, list[ReleaseInfo]]:
    """The newest release's description and every release of prompt ``name``, newest
    first; ``NotFoundError`` when it has none."""
    from promptctl.catalog_queries import ReleaseInfo
    from promptctl.store.releases import record_artifact, releases_of

    with store.session() as session:
        records = releases_of(session, "prompt", name)
    if not records:
        raise NotFoundError(f"prompt {name!r} has no released version")
    infos = [ReleaseInfo(version=r.version, released_at=r.released_at.isoformat(),
                         commit=r.git_commit, author=r.commit_author, released_by=r.author,
                         hash=r.content_hash, tag=r.tag, bump_override=r.bump_override)
             for r in records]
    newest = max(records, key=lambda r: parse_version(r.version))
    return (record_artifact(newest).description,
            sorted(infos, key=lambda r: parse_version(r.version), reverse=True))


def compare_released(store: Store, name: str, old: str, new: str) -> ArtifactDiff:
    """Released versions ``old`` and ``new`` of prompt ``name``, compared as ``promptctl
    diff`` compares them (``NotFoundError`` for a version that was never released)."""
    from promptctl.catalog import Catalog
    from promptctl.loader import Located
    from promptctl.review.diff import version_diff
    from promptctl.store.releases import load_released

    for version in (old, new):
        try:
            parse_version(version)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    keys = [ArtifactKey("prompt", name, old), ArtifactKey("prompt", name, new)]
    with store.session() as session:
        catalog = load_released(Catalog(), session, keys)
        sides = [catalog.get(key) for key in keys]
        missing = [key.version for key, entry in zip(keys, sides, strict=True) if entry is None]
        if missing:
            raise NotFoundError(f"prompt {name}@{missing[0]} was never released")
        pins = [ArtifactKey(kind, ref.name, ref.version)
                for entry in sides if entry is not None for kind, ref in entry.artifact.refs()]
        load_released(catalog, session, pins)
    before, after = (Located(e.artifact, f"{name}@{e.artifact.version}")  # type: ignore[union-attr]
                     for e in sides)
    return version_diff(before, after, catalog)
