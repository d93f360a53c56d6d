"""The review report: plain data that every renderer (text, markdown, JSON) reads.

:meth:`Report.to_dict` is the stable JSON schema (``schema_version`` 1,
documented in ``docs/review.md``); renderers never compute anything the JSON
does not carry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from promptctl.findings import Finding
from promptctl.model import KINDS
from promptctl.review.git_source import Revision

if TYPE_CHECKING:
    from promptctl.review.semver_policy import BumpOverride

SCHEMA_VERSION = 1
STATUSES = ("added", "removed", "renamed", "changed", "bumped", "moved", "invalid")


@dataclass(frozen=True)
class Side:
    version: str
    path: str
    content_hash: str
    fingerprint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "path": self.path, "content_hash": self.content_hash,
                "fingerprint": self.fingerprint}


@dataclass(frozen=True)
class TemplateDiff:
    role: str
    lines: list[str]  # unified-diff body lines: " ctx", "-old", "+new"
    whitespace_only: bool = False
    marked: list[str] = field(default_factory=list)  # ``lines`` with [-words-] / {+words+}


@dataclass(frozen=True)
class ValueChange:
    name: str
    old: Any
    new: Any


@dataclass
class ArtifactDiff:
    """One artifact that differs between the revisions."""

    kind: str
    name: str
    status: str
    old: Side | None = None
    new: Side | None = None
    renamed_from: str | None = None
    declared_bump: str | None = None
    required_bump: str | None = None
    reasons: list[str] = field(default_factory=list)
    override: BumpOverride | None = None  # the author's declared smaller bump, if any
    templates: list[TemplateDiff] = field(default_factory=list)
    params: list[ValueChange] = field(default_factory=list)
    fields: list[ValueChange] = field(default_factory=list)
    refs: list[ValueChange] = field(default_factory=list)
    tool_parameters: list[str] = field(default_factory=list)
    output_schema: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def version_text(self) -> str:
        old = self.old.version if self.old else None
        new = self.new.version if self.new else None
        if old and new and old != new:
            return f"{old} → {new}"
        return new or old or ""

    @property
    def moved_path(self) -> bool:
        """Whether the artifact's file is another one on the new side."""
        return bool(self.old and self.new and self.old.path != self.new.path)

    @property
    def sort_key(self) -> tuple[int, str]:
        return KINDS.index(self.kind), self.name

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "name": self.name, "status": self.status,
            "renamed_from": self.renamed_from,
            "old": self.old.to_dict() if self.old else None,
            "new": self.new.to_dict() if self.new else None,
            "bump": {"declared": self.declared_bump, "required": self.required_bump,
                     "reasons": list(self.reasons),
                     "override": self.override.to_dict() if self.override else None},
            "changes": {
                "templates": [{"role": t.role, "whitespace_only": t.whitespace_only,
                               "diff": "\n".join(t.lines),
                               "word_diff": "\n".join(t.marked)} for t in self.templates],
                "params": [_change(c) for c in self.params],
                "fields": [_change(c) for c in self.fields],
                "refs": [_change(c) for c in self.refs],
                "tool_parameters": list(self.tool_parameters),
                "output_schema": list(self.output_schema),
            },
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class Affected:
    """A prompt whose behaviour changes (or may lag) because of a change to what it pins."""

    prompt: str  # name@version
    via: str  # kind/name@version
    reason: str
    old_fingerprint: str | None = None
    new_fingerprint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"prompt": self.prompt, "via": self.via, "reason": self.reason,
                "old_fingerprint": self.old_fingerprint, "new_fingerprint": self.new_fingerprint}


@dataclass
class Report:
    base: Revision
    head: Revision
    artifacts: list[ArtifactDiff] = field(default_factory=list)
    affected: list[Affected] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # all of them, artifacts' included
    head_prompts: set[str] = field(default_factory=set)  # prompt names of the new side

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def passed(self) -> bool:
        return not self.errors

    def counts(self) -> dict[str, int]:
        counts = {status: 0 for status in STATUSES}
        for item in self.artifacts:
            counts[item.status] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "base": _revision(self.base),
            "head": _revision(self.head),
            "summary": {**self.counts(), "affected": len(self.affected),
                        "errors": len(self.errors), "warnings": len(self.warnings),
                        "passed": self.passed},
            "artifacts": [a.to_dict() for a in self.artifacts],
            "affected": [a.to_dict() for a in self.affected],
            "findings": [f.to_dict() for f in self.findings],
        }


def _revision(rev: Revision) -> dict[str, Any]:
    return {"rev": rev.label, "commit": rev.commit}


def _change(change: ValueChange) -> dict[str, Any]:
    return {"name": change.name, "old": change.old, "new": change.new}
