"""The required version bump of a change (DESIGN §3, a contract) and the checks on it.

:func:`required_bump` compares two versions of one artifact field by field and
returns the smallest bump the change needs, with a human reason for each
finding ("input variable `order_id` removed → major"). :func:`policy_findings`
turns a pairing of old and new into check failures: declared bump too small,
content changed without a version change, version decreased, and a released
version whose content changed.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import semver

from promptctl.errors import ValidationError
from promptctl.findings import Finding
from promptctl.model import ArtifactBase, Index, Message, ModelConfig, Prompt, Ref, Snippet, Tool
from promptctl.review.textdiff import whitespace_only

_WS = re.compile(r"\s+")

LEVELS: tuple[str, ...] = ("none", "patch", "minor", "major")
COMMON_FIELDS = ("kind", "name", "version", "description", "metadata")


def level_index(level: str) -> int:
    return LEVELS.index(level)


@dataclass
class Bump:
    """The required bump and why: each reason ends in ``→ level``."""

    level: str = "none"
    reasons: list[str] = field(default_factory=list)

    def need(self, level: str, reason: str) -> None:
        self.reasons.append(f"{reason} → {level}")
        if level_index(level) > level_index(self.level):
            self.level = level


def declared_bump(old_version: str, new_version: str) -> str:
    """The bump the author declared: which semver component went up (``none`` if equal)."""
    old, new = semver.Version.parse(old_version), semver.Version.parse(new_version)
    if new.major != old.major:
        return "major"
    if new.minor != old.minor:
        return "minor"
    if new.patch != old.patch or new != old:
        return "patch"
    return "none"


def required_bump(old: ArtifactBase, new: ArtifactBase) -> Bump:
    """The smallest bump that the change from ``old`` to ``new`` requires."""
    bump = Bump()
    if old.kind != new.kind:
        bump.need("major", f"kind changed from {old.kind} to {new.kind}")
        return bump
    if old.description != new.description:
        _text_change(bump, "description", old.description, new.description, "patch")
    if old.metadata != new.metadata:
        bump.need("patch", "metadata changed")
    checker = _CHECKERS[type(new)]
    checker(bump, old, new)
    return bump


# -- per kind -----------------------------------------------------------------------------------


def _prompt(bump: Bump, old: Prompt, new: Prompt) -> None:
    _variables(bump, old, new)
    if old.template.messages is None and new.template.messages is None:
        for role in ("system", "user"):
            before, after = getattr(old.template, role), getattr(new.template, role)
            if before == after:
                continue
            if before is None or after is None:
                verb = "added" if before is None else "removed"
                bump.need("minor", f"{role} template {verb}")
            else:
                _text_change(bump, f"{role} template text", before, after, "minor")
        if old.format != new.format:
            _format_change(bump, "prompt", old.format, new.format)
    else:
        _messages(bump, old, new)
    _snippet_refs(bump, old.snippet_refs(), new.snippet_refs())
    _ref_change(bump, "model", Ref.parse(old.model), Ref.parse(new.model))
    _ref_lists(bump, "tool", old.tools, new.tools)
    old_index = Ref.parse(old.index) if old.index else None
    new_index = Ref.parse(new.index) if new.index else None
    if old_index and new_index:
        _ref_change(bump, "index", old_index, new_index)
    elif old_index or new_index:
        verb = "added" if new_index else "removed"
        changed = new_index or old_index
        assert changed is not None
        bump.need("minor" if new_index else "major", f"index `{changed.name}` "
                  f"{verb}")
    _output_schema(bump, old.output_schema or None, new.output_schema or None)


def _variables(bump: Bump, old: Prompt, new: Prompt) -> None:
    for name in sorted(set(old.variables) | set(new.variables)):
        before, after = old.variables.get(name), new.variables.get(name)
        if before == after:
            continue
        if before is None:
            assert after is not None
            if after.required:
                bump.need("major", f"input variable `{name}` added without default")
            else:
                bump.need("minor", f"optional input variable `{name}` added")
        elif after is None:
            bump.need("major", f"input variable `{name}` removed")
        elif before.short_type != after.short_type:
            bump.need("major", f"input variable `{name}` retyped from {before.short_type} to "
                      f"{after.short_type}")
        elif before.schema_ != after.schema_:
            if after.schema_ is None:
                bump.need("minor", f"JSON Schema of input variable `{name}` removed (more "
                          "values accepted)")
            else:
                verb = "added" if before.schema_ is None else "changed"
                bump.need("major", f"JSON Schema of input variable `{name}` {verb} (values "
                          "accepted before may be refused)")
        elif before.required != after.required:
            if after.required:
                bump.need("major", f"input variable `{name}` lost its default (now required)")
            else:
                bump.need("minor", f"input variable `{name}` got a default (now optional)")
        elif before.default != after.default:
            bump.need("minor", f"default of input variable `{name}` changed")
        else:
            bump.need("patch", f"description of input variable `{name}` changed")


# -- messages, formats and snippets (docs/review.md, "Messages, files, formats, snippets") -----

_Slot = tuple[str, str, str, str | None]  # (role or "placeholder", content or name, format, file)


def _slots(prompt: Prompt) -> list[_Slot]:
    """Each message as ``(role, text, effective format, file)``; a placeholder as
    ``("placeholder", name, "", None)``."""
    out: list[_Slot] = []
    for _, m in prompt.template.items():
        if m.placeholder is not None:
            out.append(("placeholder", m.placeholder, "", None))
        else:
            out.append((str(m.role), str(m.content), prompt.format_of(m), m.file))
    return out


def _messages(bump: Bump, old: Prompt, new: Prompt) -> None:
    """Rules for ``template.messages`` (either side may be the short form)."""
    before, after = _slots(old), _slots(new)
    _placeholders(bump, old.template.placeholders(), new.template.placeholders())
    if [s[:3] for s in before] == [s[:3] for s in after]:
        if old.template.messages is None or new.template.messages is None:
            bump.need("patch", "template rewritten between the short form and messages, "
                      "same messages")
        for i, (a, b) in enumerate(zip(before, after, strict=True)):
            if a[3] != b[3]:
                bump.need("patch", f"message {i + 1} ({a[0]}) read from another file, "
                          "same text")
        return
    texts_a = [s for s in before if s[0] != "placeholder"]
    texts_b = [s for s in after if s[0] != "placeholder"]
    if sorted(s[:3] for s in before) == sorted(s[:3] for s in after):
        bump.need("minor", "messages reordered")
        return
    if [s[0] for s in texts_a] == [s[0] for s in texts_b]:
        same_set = set(old.template.placeholders()) == set(new.template.placeholders())
        order = [s[:2] for s in before if s[0] == "placeholder"] != \
            [s[:2] for s in after if s[0] == "placeholder"] or \
            [s[0] for s in before] != [s[0] for s in after]
        if same_set and order:
            bump.need("minor", "placeholder moved: messages reordered")
        for i, (a, b) in enumerate(zip(texts_a, texts_b, strict=True)):
            what = f"message {i + 1} ({a[0]})"
            if a[2] != b[2]:
                _format_change(bump, what, a[2], b[2])
            elif a[1] != b[1]:
                _text_change(bump, f"{what} text", a[1], b[1], "minor")
        return
    matcher = difflib.SequenceMatcher(a=[s[:2] for s in texts_a], b=[s[:2] for s in texts_b],
                                      autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        if op == "replace" and i2 - i1 == j2 - j1:
            for a, b in zip(texts_a[i1:i2], texts_b[j1:j2], strict=True):
                if a[0] == b[0]:
                    _text_change(bump, f"{a[0]} message text", a[1], b[1], "minor")
                else:
                    bump.need("minor", f"message role changed from {a[0]} to {b[0]}")
            continue
        for a in texts_a[i1:i2]:
            bump.need("minor", f"{a[0]} message removed")
        for b in texts_b[j1:j2]:
            bump.need("minor", f"{b[0]} message added")


def _placeholders(bump: Bump, old: dict[str, Message], new: dict[str, Message]) -> None:
    for name in sorted(set(old) | set(new)):
        before, after = old.get(name), new.get(name)
        if before is None:
            assert after is not None
            if after.required:
                bump.need("major", f"placeholder `{name}` added without default")
            else:
                bump.need("minor", f"optional placeholder `{name}` added")
        elif after is None:
            bump.need("major", f"placeholder `{name}` removed")
        elif before.required != after.required:
            if after.required:
                bump.need("major", f"placeholder `{name}` lost its default (now required)")
            else:
                bump.need("minor", f"placeholder `{name}` got a default (now optional)")
        elif before.default != after.default:
            bump.need("minor", f"default of placeholder `{name}` changed")


def _format_change(bump: Bump, what: str, before: str | None, after: str | None) -> None:
    bump.need("minor", f"format of {what} changed from {before or 'jinja'} to "
              f"{after or 'jinja'}")


def _snippet_refs(bump: Bump, old: list[Ref], new: list[Ref]) -> None:
    """A snippet ref bump needs at least the snippet's own bump; adding or removing a
    snippet changes the text sent, so it is minor."""
    before = {r.name: r for r in old}
    after = {r.name: r for r in new}
    for name in sorted(set(before) | set(after)):
        if name not in before:
            bump.need("minor", f"snippet `{after[name]}` added")
        elif name not in after:
            bump.need("minor", f"snippet `{before[name]}` removed")
        else:
            _ref_change(bump, "snippet", before[name], after[name])


def _snippet(bump: Bump, old: Snippet, new: Snippet) -> None:
    if old.format != new.format:
        _format_change(bump, "snippet", old.format, new.format)
    elif old.text != new.text:
        _text_change(bump, "snippet text", old.text, new.text, "minor")
    elif old.file != new.file:
        bump.need("patch", "snippet read from another file, same text")
    _snippet_refs(bump, old.snippet_refs(), new.snippet_refs())


def _ref_change(bump: Bump, kind: str, old: Ref, new: Ref) -> None:
    if old == new:
        return
    if old.name != new.name:
        bump.need("minor", f"{kind} changed from `{old}` to `{new}`")
        return
    level = declared_bump(old.version, new.version)
    bump.need(level, f"{kind} ref `{old.name}` moved from {old.version} to {new.version}")


def _ref_lists(bump: Bump, kind: str, old: list[str], new: list[str]) -> None:
    before = {r.name: r for r in map(Ref.parse, old)}
    after = {r.name: r for r in map(Ref.parse, new)}
    for name in sorted(set(before) | set(after)):
        if name not in before:
            bump.need("minor", f"{kind} `{after[name]}` added")
        elif name not in after:
            bump.need("major", f"{kind} `{before[name]}` removed")
        else:
            _ref_change(bump, kind, before[name], after[name])
    if [r.name for r in map(Ref.parse, old)] != [r.name for r in map(Ref.parse, new)] and \
            set(before) == set(after):
        bump.need("patch", f"{kind}s reordered")


def _model(bump: Bump, old: ModelConfig, new: ModelConfig) -> None:
    for name in ("provider", "model"):
        if getattr(old, name) != getattr(new, name):
            before, after = getattr(old, name), getattr(new, name)
            bump.need("minor", f"{name} changed from `{before}` to `{after}`")
    for name in sorted(set(old.params) | set(new.params)):
        before, after = old.params.get(name, _MISSING), new.params.get(name, _MISSING)
        if before != after:
            bump.need("minor", f"parameter `{name}` changed from {_show(before)} to {_show(after)}")


def _tool(bump: Bump, old: Tool, new: Tool) -> None:
    for change, level in tool_schema_changes(old.parameters, new.parameters):
        bump.need(level, change)


def _index(bump: Bump, old: Index, new: Index) -> None:
    for name in ("backend", "uri", "embedding_model", "build", "dimensions"):
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            label = name.replace("_", " ")
            bump.need("minor", f"{label} changed from {_show(before)} to {_show(after)}")


def _eval(bump: Bump, old: Any, new: Any) -> None:
    """An eval suite: another prompt is major; cases, assertions, thresholds, the dataset
    or the provider changed are minor (the gate's evidence changes)."""
    if old.prompt != new.prompt:
        bump.need("major", f"evaluated prompt changed from {old.prompt} to {new.prompt}")
    old_cases = {c.name: c for c in old.all_cases()}
    new_cases = {c.name: c for c in new.all_cases()}
    added, removed = sorted(new_cases.keys() - old_cases.keys()), \
        sorted(old_cases.keys() - new_cases.keys())
    changed = sorted(n for n in new_cases.keys() & old_cases.keys()
                     if new_cases[n] != old_cases[n])
    for what, names in (("added", added), ("removed", removed), ("changed", changed)):
        if names:
            more = f" and {len(names) - 3} more" if len(names) > 3 else ""
            bump.need("minor", f"case(s) {what}: {', '.join(names[:3])}{more}")
    if old.thresholds != new.thresholds:
        bump.need("minor", "gate thresholds changed")
    if old.provider != new.provider:
        bump.need("minor", "provider changed")


_CHECKERS: dict[type, Any] = {Prompt: _prompt, ModelConfig: _model, Tool: _tool, Index: _index,
                              Snippet: _snippet}


def _register_eval() -> None:
    from promptctl.evals.suite import EvalSuite

    _CHECKERS[EvalSuite] = _eval


_register_eval()


# -- schemas ------------------------------------------------------------------------------------


def tool_schema_changes(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str]]:
    """``(change, level)`` for a tool's parameter schema: required set, params, types."""
    changes: list[tuple[str, str]] = []
    old_props, new_props = old.get("properties") or {}, new.get("properties") or {}
    old_req, new_req = set(old.get("required") or []), set(new.get("required") or [])
    for name in sorted(set(old_props) | set(new_props)):
        before, after = old_props.get(name), new_props.get(name)
        if before == after:
            continue
        if before is None:
            required = name in new_req
            changes.append((f"{'required' if required else 'optional'} parameter `{name}` added",
                            "major" if required else "minor"))
        elif after is None:
            changes.append((f"parameter `{name}` removed", "major"))
        elif _type_of(before) != _type_of(after):
            retyped = f"from {_type_of(before)} to {_type_of(after)}"
            changes.append((f"parameter `{name}` retyped {retyped}", "major"))
        elif _without_descriptions(before) == _without_descriptions(after):
            changes.append((f"description of parameter `{name}` changed", "patch"))
        else:
            changes.append((f"schema of parameter `{name}` changed", "minor"))
    for name in sorted(new_req - old_req):
        if name in old_props:
            changes.append((f"parameter `{name}` made required", "major"))
    for name in sorted(old_req - new_req):
        if name in new_props:
            changes.append((f"parameter `{name}` made optional", "major"))
    rest_old = {k: v for k, v in old.items() if k not in ("properties", "required")}
    rest_new = {k: v for k, v in new.items() if k not in ("properties", "required")}
    if rest_old != rest_new:
        changes.append(("parameter schema keywords changed", "minor"))
    return changes


