"""The smaller bumps authors declared, as ``release`` records them.

``diff --check`` accepts a declared override (``# promptctl: bump=patch reason="..."``
in the file, or a ``Promptctl-Bump:`` commit trailer) as a warning; the release
keeps it beside the version, so ``show`` and ``history`` can tell later readers
that ``1.0.1`` was declared a patch and why. The comparison is the one review
made: this version against the newest earlier released version of the same
artifact, and the commits between their commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import semver

from promptctl.model import ArtifactKey

if TYPE_CHECKING:
    from promptctl.gitrepo import GitRepo
    from promptctl.loader import Located
    from promptctl.store.tables import ReleaseRecord

_DIRECTIVE = "promptctl:"  # cheap pre-check before parsing a file's comments


def declared_overrides(git: GitRepo, head: str, releasing: Iterable[Located],
                       records: Iterable[ReleaseRecord]) -> dict[ArtifactKey, str]:
    """``level (source): reason`` for each artifact of ``releasing`` that declares one.

    Files are read in one batch; each distinct earlier commit costs one ``git log``.
    """
    from promptctl.review.git_source import Revision, commit_messages
    from promptctl.review.semver_policy import declared_override

    items = list(releasing)
    previous = _previous_releases(items, list(records))
    wanted = [(head, loc.path) for loc in items]
    wanted += [(rec.git_commit, rec.path) for rec in previous.values()]
    texts = {k: v.decode("utf-8", "replace") if v is not None else None
             for k, v in git.read_files(wanted).items()}
    messages: dict[str, list[tuple[str, str]]] = {}
    found: dict[ArtifactKey, str] = {}
    for loc in items:
        key = loc.artifact.key
        before = previous.get(key)
        if before is None:
            continue  # a first version: there is no bump to declare
        if before.git_commit not in messages:
            messages[before.git_commit] = commit_messages(
                git.root, Revision(before.git_commit, before.git_commit), Revision(head, head))
        new_text = texts.get((head, loc.path))
        old_text = texts.get((before.git_commit, before.path))
        if not _mentions_override(new_text, messages[before.git_commit]):
            continue
        override = declared_override(f"{key.kind}/{key.name}", new_text, old_text,
                                     messages[before.git_commit])
        if override is not None:
            found[key] = f"{override.level} ({override.source}): {override.reason}"
    return found


def _mentions_override(text: str | None, messages: list[tuple[str, str]]) -> bool:
    return (text is not None and _DIRECTIVE in text) or any(
        "Promptctl-Bump" in message for _, message in messages)


def _previous_releases(items: list[Located], records: list[ReleaseRecord]
                       ) -> dict[ArtifactKey, ReleaseRecord]:
    """The newest released version below each releasing one, of the same kind and name."""
    by_name: dict[tuple[str, str], list[ReleaseRecord]] = {}
    for record in records:
        by_name.setdefault((record.kind, record.name), []).append(record)
    found: dict[ArtifactKey, ReleaseRecord] = {}
    for loc in items:
        key = loc.artifact.key
        version = semver.Version.parse(key.version)
        earlier = [r for r in by_name.get((key.kind, key.name), [])
                   if semver.Version.parse(r.version) < version]
        if earlier:
            found[key] = max(earlier, key=lambda r: semver.Version.parse(r.version))
    return found
