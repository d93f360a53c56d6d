"""An in-memory index of artifacts by kind, name and version.

The CLI and the resolver see one catalog that merges released versions (from
the store) with what is in the working tree, so ``show`` and ``render`` work on
an unreleased draft as well as on a version released long ago.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import semver

from promptctl.errors import NotFoundError, UsageError
from promptctl.model import KINDS, ArtifactBase, ArtifactKey, Ref, parse_version


@dataclass(frozen=True)
class Entry:
    artifact: ArtifactBase
    path: str | None = None  # file in the working tree, if it is there
    released: bool = False


class Catalog:
    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._entries: dict[ArtifactKey, Entry] = {}
        for entry in entries:
            self.add(entry)

    def add(self, entry: Entry) -> None:
        """Add ``entry``; a released copy keeps its flag when the tree has it too."""
        key = entry.artifact.key
        old = self._entries.get(key)
        if old is not None:
            entry = Entry(entry.artifact, entry.path or old.path, entry.released or old.released)
        self._entries[key] = entry

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: ArtifactKey) -> Entry | None:
        return self._entries.get(key)

    def require(self, kind: str, ref: Ref) -> ArtifactBase:
        entry = self.get(ArtifactKey(kind, ref.name, ref.version))  # through get(): subclasses load
        if entry is None:
            raise NotFoundError(f"{kind} {ref} not found")
        return entry.artifact

    def versions(self, kind: str, name: str) -> list[Entry]:
        """Every version of ``kind/name``, oldest first by semver precedence."""
        found = [e for k, e in self._entries.items() if k.kind == kind and k.name == name]
        return sorted(found, key=lambda e: semver.Version.parse(e.artifact.version))

    def kinds_named(self, name: str) -> list[str]:
        present = {key.kind for key in self._entries if key.name == name}
        return [k for k in KINDS if k in present]

    def find(self, spec: str, kind: str | None = None) -> Entry:
        """Resolve ``NAME``, ``NAME@VERSION`` or ``KIND/NAME[@VERSION]`` to one entry.

        Without a version the highest version wins. A name used by several kinds
        must be qualified, because guessing would show the wrong thing.
        """
        if "/" in spec:
            kind, _, spec = spec.partition("/")
            if kind not in KINDS:
                raise UsageError(f"unknown kind {kind!r}; use one of: {', '.join(KINDS)}")
        name, _, version = spec.partition("@")
        if version:
            try:
                parse_version(version)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        kinds = [kind] if kind else self.kinds_named(name)
        if not kinds or not self.versions(kinds[0], name):
            of_kind = f" of kind {kind}" if kind else ""
            raise NotFoundError(f"no artifact named {name!r}{of_kind}")
        if len(kinds) > 1:
            options = ", ".join(f"{k}/{name}" for k in kinds)
            raise UsageError(f"{name!r} names several kinds; say which: {options}")
        versions = self.versions(kinds[0], name)
        if not version:
            return versions[-1]
        for entry in versions:
            if entry.artifact.version == version:
                return entry
        known = ", ".join(e.artifact.version for e in versions)
        raise NotFoundError(f"{kinds[0]} {name}@{version} not found (versions: {known})")
