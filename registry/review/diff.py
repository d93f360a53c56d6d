"""Semantic diff of the registry between two revisions, with the semver policy applied.

Artifacts are matched by kind and name (then by file, then by version), so a
file edited in place, a file moved, and a new version added next to the old
one are all recognised; a removed and an added artifact of the same kind with
the same file or the same content are a rename. For each match the report
carries what a reviewer needs: template diffs, parameter, ref, tool-schema and
output-schema changes, both fingerprints, the required bump with reasons, and
the findings that fail ``--check``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import semver

from registry.bundle import resolve_bundle
from registry.catalog import Catalog, Entry
from registry.errors import PromptctlError
from registry.findings import Finding
from registry.loader import Located, check_refs
from registry.model import KINDS, ArtifactBase, ArtifactKey, Index, ModelConfig, Prompt, Tool
from registry.review.git_source import Revision, Snapshot, load_revision, released_tags
from registry.review.lint_rules import GrowthPolicy, lint_artifact
from registry.review.report import Affected, ArtifactDiff, Report, Side, TemplateDiff, ValueChange
from registry.review.semver_policy import (
    declared_bump,
    output_schema_changes,
    policy_findings,
    release_findings,
    required_bump,
    tool_schema_changes,
)
from registry.review.textdiff import template_diff

SCALAR_FIELDS = ("description", "provider", "model", "backend", "uri", "embedding_model",
                 "build", "dimensions", "metadata")


@dataclass(frozen=True)
class Pair:
    old: Located | None
    new: Located | None
    renamed_from: str | None = None


def diff_revisions(
    root: Path, base: Revision, head: Revision, registry_dir: str = "prompts",
    growth: GrowthPolicy | None = None,
) -> Report:
    """Load both revisions from git and compare them."""
    old = load_revision(root, base, registry_dir)
    new = load_revision(root, head, registry_dir)
    return compare(old, new, released_tags(root), growth or GrowthPolicy())


def compare(
    base: Snapshot, head: Snapshot, tags: dict[str, str | None], growth: GrowthPolicy
) -> Report:
    """The report for two loaded snapshots; ``tags`` maps release tags to content hashes."""
    report = Report(base.revision, head.revision)
    old_items, new_items = base.loaded.artifacts, head.loaded.artifacts
    old_catalog = Catalog(Entry(i.artifact, i.path) for i in old_items)
    new_catalog = Catalog(Entry(i.artifact, i.path) for i in old_items)
    for item in new_items:
        new_catalog.add(Entry(item.artifact, item.path))
    broken = {f.path for f in head.loaded.findings if f.severity == "error"}
    for pair in pair_artifacts(old_items, new_items):
        entry = _artifact_diff(pair, old_catalog, new_catalog, tags, growth, broken)
        if entry is not None:
            report.artifacts.append(entry)
    report.artifacts.sort(key=lambda a: (a.sort_key, a.new.version if a.new else ""))
    report.affected = _affected(report, old_items, new_items, old_catalog, new_catalog)
    _attach_tree_findings(report, base, head, tags)
    return report


# -- matching -----------------------------------------------------------------------------------


def pair_artifacts(old: list[Located], new: list[Located]) -> list[Pair]:
    """Match old and new artifacts (see the module docstring); unchanged pairs included."""
    groups_old: dict[tuple[str, str], list[Located]] = defaultdict(list)
    groups_new: dict[tuple[str, str], list[Located]] = defaultdict(list)
    for item in old:
        groups_old[(item.artifact.kind, item.artifact.name)].append(item)
    for item in new:
        groups_new[(item.artifact.kind, item.artifact.name)].append(item)
    pairs: list[Pair] = []
    for key in sorted(set(groups_old) | set(groups_new)):
        pairs += _pair_group(groups_old.get(key, []), groups_new.get(key, []))
    return _detect_renames(pairs)


def _pair_group(olds: list[Located], news: list[Located]) -> list[Pair]:
    free = list(olds)
    pairs, unmatched = [], []
    for item in news:
        match = next((o for o in free if o.path == item.path), None) or next(
            (o for o in free if o.artifact.version == item.artifact.version), None)
        if match is None:
            unmatched.append(item)
        else:
            free.remove(match)
            pairs.append(Pair(match, item))
    for item in sorted(unmatched, key=_version_of):
        if free:
            match = max(free, key=_version_of)
            free.remove(match)
            pairs.append(Pair(match, item))
            continue
        lower = [o for o in olds if _version_of(o) < _version_of(item)]
        pairs.append(Pair(max(lower, key=_version_of) if lower else None, item))
    pairs += [Pair(o, None) for o in free]
    return pairs


def _detect_renames(pairs: list[Pair]) -> list[Pair]:
    removed = [p for p in pairs if p.new is None]
    result = [p for p in pairs if p.new is not None and p.old is not None]
    for pair in (p for p in pairs if p.old is None):
        assert pair.new is not None
        match = next((r for r in removed if _same_identity_free(r.old, pair.new)), None)
        if match is None:
            result.append(pair)
        else:
            removed.remove(match)
            assert match.old is not None
            result.append(Pair(match.old, pair.new, renamed_from=match.old.artifact.name))
    return result + removed


def _same_identity_free(old: Located | None, new: Located) -> bool:
    if old is None or old.artifact.kind != new.artifact.kind:
        return False
    if old.path == new.path:
        return True
    strip = ("name", "version", "description")
    a = {k: v for k, v in old.artifact.content().items() if k not in strip}
    b = {k: v for k, v in new.artifact.content().items() if k not in strip}
    return a == b


def _version_of(item: Located) -> semver.Version:
    return semver.Version.parse(item.artifact.version)


# -- one artifact -------------------------------------------------------------------------------


def _artifact_diff(
    pair: Pair, old_catalog: Catalog, new_catalog: Catalog,
    tags: dict[str, str | None], growth: GrowthPolicy, broken: set[str],
) -> ArtifactDiff | None:
    """The diff entry of one pair, ``None`` when nothing differs.

    An old artifact whose file still exists but no longer loads (``broken``) is
    ``invalid``, not ``removed``: the loader's findings say why.
    """
    old, new = pair.old, pair.new
    if old is not None and new is not None and pair.renamed_from is None:
        same = old.artifact.content_hash() == new.artifact.content_hash()
        if same and old.path == new.path:
            return None
        status = "moved" if same else (
            "changed" if old.artifact.version == new.artifact.version else "bumped")
    elif pair.renamed_from is not None:
        status = "renamed"
    else:
        status = "added" if old is None else ("invalid" if old.path in broken else "removed")
    subject = (new or old).artifact  # type: ignore[union-attr]
    entry = ArtifactDiff(subject.kind, subject.name, status, renamed_from=pair.renamed_from,
                         old=_side(old, old_catalog), new=_side(new, new_catalog))
    if old is not None and new is not None:
        _describe_changes(entry, old.artifact, new.artifact)
    elif new is not None:
        _describe_changes(entry, None, new.artifact)
    if new is not None and status != "moved":
        entry.findings += _check(entry, old, new, tags, growth)
    return entry


def _side(item: Located | None, catalog: Catalog) -> Side | None:
    if item is None:
        return None
    artifact = item.artifact
    return Side(artifact.version, item.path, artifact.content_hash(),
                _fingerprint(artifact, catalog))


def _fingerprint(artifact: ArtifactBase, catalog: Catalog) -> str | None:
    if not isinstance(artifact, Prompt):
        return None
    try:
        return resolve_bundle(artifact, catalog).fingerprint
    except PromptctlError:
        return None


def _check(
    entry: ArtifactDiff, old: Located | None, new: Located,
    tags: dict[str, str | None], growth: GrowthPolicy,
) -> list[Finding]:
    findings: list[Finding] = []
    if old is not None and entry.status in ("changed", "bumped"):
        bump = required_bump(old.artifact, new.artifact)
        entry.required_bump = bump.level
        entry.declared_bump = declared_bump(old.artifact.version, new.artifact.version)
        entry.reasons = bump.reasons
        tag = old.artifact.key.tag
        findings += policy_findings(old.artifact, new.artifact, new.path, bump,
                                    tags.get(tag), tag in tags)
    if not any(f.code == "released-modified" for f in findings):
        findings += release_findings(new.artifact, new.path, tags.get(new.artifact.key.tag))
    findings += lint_artifact(old.artifact if old else None, new, growth)
    return findings


def _describe_changes(entry: ArtifactDiff, old: ArtifactBase | None, new: ArtifactBase) -> None:
    old_content = old.content() if old else {}
    new_content = new.content()
    for name in SCALAR_FIELDS:
        if name == "model" and isinstance(new, Prompt):
            continue
        before, after = old_content.get(name), new_content.get(name)
        if before != after and (old is not None or name != "description"):
            entry.fields.append(ValueChange(name, before, after))
    if isinstance(new, Prompt):
        _prompt_changes(entry, old if isinstance(old, Prompt) else None, new)
    elif isinstance(new, ModelConfig):
        before = old.params if isinstance(old, ModelConfig) else {}
        for name in sorted(set(before) | set(new.params)):
            if before.get(name) != new.params.get(name):
                entry.params.append(ValueChange(name, before.get(name), new.params.get(name)))
    elif isinstance(new, Tool) and isinstance(old, Tool):
        entry.tool_parameters = [f"{c} → {lvl}" for c, lvl in
                                 tool_schema_changes(old.parameters, new.parameters)]
    elif isinstance(new, Index | Tool):
        pass


def _prompt_changes(entry: ArtifactDiff, old: Prompt | None, new: Prompt) -> None:
    for role in ("system", "user"):
        before = getattr(old.template, role) if old else None
        after = getattr(new.template, role)
        if before != after:
            lines, ws_only = template_diff(before, after)
            entry.templates.append(TemplateDiff(role, lines, ws_only))
    old_vars = old.variables if old else {}
    for name in sorted(set(old_vars) | set(new.variables)):
        before, after = old_vars.get(name), new.variables.get(name)
        if before != after:
            entry.fields.append(ValueChange(
                f"variables.{name}",
                before.model_dump(exclude_defaults=True) if before else None,
                after.model_dump(exclude_defaults=True) if after else None))
    entry.refs = _ref_changes(old, new)
    if old is not None:
        entry.output_schema = [f"{c} → {lvl}" for c, lvl in
                               output_schema_changes(old.output_schema or None,
                                                     new.output_schema or None)]


def _ref_changes(old: Prompt | None, new: Prompt) -> list[ValueChange]:
    def pinned(prompt: Prompt | None) -> dict[str, str]:
        if prompt is None:
            return {}
        return {f"{kind} {ref.name}": ref.version for kind, ref in prompt.refs()}

    before, after = pinned(old), pinned(new)
    return [ValueChange(name, before.get(name), after.get(name))
            for name in sorted(set(before) | set(after), key=_ref_order)
            if before.get(name) != after.get(name)]


def _ref_order(name: str) -> tuple[int, str]:
    kind, _, rest = name.partition(" ")
    return KINDS.index(kind), rest


# -- indirect effects ---------------------------------------------------------------------------


def _affected(
    report: Report, old_items: list[Located], new_items: list[Located],
    old_catalog: Catalog, new_catalog: Catalog,
) -> list[Affected]:
    """Prompts not changed themselves whose bundle changed, or that pin a superseded version."""
    old_hash = {i.artifact.key: i.artifact.content_hash() for i in old_items}
    edited = {i.artifact.key for i in new_items
              if i.artifact.key in old_hash and old_hash[i.artifact.key]
              != i.artifact.content_hash() and i.artifact.kind != "prompt"}
    moved_on: dict[ArtifactKey, str] = {}
    for entry in report.artifacts:
        if entry.kind == "prompt" or entry.old is None:
            continue
        key = ArtifactKey(entry.kind, entry.renamed_from or entry.name, entry.old.version)
        if entry.status == "bumped" and entry.new:
            moved_on[key] = f"{entry.name}@{entry.new.version} is the new version"
        elif entry.status == "removed":
            moved_on[key] = "removed from the tree in this change"
        elif entry.status == "renamed" and entry.new:
            moved_on[key] = f"renamed to {entry.name}@{entry.new.version}"
    affected = []
    for item in sorted(new_items, key=lambda i: (i.artifact.name, i.artifact.version)):
        prompt = item.artifact
        if not isinstance(prompt, Prompt):
            continue
        for kind, ref in prompt.refs():
            key = ArtifactKey(kind, ref.name, ref.version)
            via = f"{kind}/{ref}"
            if key in edited and old_hash.get(prompt.key) == prompt.content_hash():
                affected.append(Affected(
                    f"{prompt.name}@{prompt.version}", via,
                    "pinned version's content changed, so the bundle fingerprint changed",
                    _fingerprint(prompt, old_catalog), _fingerprint(prompt, new_catalog)))
            elif key in moved_on:
                affected.append(Affected(f"{prompt.name}@{prompt.version}", via,
                                         f"still pins {ref}; {moved_on[key]}"))
    return affected


# -- tree-wide findings -------------------------------------------------------------------------


def _attach_tree_findings(
    report: Report, base: Snapshot, head: Snapshot, tags: dict[str, str | None]
) -> None:
    """Loader and ref findings new in HEAD, plus every artifact's own findings, deduplicated."""
    def released(key: ArtifactKey) -> bool:
        return key.tag in tags

    def keyed(findings: list[Finding]) -> set[tuple[str, str, str]]:
        return {(f.code, f.path, f.message) for f in findings}

    before = keyed(base.loaded.findings + check_refs(base.loaded.artifacts, released))
    tree = [f for f in head.loaded.findings + check_refs(head.loaded.artifacts, released)
            if (f.code, f.path, f.message) not in before]
    by_path: dict[str, ArtifactDiff] = {a.new.path: a for a in report.artifacts if a.new}
    by_path |= {a.old.path: a for a in report.artifacts if a.status == "invalid" and a.old}
    seen: set[tuple[str, str, str]] = set()
    for entry in report.artifacts:
        seen |= keyed(entry.findings)
    for finding in tree:
        key = (finding.code, finding.path, finding.message)
        if key in seen:
            continue
        seen.add(key)
        if finding.path in by_path:
            by_path[finding.path].findings.append(finding)
        else:
            report.findings.append(finding)
    for entry in report.artifacts:
        report.findings.extend(entry.findings)
    report.findings.sort(key=_finding_order)


def _finding_order(finding: Finding) -> tuple[Any, ...]:
    return (finding.severity != "error", finding.path, finding.code, finding.message)
