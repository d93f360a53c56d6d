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
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import semver

from promptctl.bundle import resolve_bundle
from promptctl.catalog import Catalog, Entry
from promptctl.errors import PromptctlError, ValidationError
from promptctl.findings import Finding
from promptctl.limits import DEFAULT_LIMITS, Limits
from promptctl.loader import LoadResult, Located, check_refs, duplicate_findings
from promptctl.model import (
    KINDS,
    ArtifactBase,
    ArtifactKey,
    ModelConfig,
    Prompt,
    Ref,
    Snippet,
    Tool,
)
from promptctl.review.allowlist import Allowlist, load_allowlist
from promptctl.review.git_source import (
    Revision,
    RevisionFiles,
    commit_messages,
    list_revision,
    released_tags,
)
from promptctl.review.lint_rules import GrowthPolicy, lint_artifact
from promptctl.review.redaction import redact_report, secret_parts
from promptctl.review.report import Affected, ArtifactDiff, Report, Side, TemplateDiff, ValueChange
from promptctl.review.semver_policy import (
    BumpOverride,
    declared_bump,
    declared_override,
    level_index,
    output_schema_changes,
    policy_findings,
    release_findings,
    required_bump,
    tool_schema_changes,
)
from promptctl.review.textdiff import mark_words, template_diff

SCALAR_FIELDS = ("description", "provider", "model", "backend", "uri", "embedding_model",
                 "build", "dimensions", "metadata")


@dataclass(frozen=True)
class Pair:
    old: Located | None
    new: Located | None
    renamed_from: str | None = None