def output_schema_changes(
    old: dict[str, Any] | None, new: dict[str, Any] | None, where: str = "output"
) -> list[tuple[str, str]]:
    """``(change, level)``: major when an answer valid for the new schema may break old readers.

    A reader written against the old schema relies on its properties, types,
    required fields and enums; removing or loosening any of them is incompatible.
    """
    if old == new:
        return []
    if old is None:
        return [("output schema added", "minor")]
    if new is None:
        return [("output schema removed", "major")]
    changes: list[tuple[str, str]] = []
    if _type_of(old) != _type_of(new):
        return [(f"{where} type changed from {_type_of(old)} to {_type_of(new)}", "major")]
    old_props, new_props = old.get("properties") or {}, new.get("properties") or {}
    old_req, new_req = set(old.get("required") or []), set(new.get("required") or [])
    for name in sorted(set(old_props) | set(new_props)):
        before, after = old_props.get(name), new_props.get(name)
        if before is None:
            changes.append((f"{where} property `{name}` added", "minor"))
        elif after is None:
            changes.append((f"{where} property `{name}` removed", "major"))
        elif before != after:
            changes += output_schema_changes(before, after, f"{where}.{name}")
    for name in sorted(old_req - new_req):
        changes.append((f"{where} property `{name}` no longer required", "major"))
    for name in sorted(new_req - old_req):
        changes.append((f"{where} property `{name}` now required", "minor"))
    if "enum" in old or "enum" in new:
        old_enum, new_enum = old.get("enum"), new.get("enum")
        if old_enum is not None and (new_enum is None or set(map(str, new_enum))
                                     - set(map(str, old_enum))):
            changes.append((f"{where} enum widened", "major"))
        elif old_enum != new_enum:
            changes.append((f"{where} enum narrowed", "minor"))
    if old.get("items") != new.get("items") and isinstance(old.get("items"), dict):
        changes += output_schema_changes(old["items"], new.get("items") or {}, f"{where}[]")
    handled = {"type", "properties", "required", "enum", "items", "description", "title"}
    if {k: v for k, v in old.items() if k not in handled} != \
            {k: v for k, v in new.items() if k not in handled}:
        changes.append((f"{where} schema keywords changed", "minor"))
    if not changes:
        changes.append((f"{where} schema descriptions changed", "patch"))
    return changes


