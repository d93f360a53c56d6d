"""A workspace ties one repository's settings, git and store together for commands."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from promptctl.config import Settings, load_settings

if TYPE_CHECKING:  # git, the database and the models load on first use: `--help` and
    # API-mode commands start without GitPython, SQLAlchemy, pydantic or Jinja2
    from promptctl.catalog import Catalog
    from promptctl.gitrepo import GitRepo
    from promptctl.loader import LoadResult
    from promptctl.model import ArtifactKey
    from promptctl.store import Store


class Workspace:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @classmethod
    def open(cls, start: Path | None = None, **overrides: Any) -> Workspace:
        return cls(load_settings(start, **overrides))

    @property
    def root(self) -> Path:
        return self.settings.root

    @cached_property
    def git(self) -> GitRepo:
        from promptctl.gitrepo import GitRepo  # GitPython loads only for commands that use git

        return GitRepo.discover(self.root)

    @cached_property
    def store(self) -> Store:
        from promptctl.store import Store

        return Store.open(self.settings.db_url)

    def load_tree(self, folder: Path | None = None) -> LoadResult:
        """Load the working tree (or ``folder``) and check refs against it and the releases."""
        from promptctl.loader import check_refs, load_directory

        result = load_directory(folder or self.settings.registry_path, relative_to=self.root,
                                limits=self.settings.limits)
        released = self.released_keys()
        result.findings.extend(check_refs(result.artifacts, released.__contains__))
        from promptctl.evals.checks import suite_findings

        prompts = {key.name for key in released if key.kind == "prompt"}
        result.findings.extend(suite_findings(result.artifacts, prompts))
        return result

    def released_keys(self) -> set[ArtifactKey]:
        from promptctl.model import ArtifactKey
        from promptctl.store.releases import all_releases

        with self.store.session() as session:
            return {ArtifactKey(r.kind, r.name, r.version) for r in all_releases(session)}

    def catalog(self, *, include_tree: bool = True) -> Catalog:
        """Released versions plus (optionally) the valid artifacts of the working tree."""
        from promptctl.catalog import Catalog, Entry
        from promptctl.loader import load_directory
        from promptctl.store.releases import load_released

        with self.store.session() as session:
            catalog = load_released(Catalog(), session)
        if include_tree:
            tree = load_directory(self.settings.registry_path, relative_to=self.root,
                                  limits=self.settings.limits)
            for item in tree.artifacts:
                released = catalog.get(item.artifact.key)
                if released is None:
                    catalog.add(Entry(item.artifact, item.path))
                else:  # the released content is the truth; keep the file location
                    catalog.add(Entry(released.artifact, item.path, released=True))
        return catalog