def diff_revisions(
    root: Path, base: Revision, head: Revision, registry_dir: str = "prompts",
    growth: GrowthPolicy | None = None, allowlist: Allowlist | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Report:
    """List both revisions from git and compare them.

    Secret findings are checked against the allowlist of ``head`` (the one the
    change under review ships) unless ``allowlist`` is given.
    """
    old = list_revision(root, base, registry_dir, limits)
    new = list_revision(root, head, registry_dir, limits)
    if allowlist is None:
        allowlist = load_allowlist(root, head)
    return compare(old, new, released_tags(root), growth or GrowthPolicy(), allowlist)


class LazyCatalog(Catalog):
    """A catalog whose unchanged artifacts are parsed only when something resolves them."""

    def __init__(self, entries: list[Entry], lazy: list[Located], files: RevisionFiles) -> None:
        super().__init__(entries)
        self._lazy = {item.artifact.key: item.path for item in lazy}
        self._files = files

    def get(self, key: ArtifactKey) -> Entry | None:
        entry = super().get(key)
        if entry is None and key in self._lazy:
            path = self._lazy.pop(key)
            for item in self._files.parse([path]).artifacts:
                self.add(Entry(item.artifact, item.path))
            entry = super().get(key)
        return entry


@dataclass
class _Sides:
    """Both revisions split into changed files (parsed) and shared files (light)."""

    base: RevisionFiles
    head: RevisionFiles
    old: LoadResult
    new: LoadResult
    shared: list[Located]
    old_catalog: LazyCatalog
    new_catalog: LazyCatalog

    @classmethod
    def split(cls, base: RevisionFiles, head: RevisionFiles) -> _Sides:
        same = {p for p in head.files
                if p in base.files and base.identity(p) == head.identity(p)}
        same -= head.rich(sorted(same))  # their content files or snippets may have changed
        old = base.parse([p for p in base.files if p not in same])
        new = head.parse([p for p in head.files if p not in same])
        shared = head.light(sorted(same))
        old_entries = [Entry(i.artifact, i.path) for i in old.artifacts]
        new_entries = old_entries + [Entry(i.artifact, i.path) for i in new.artifacts]
        return cls(base, head, old, new, shared, LazyCatalog(old_entries, shared, head),
                   LazyCatalog(new_entries, shared, head))

    def everything(self, side: str) -> list[Located]:
        """Every artifact of one side: parsed changed ones and light shared ones."""
        return (self.old if side == "base" else self.new).artifacts + self.shared

    def older_version(self, kind: str, name: str, below: semver.Version) -> Located | None:
        """The highest version of ``kind/name`` below ``below`` that both sides share."""
        versions = [i for i in self.shared if (i.artifact.kind, i.artifact.name) == (kind, name)
                    and _safe_version(i.artifact.version) < below]
        if not versions:
            return None
        best = max(versions, key=lambda i: _safe_version(i.artifact.version))
        full = self.full(best, self.old_catalog)
        return Located(full, best.path) if full else None

    def full(self, item: Located, catalog: Catalog) -> ArtifactBase | None:
        if isinstance(item.artifact, ArtifactBase):
            return item.artifact
        entry = catalog.get(item.artifact.key)
        return entry.artifact if entry else None


def compare(
    base: RevisionFiles, head: RevisionFiles, tags: dict[str, str | None], growth: GrowthPolicy,
    allowlist: Allowlist | None = None,
) -> Report:
    """The report for two revisions; ``tags`` maps release tags to content hashes.

    Every secret in either side is redacted from the report it returns.
    """
    report = Report(base.revision, head.revision)
    sides = _Sides.split(base, head)
    broken = {f.path for f in sides.new.findings if f.severity == "error"}
    overrides = _Overrides(sides)
    for pair in pair_artifacts(sides.old.artifacts, sides.new.artifacts, sides.older_version):
        entry = _artifact_diff(pair, sides.old_catalog, sides.new_catalog, tags, growth, broken,
                               allowlist, overrides)
        if entry is not None:
            report.artifacts.append(entry)
    report.artifacts.sort(key=lambda a: (a.sort_key, a.new.version if a.new else ""))
    report.affected = _affected(report, sides)
    report.head_prompts = {i.artifact.name for i in sides.everything("head")
                           if i.artifact.kind == "prompt"}
    _attach_tree_findings(report, sides, tags)
    return _mark_words(redact_report(report, secret_parts(sides.old.artifacts
                                                          + sides.new.artifacts)))


def _mark_words(report: Report) -> Report:
    """Mark changed words in the redacted diff lines: marks made before redaction could
    split a secret that changed by a few characters, and so show part of it."""
    for item in report.artifacts:
        item.templates = [replace(t, marked=mark_words(t.lines)) for t in item.templates]
    return report


# -- matching -----------------------------------------------------------------------------------


OlderVersion = Callable[[str, str, semver.Version], Located | None]


def pair_artifacts(
    old: list[Located], new: list[Located], older: OlderVersion | None = None
) -> list[Pair]:
    """Match old and new artifacts (see the module docstring).

    ``older`` finds a lower version of the same name among files both sides
    share, so a new version added next to an unchanged old one is a bump.
    """
    groups_old: dict[tuple[str, str], list[Located]] = defaultdict(list)
    groups_new: dict[tuple[str, str], list[Located]] = defaultdict(list)
    for item in old:
        groups_old[(item.artifact.kind, item.artifact.name)].append(item)
    for item in new:
        groups_new[(item.artifact.kind, item.artifact.name)].append(item)
    pairs: list[Pair] = []
    for key in sorted(set(groups_old) | set(groups_new)):
        pairs += _pair_group(groups_old.get(key, []), groups_new.get(key, []), older)
    return _detect_renames(pairs)


def _pair_group(olds: list[Located], news: list[Located], older: OlderVersion | None) -> list[Pair]:
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
        shared = older(item.artifact.kind, item.artifact.name, _version_of(item)) \
            if older else None
        candidates = lower + ([shared] if shared else [])
        pairs.append(Pair(max(candidates, key=_version_of) if candidates else None, item))
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
    return item.artifact.semver


def _safe_version(text: str) -> semver.Version:
    try:
        return semver.Version.parse(text)
    except ValueError:
        return semver.Version(0)


# -- one artifact -------------------------------------------------------------------------------


def _artifact_diff(
    pair: Pair, old_catalog: Catalog, new_catalog: Catalog,
    tags: dict[str, str | None], growth: GrowthPolicy, broken: set[str],
    allowlist: Allowlist | None = None, overrides: _Overrides | None = None,
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
    if new is not None:
        _describe_changes(entry, old.artifact if old else None, new.artifact)
    if new is not None and status != "moved":
        entry.findings += _check(entry, old, new, tags, growth, allowlist, overrides)
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
    tags: dict[str, str | None], growth: GrowthPolicy, allowlist: Allowlist | None = None,
    overrides: _Overrides | None = None,
) -> list[Finding]:
    findings: list[Finding] = []
    if old is not None and entry.status in ("changed", "bumped"):
        bump = required_bump(old.artifact, new.artifact)
        entry.required_bump = bump.level
        entry.declared_bump = declared_bump(old.artifact.version, new.artifact.version)
        entry.reasons = bump.reasons
        override = None
        if overrides is not None and level_index(entry.declared_bump) < level_index(bump.level):
            override, problems = overrides.of(entry.label, old.path, new.path)
            findings += problems
            entry.override = override
        tag = old.artifact.key.tag
        findings += policy_findings(old.artifact, new.artifact, new.path, bump,
                                    tags.get(tag), tag in tags, override)
    if not any(f.code == "released-modified" for f in findings):
        findings += release_findings(new.artifact, new.path, tags.get(new.artifact.key.tag))
    findings += lint_artifact(old.artifact if old else None, new, growth, allowlist)
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
    elif isinstance(new, Snippet):
        before_text = old.text if isinstance(old, Snippet) else None
        if before_text != new.text:
            lines, ws_only = template_diff(before_text, new.text)
            entry.templates.append(TemplateDiff("text", lines, ws_only))
        entry.refs = _ref_changes(old if isinstance(old, Snippet) else None, new)
    elif isinstance(new, Tool) and isinstance(old, Tool):
        entry.tool_parameters = [f"{c} → {lvl}" for c, lvl in
                                 tool_schema_changes(old.parameters, new.parameters)]


def _prompt_changes(entry: ArtifactDiff, old: Prompt | None, new: Prompt) -> None:
    before_parts = dict(old.template.parts()) if old else {}
    after_parts = dict(new.template.parts())
    labels = list(after_parts) + [label for label in before_parts if label not in after_parts]
    for role in labels:
        old_text, new_text = before_parts.get(role), after_parts.get(role)
        if old_text != new_text:
            lines, ws_only = template_diff(old_text, new_text)
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


def _ref_changes(old: ArtifactBase | None, new: ArtifactBase) -> list[ValueChange]:
    def pinned(prompt: ArtifactBase | None) -> dict[str, str]:
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


class _Overrides:
    """Declared smaller bumps, read only for artifacts whose bump is too small."""

    def __init__(self, sides: _Sides) -> None:
        self._sides = sides
        self._messages: list[tuple[str, str]] | None = None

    def of(self, label: str, old_path: str, new_path: str
           ) -> tuple[BumpOverride | None, list[Finding]]:
        """The override declared for ``label``, or the finding saying why it is unreadable."""
        base, head = self._sides.base, self._sides.head
        new_text = head.texts([new_path])[new_path]
        old_text = base.texts([old_path])[old_path] if old_path in base.files else None
        if self._messages is None:
            self._messages = commit_messages(head.root, base.revision, head.revision)
        try:
            return declared_override(label, new_text, old_text, self._messages), []
        except ValidationError as exc:
            return None, [Finding("error", "bump-override-invalid", new_path, exc.message,
                                  "version", "fix or remove the override")]


# -- indirect effects ---------------------------------------------------------------------------


def _affected(report: Report, sides: _Sides) -> list[Affected]:
    """Prompts not changed themselves whose bundle changed, or that pin a superseded version."""
    old_hash = {i.artifact.key: i.artifact.content_hash() for i in sides.old.artifacts}
    new_hash = {i.artifact.key: i.artifact.content_hash() for i in sides.new.artifacts}
    edited = {key for key, h in new_hash.items()
              if key in old_hash and old_hash[key] != h and key.kind != "prompt"}
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
    prompts = [i for i in sides.everything("head") if i.artifact.kind == "prompt"]
    for item in sorted(prompts, key=lambda i: (i.artifact.name, i.artifact.version)):
        prompt = item.artifact
        unchanged = prompt.key not in new_hash or old_hash.get(prompt.key) == new_hash[prompt.key]
        for kind, ref in _with_nested_snippets(prompt.refs(), sides.new_catalog):
            key = ArtifactKey(kind, ref.name, ref.version)
            via = f"{kind}/{ref}"
            label = f"{prompt.name}@{prompt.version}"
            if key in edited and unchanged:
                full = sides.full(item, sides.new_catalog)
                affected.append(Affected(
                    label, via, "pinned version's content changed, so the bundle fingerprint "
                    "changed", _fingerprint(full, sides.old_catalog) if full else None,
                    _fingerprint(full, sides.new_catalog) if full else None))
            elif key in moved_on:
                affected.append(Affected(label, via, f"still pins {ref}; {moved_on[key]}"))
    return affected


def _with_nested_snippets(refs: list[tuple[str, Ref]], catalog: Catalog
                          ) -> list[tuple[str, Ref]]:
    """``refs`` and the snippets their snippets include, transitively (a prompt's bundle
    holds them all, so an edit to any of them changes its fingerprint)."""
    out, seen = list(refs), {(k, r) for k, r in refs}
    todo = [r for k, r in refs if k == "snippet"]
    while todo:
        entry = catalog.get(ArtifactKey("snippet", *todo.pop()))
        if entry is None or not isinstance(entry.artifact, Snippet):
            continue
        for ref in entry.artifact.snippet_refs():
            if ("snippet", ref) not in seen:
                seen.add(("snippet", ref))
                out.append(("snippet", ref))
                todo.append(ref)
    return out


# -- tree-wide findings -------------------------------------------------------------------------


def _attach_tree_findings(report: Report, sides: _Sides, tags: dict[str, str | None]) -> None:
    """Loader, duplicate and ref findings new in HEAD, plus every artifact's own findings."""
    def released(key: ArtifactKey) -> bool:
        return key.tag in tags

    def tree_findings(side: str, loaded: LoadResult) -> list[Finding]:
        everything = sides.everything(side)
        return loaded.findings + duplicate_findings(everything) + check_refs(everything, released)

    def keyed(findings: list[Finding]) -> set[tuple[str, str, str]]:
        return {(f.code, f.path, f.message) for f in findings}

    before = keyed(tree_findings("base", sides.old))
    tree = [f for f in tree_findings("head", sides.new)
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


# -- two versions of one artifact (the dashboard's compare) -------------------------------------


def version_diff(old: Located, new: Located, catalog: Catalog) -> ArtifactDiff:
    """Two versions of one artifact described as the PR comment describes a bumped one:
    template word diffs, fields, params, refs, tool and output schema changes, both
    fingerprints (resolved in ``catalog``) and the required bump with its reasons; secrets
    redacted as in every other output."""
    subject = new.artifact
    status = "changed" if old.artifact.version == subject.version else "bumped"
    entry = ArtifactDiff(subject.kind, subject.name, status, old=_side(old, catalog),
                         new=_side(new, catalog))
    _describe_changes(entry, old.artifact, subject)
    if old.artifact.content_hash() != subject.content_hash():
        bump = required_bump(old.artifact, subject)
        entry.required_bump, entry.reasons = bump.level, bump.reasons
        entry.declared_bump = declared_bump(old.artifact.version, subject.version)
    redacted = redact_report(entry, secret_parts([old, new]))
    redacted.templates = [replace(t, marked=mark_words(t.lines)) for t in redacted.templates]
    return redacted