def _output_schema(bump: Bump, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    for change, level in output_schema_changes(old, new):
        bump.need(level, change)


# -- policy -------------------------------------------------------------------------------------


def policy_findings(
    old: ArtifactBase, new: ArtifactBase, path: str, bump: Bump,
    released_hash: str | None, released: bool, override: BumpOverride | None = None,
) -> list[Finding]:
    """Check failures for one changed artifact (empty when the change is versioned right).

    A declared ``override`` no smaller than the version's bump turns "bump too
    small" into a warning; it never excuses an unchanged or decreased version.
    """
    what = f"{new.kind}/{new.name}"
    old_v, new_v = semver.Version.parse(old.version), semver.Version.parse(new.version)
    changed = old.content_hash() != new.content_hash()
    findings = []
    if new_v < old_v:
        findings.append(_fail(path, "version-decreased",
                              f"{what}: version decreased {old.version} → {new.version}",
                              f"use a version above {old.version}"))
        return findings
    if new_v == old_v:
        if not changed:
            return []
        if released:
            hashes = f" (released {released_hash[:12]}, now {new.content_hash()[:12]})" \
                if released_hash else ""
            findings.append(_fail(path, "released-modified",
                                  f"{what}@{new.version} is released and immutable, but its "
                                  f"content changed{hashes}",
                                  f"bump the version ({bump.level} required)"))
        else:
            findings.append(_fail(path, "version-unchanged",
                                  f"{what}: content changed without a version change "
                                  f"({bump.level} required: {'; '.join(bump.reasons)})",
                                  f"bump the version ({bump.level} required)"))
        return findings
    declared = declared_bump(old.version, new.version)
    if level_index(declared) < level_index(bump.level):
        finding = _fail(path, "bump-too-small",
                        f"{what}: declared {declared} bump ({old.version} → {new.version}) "
                        f"but {bump.level} is required: {'; '.join(bump.reasons)}",
                        f"set version to {suggest_version(old.version, bump.level)}")
        if override is not None and level_index(declared) >= level_index(override.level):
            finding = override_finding(new, path, finding, override)
        findings.append(finding)
    return findings


def release_findings(new: ArtifactBase, path: str, released_hash: str | None) -> list[Finding]:
    """A released version (git tag with a content hash) whose file now differs."""
    if released_hash is None or released_hash == new.content_hash():
        return []
    return [_fail(path, "released-modified",
                  f"{new.kind}/{new.name}@{new.version} is released and immutable, but its "
                  f"content changed (released {released_hash[:12]}, now "
                  f"{new.content_hash()[:12]})", "bump the version")]


def suggest_version(version: str, level: str) -> str:
    v = semver.Version.parse(version)
    bumped = {"major": v.bump_major, "minor": v.bump_minor}.get(level, v.bump_patch)()
    return str(bumped)


# -- declared overrides (docs/review.md, "Declaring a smaller bump") -----------------------------

_FILE_DIRECTIVE = re.compile(r"^[ \t]*#[ \t]*promptctl:(.*)$", re.M)
_FILE_OVERRIDE = re.compile(
    r"^\s*bump=(patch|minor|major)\s+reason=(?:\"([^\"]*)\"|'([^']*)')\s*$")
_TRAILER = re.compile(r"^promptctl-bump:[ \t]*(.*)$", re.M | re.I)
_TRAILER_VALUE = re.compile(r"^([a-z]+)/([a-z0-9][a-z0-9._-]*)\s+(patch|minor|major):\s*(\S.*)$")


@dataclass(frozen=True)
class BumpOverride:
    """An author's declaration that a change needs only ``level``, and why."""

    level: str
    reason: str
    source: str  # "file" or "commit <short id>"

    def to_dict(self) -> dict[str, str]:
        return {"level": self.level, "reason": self.reason, "source": self.source}


def file_override(text: str) -> BumpOverride | None:
    """The ``# promptctl: bump=LEVEL reason="..."`` comment of an artifact file.

    A YAML comment is not content, so declaring it changes no content hash. A
    malformed directive or an empty reason is a :class:`ValidationError`.
    """
    found = None
    for match in _FILE_DIRECTIVE.finditer(text):
        parsed = _FILE_OVERRIDE.match(match.group(1))
        reason = (parsed.group(2) or parsed.group(3) or "").strip() if parsed else ""
        if parsed is None or not reason:
            raise ValidationError(f"malformed override comment {match.group(0).strip()!r}: "
                                  "write `# promptctl: bump=patch reason=\"why\"`")
        found = BumpOverride(parsed.group(1), reason, "file")
    return found


def commit_overrides(messages: list[tuple[str, str]]) -> dict[str, BumpOverride]:
    """``Promptctl-Bump: kind/name level: reason`` trailers of ``(commit, message)`` pairs,
    by ``kind/name``; the newest commit (first in the list) wins."""
    found: dict[str, BumpOverride] = {}
    for commit, message in messages:
        for match in _TRAILER.finditer(message):
            parsed = _TRAILER_VALUE.match(match.group(1).strip())
            if parsed is None or parsed.group(1) not in ("prompt", "model", "tool", "index"):
                raise ValidationError(f"malformed trailer {match.group(0).strip()!r} in commit "
                                      f"{commit[:10]}: write `Promptctl-Bump: prompt/NAME patch: "
                                      "why`")
            label = f"{parsed.group(1)}/{parsed.group(2)}"
            found.setdefault(label, BumpOverride(parsed.group(3), parsed.group(4).strip(),
                                                 f"commit {commit[:10]}"))
    return found


def declared_override(label: str, new_text: str | None, old_text: str | None,
                      messages: list[tuple[str, str]]) -> BumpOverride | None:
    """The smaller bump the author declared for ``label`` (``kind/name``) in this change.

    The file's comment counts only when this change adds or edits it (a comment
    left from an earlier change must not excuse the next one); else a commit
    trailer in the compared commits counts. ``release`` records what this returns.
    """
    in_file = file_override(new_text) if new_text else None
    if in_file is not None and (old_text is None or file_override(old_text) != in_file):
        return in_file
    return commit_overrides(messages).get(label)


def override_finding(new: ArtifactBase, path: str, finding: Finding,
                     override: BumpOverride) -> Finding:
    """A ``bump-too-small`` error that the author's override turns into a warning."""
    return Finding("warning", "bump-override", path,
                   f"{finding.message}; accepted as {override.level} by the author's override "
                   f"({override.source}): {override.reason}", "version",
                   "remove the override if the change is not " + override.level)


# -- helpers ------------------------------------------------------------------------------------


class _Missing:
    def __repr__(self) -> str:
        return "(unset)"


_MISSING = _Missing()


def _show(value: Any) -> str:
    if value is _MISSING or value is None:
        return "(unset)"
    return f"`{json.dumps(value, sort_keys=True, ensure_ascii=False)}`"


def _text_change(bump: Bump, what: str, before: str, after: str, level: str) -> None:
    """Callers pass two different texts."""
    if whitespace_only(before, after):
        bump.need("patch", f"{what}: whitespace only")
        return
    corrected = patch_level_edit(before, after)
    if corrected is None:
        bump.need(level, f"{what} changed")
    elif corrected:
        bump.need("patch", f"{what}: punctuation, letter case, markup or {corrected} "
                  "small word correction(s) only")
    else:
        bump.need("patch", f"{what}: punctuation, letter case or markup only")


# -- patch-level text edits (docs/review.md, "Patch-level text edits") ---------------------------

_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)
_LINE_MARKUP = re.compile(r"^[ \t]*(?:#{1,6}[ \t]+|>[ \t]?|[-*+•][ \t]+|\d+[.)][ \t]+)+", re.M)
# Punctuation and inline markup an edit may change freely (ellipsis, dashes, curly quotes too).
SOFT_SYMBOLS = ".,;:!?'\"()*_~`-\u2026\u2013\u2014\u2018\u2019\u201c\u201d\u00ab\u00bb"
_EDIT_TOKEN = re.compile(r"[^\W_]+|[^\w\s" + re.escape(SOFT_SYMBOLS) + "]")
# Words whose small edit flips the meaning ("not" → "now", "must" → "just"): never a typo fix.
GUARDED_WORDS = frozenset((
    "no", "not", "nor", "never", "none", "nothing", "nobody", "neither", "cannot", "can",
    "cant", "don", "doesn", "didn", "isn", "aren", "wasn", "weren", "won", "wouldn", "shouldn",
    "couldn", "mustn", "t", "always", "must", "should", "shall", "may", "might", "will", "would",
    "all", "any", "only", "more", "less", "most", "least", "yes", "some", "each", "every"))
