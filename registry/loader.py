"""Load and validate registry content from files (or any ``(path, text)`` source).

Loading never stops at the first problem: every file is read and every problem
becomes a :class:`~promptctl.findings.Finding` naming the file, the field and the
fix, so ``promptctl lint`` reports all of them in one run. ``load_sources`` is
pure (it takes texts), which lets ``diff`` load a registry straight from git
objects without touching the working tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from jinja2 import TemplateSyntaxError
from pydantic import ValidationError as PydanticValidationError

from promptctl.findings import Finding
from promptctl.model import (
    ARTIFACT_CLASSES,
    KINDS,
    ArtifactBase,
    ArtifactKey,
    Prompt,
    suffix_of,
)
from promptctl.templating import syntax_error_message, template_variables
from promptctl.yaml_io import load_yaml, yaml_error_message


@dataclass(frozen=True)
class Located:
    """An artifact and the file it came from (relative to the repo root)."""

    artifact: ArtifactBase
    path: str


@dataclass
class LoadResult:
    artifacts: list[Located] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def by_key(self) -> dict[ArtifactKey, Located]:
        return {item.artifact.key: item for item in self.artifacts}


def kind_of_path(path: str) -> str | None:
    """The kind a file's suffix declares, or ``None`` for other files."""
    for kind in KINDS:
        if path.endswith(suffix_of(kind)):
            return kind
    return None


def registry_files(root: Path) -> list[Path]:
    """Every artifact file below ``root``, in a stable order."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*.yaml") if p.is_file() and kind_of_path(p.name))


def load_directory(root: Path, relative_to: Path | None = None) -> LoadResult:
    """Load every artifact file below ``root``; paths are reported relative to ``relative_to``."""
    base = relative_to or root
    sources = []
    for path in registry_files(root):
        try:
            rel = path.relative_to(base).as_posix()
        except ValueError:
            rel = path.as_posix()
        sources.append((rel, path.read_text(encoding="utf-8")))
    return load_sources(sources)


def load_sources(sources: Iterable[tuple[str, str]]) -> LoadResult:
    """Parse ``(path, text)`` pairs into artifacts, collecting findings."""
    result = LoadResult()
    for path, text in sources:
        artifact, findings = parse_document(path, text)
        result.findings.extend(findings)
        if artifact is not None:
            result.artifacts.append(Located(artifact, path))
    result.findings.extend(duplicate_findings(result.artifacts))
    return result


def parse_document(path: str, text: str) -> tuple[ArtifactBase | None, list[Finding]]:
    """Parse one file into an artifact, or return the findings that prevent it."""
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        return None, [_error(path, "yaml", yaml_error_message(exc), fix="correct the YAML syntax")]
    if not isinstance(data, dict):
        return None, [_error(path, "not-a-mapping", "file must hold one YAML mapping")]
    kind = data.get("kind")
    if kind not in ARTIFACT_CLASSES:
        return None, [
            _error(path, "unknown-kind", f"unknown kind {kind!r}", "kind",
                   f"use one of: {', '.join(KINDS)}")
        ]
    expected = kind_of_path(path)
    if expected is not None and expected != kind:
        return None, [
            _error(path, "kind-suffix", f"kind {kind!r} does not match the file suffix",
                   "kind", f"rename the file to *{suffix_of(kind)} or set kind: {expected}")
        ]
    try:
        artifact = ARTIFACT_CLASSES[kind].model_validate(data)
    except PydanticValidationError as exc:
        return None, _pydantic_findings(path, ARTIFACT_CLASSES[kind], exc)
    findings = _template_findings(path, artifact) if isinstance(artifact, Prompt) else []
    return (None if any(f.severity == "error" for f in findings) else artifact), findings


def check_refs(
    artifacts: list[Located], is_released: Callable[[ArtifactKey], bool] | None = None
) -> list[Finding]:
    """Findings for prompt refs that exist neither in the tree nor among releases."""
    present = {item.artifact.key for item in artifacts}
    findings = []
    for item in artifacts:
        for kind, ref in item.artifact.refs():
            key = ArtifactKey(kind, ref.name, ref.version)
            if key in present or (is_released is not None and is_released(key)):
                continue
            known = sorted(k.version for k in present if k.kind == kind and k.name == ref.name)
            fix = f"pin one of: {', '.join(known)}" if known else f"add a {kind} named {ref.name}"
            findings.append(
                _error(item.path, "unknown-ref", f"{kind} {ref} does not exist",
                       "tools" if kind == "tool" else kind, fix)
            )
    return findings


def duplicate_findings(artifacts: list[Located]) -> list[Finding]:
    """Findings for a (kind, name, version) defined by more than one file."""
    first: dict[ArtifactKey, str] = {}
    findings = []
    for item in artifacts:
        key = item.artifact.key
        if key in first:
            findings.append(
                _error(item.path, "duplicate", f"{key} is also defined in {first[key]}",
                       "version", "bump the version of one of them or delete one")
            )
        else:
            first[key] = item.path
    return findings


def _template_findings(path: str, prompt: Prompt) -> list[Finding]:
    findings = []
    used: set[str] = set()
    for role, source in prompt.template.parts():
        try:
            used |= template_variables(source)
        except TemplateSyntaxError as exc:
            findings.append(_error(path, "template-syntax", syntax_error_message(exc),
                                   f"template.{role}", "fix the Jinja2 syntax"))
    if findings:
        return findings
    for name in sorted(used - set(prompt.variables)):
        findings.append(_error(path, "undeclared-variable",
                               f"template uses variable `{name}` that is not declared",
                               "variables", f"declare it: variables: {{{name}: {{type: string}}}}"))
    for name in sorted(set(prompt.variables) - used):
        findings.append(Finding("warning", "unused-variable", path,
                                f"variable `{name}` is declared but never used",
                                f"variables.{name}", "use it in a template or remove it"))
    return findings


def _pydantic_findings(
    path: str, cls: type[ArtifactBase], exc: PydanticValidationError
) -> list[Finding]:
    allowed = ", ".join(cls.model_fields)
    findings = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or None
        kind = err["type"]
        if kind == "extra_forbidden":
            fix = f"remove it (allowed: {allowed})" if len(err["loc"]) == 1 else "remove it"
            findings.append(_error(path, "unknown-field", "unknown field", loc, fix))
        elif kind == "missing":
            findings.append(_error(path, "missing-field", "required field is missing", loc,
                                   "add it"))
        else:
            findings.append(_error(path, "invalid-field", _clean_message(err), loc, None))
    return findings


def _clean_message(err: dict[str, Any]) -> str:
    message = str(err["msg"])
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _error(
    path: str, code: str, message: str, field_name: str | None = None, fix: str | None = None
) -> Finding:
    return Finding("error", code, path, message, field_name, fix)