TYPO_SHARE = 0.10  # at most this share of the text's words may be corrected ...
TYPO_MIN_ALLOWANCE = 3  # ... or this many, whichever is more


def patch_level_edit(old: str, new: str) -> int | None:
    """How many words a patch-level edit corrects; ``None`` when the edit is not patch-level.

    Patch-level (docs/review.md): Jinja tags unchanged; apart from whitespace,
    punctuation, letter case and markdown markup, the same words and symbols in
    the same order, except at most max(3, 10 %) words each corrected by a small
    spelling fix (see :func:`small_correction`); or words only split or joined.
    """
    if [_WS.sub(" ", t) for t in _JINJA.findall(old)] != \
            [_WS.sub(" ", t) for t in _JINJA.findall(new)]:
        return None
    a, b = _edit_tokens(old), _edit_tokens(new)
    corrected = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        before, after = a[i1:i2], b[j1:j2]
        if before and after and all(w.isalnum() for w in before + after) and \
                "".join(before) == "".join(after):  # "e-mail" → "email", "everyday" → "every day"
            corrected += 1
        elif len(before) == len(after) and all(map(small_correction, before, after)):
            corrected += len(before)
        else:
            return None
    words = sum(t.isalnum() for t in a)
    return corrected if corrected <= max(TYPO_MIN_ALLOWANCE, int(words * TYPO_SHARE)) else None


def small_correction(old: str, new: str) -> bool:
    """A spelling fix of one (case-folded) word: no digits, no guarded word, edit distance
    (Damerau-Levenshtein, optimal string alignment) ≤ 1 for words of up to 6 letters, ≤ 2
    for longer ones."""
    if not (old.isalpha() and new.isalpha()) or old in GUARDED_WORDS or new in GUARDED_WORDS:
        return False
    return edit_distance(old, new) <= (1 if max(len(old), len(new)) <= 6 else 2)


def edit_distance(a: str, b: str) -> int:
    """Optimal-string-alignment distance: insertions, deletions, substitutions, transpositions."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def _edit_tokens(text: str) -> list[str]:
    """Case-folded words and significant symbols; Jinja tags become one placeholder each."""
    text = _LINE_MARKUP.sub("", _JINJA.sub(" \x00 ", text))
    return [t.casefold() for t in _EDIT_TOKEN.findall(text)]


def _type_of(schema: Any) -> str:
    if not isinstance(schema, dict):
        return "any"
    value = schema.get("type", "any")
    return "|".join(sorted(value)) if isinstance(value, list) else str(value)


def _without_descriptions(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _without_descriptions(v) for k, v in schema.items()
                if k not in ("description", "title", "examples")}
    if isinstance(schema, list):
        return [_without_descriptions(v) for v in schema]
    return schema


def _fail(path: str, code: str, message: str, fix: str) -> Finding:
    return Finding("error", code, path, message, "version", fix)
