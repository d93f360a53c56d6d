"""Load and validate registry content from files (or any ``(path, text or bytes)`` source).

Loading never stops at the first problem: every file is read and every problem
becomes a :class:`~promptctl.findings.Finding` naming the file, the field and the
fix, so ``promptctl lint`` reports all of them in one run. ``load_sources`` is
pure (it takes texts or bytes), which lets ``diff`` load a registry straight from
git objects without touching the working tree.

Files come from pull requests, so reading is defensive: symlinks are reported,
never followed; a file's size is checked before it is read; bytes must be UTF-8
text; the YAML reader (:mod:`promptctl.yaml_io`) is bounded and admits only JSON
data; a file whose suffix is almost right (``x.prompt.yml``) is an error rather
than silently skipped. The bounds come from :class:`~promptctl.limits.Limits`.
"""

from __future__ import annotations

import codecs
import os
import posixpath
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml
from jinja2 import TemplateSyntaxError
from pydantic import ValidationError as PydanticValidationError

from promptctl.evals.dataset import DatasetProblem, Reader, attach
from promptctl.evals.suite import EvalSuite  # registers the eval kind
from promptctl.findings import Finding
from promptctl.limits import DEFAULT_LIMITS, Limits
from promptctl.model import (
    ARTIFACT_CLASSES,
    KINDS,
    ArtifactBase,
    ArtifactKey,
    Prompt,
    Snippet,
    suffix_of,
)
from promptctl.templating import (
    newline_of,
    syntax_error_message,
    template_complexity_findings,
    template_variables,
)
from promptctl.yaml_io import NotText, YamlRefused, decode_text, load_yaml, yaml_error_message

MAX_PATH_LENGTH = 512
"""Longest artifact path (the store's ``path`` column; SQLite would not enforce it)."""


@dataclass(frozen=True)
class Located:
    """An artifact and the file it came from (relative to the repo root)."""

    artifact: ArtifactBase
    path: str
    deps: tuple[str, ...] = ()
    """Other files under ``prompts/`` the artifact's content was read from (``{file:}``)."""


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


def misnamed_kind(path: str) -> str | None:
    """The kind a file *looks* meant to hold (``x.prompt.yml``, ``x.PROMPT.YAML``) when its
    suffix is not exactly the one that kind uses, else ``None``."""
    if kind_of_path(path):
        return None
    lowered = path.lower()
    for kind in KINDS:
        if lowered.endswith((f".{kind}.yaml", f".{kind}.yml")):
            return kind
    return None


def path_findings(path: str) -> list[Finding]:
    """Findings about a file's path alone: a suffix that would be silently skipped, or a
    path longer than the store keeps."""
    kind = misnamed_kind(path)
    if kind is not None:
        stem = path[: path.lower().rindex(f".{kind}.")]
        return [_error(path, "wrong-suffix",
                       f"{kind} files must use the {suffix_of(kind)} suffix (exactly, in lower "
                       "case): this file would be skipped", None,
                       f"rename it to {stem.rsplit('/', 1)[-1]}{suffix_of(kind)}")]
    if kind_of_path(path) and len(path) > MAX_PATH_LENGTH:
        return [_error(path, "path-too-long",
                       f"the path has {len(path)} characters: at most {MAX_PATH_LENGTH} are "
                       "allowed", None, "move the file to a shorter path")]
    return []


def symlink_finding(path: str) -> Finding:
    return _error(path, "symlink",
                  "is a symbolic link: promptctl never follows links (they can point out of "
                  "the repository, and a release could not be rebuilt from its tag)",
                  None, "replace the link with the file or folder itself")


def registry_files(root: Path) -> list[Path]:
    """Every artifact file below ``root`` that can be read, in a stable order."""
    return [path for _, path in scan_directory(root, root)[0]]


def scan_directory(root: Path, base: Path) -> tuple[list[tuple[str, Path]], list[Finding]]:
    """Artifact files below ``root`` as ``(path relative to base, path)``, and findings for
    what must not be skipped silently: symlinks (never followed), misnamed suffixes and
    artifact-named entries that are not regular files."""
    files: list[tuple[str, Path]] = []
    findings: list[Finding] = []
    if root.is_symlink():
        return [], [symlink_finding(_relative(root, base))]
    if not root.is_dir():
        return [], []
    folders = [root]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                path = Path(entry.path)
                rel = _relative(path, base)
                named = bool(kind_of_path(entry.name) or misnamed_kind(entry.name))
                if entry.is_symlink():
                    if named or entry.is_dir():
                        findings.append(symlink_finding(rel))
                elif entry.is_dir(follow_symlinks=False):
                    folders.append(path)
                elif not named:
                    continue
                elif not entry.is_file(follow_symlinks=False):
                    findings.append(_error(rel, "not-a-file", "is not a regular file", None,
                                           "replace it with a regular file"))
                elif path_problems := path_findings(rel):
                    findings.extend(path_problems)
                else:
                    files.append((rel, path))
    files.sort()
    findings.sort(key=lambda f: f.path)
    return files, findings


def read_file(path: Path, limits: Limits = DEFAULT_LIMITS) -> bytes:
    """The bytes of a regular file, refusing a symlink (``O_NOFOLLOW``) and checking the
    size before reading; raises :class:`Unreadable` with a one-line reason."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if path.is_symlink():
            raise Unreadable("symlink", "is a symbolic link") from None
        raise Unreadable("unreadable", f"cannot be read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable("not-a-file", "is not a regular file")
        check_size(info.st_size, limits)
        data = handle.read(limits.max_file_bytes + 1)
    check_size(len(data), limits)
    return data


class Unreadable(Exception):
    """A file that is not read; ``code`` and ``message`` make its finding."""

    def __init__(self, code: str, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.fix = code, message, fix

    def finding(self, path: str) -> Finding:
        if self.code == "symlink":
            return symlink_finding(path)
        return _error(path, self.code, self.message, None, self.fix)


def check_size(size: int, limits: Limits) -> None:
    """Raise :class:`Unreadable` when a file of ``size`` bytes is over the limit."""
    if size > limits.max_file_bytes:
        raise Unreadable("too-large", f"file is {size} bytes, more than the limit of "
                         f"{limits.max_file_bytes} bytes",
                         "shorten or split it, or raise PROMPTCTL_MAX_FILE_BYTES")


def _relative(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


class FileSource(Protocol):
    """Where ``{file: ...}`` content is read from: the disk, or one git revision."""

    @property
    def registry_dir(self) -> str:
        """The registry folder, relative to the repository root (``prompts``)."""
        ...

    def read(self, path: str) -> bytes:
        """The bytes of ``path`` (relative to the repository root); raises
        :class:`Unreadable` for a missing file, a symlink or one over the size limit."""
        ...


@dataclass(frozen=True)
class DiskFiles:
    """Content files in the working tree, read as artifact files are: no symlink (in the
    path or at its end) is followed, and the size is checked before reading."""

    root: Path
    registry_dir: str
    limits: Limits = DEFAULT_LIMITS

    def read(self, path: str) -> bytes:
        current = self.root
        for part in path.split("/")[:-1]:
            current = current / part
            if current.is_symlink():
                raise Unreadable("symlink", f"{path} lies in a symbolic link "
                                 f"({_relative(current, self.root)})")
        target = self.root / path
        if not target.exists() and not target.is_symlink():
            raise Unreadable("missing-file", f"{path} does not exist")
        return read_file(target, self.limits)


def load_directory(
    root: Path, relative_to: Path | None = None, limits: Limits = DEFAULT_LIMITS
) -> LoadResult:
    """Load every artifact file below ``root``; paths are reported relative to ``relative_to``."""
    base = relative_to or root
    files, findings = scan_directory(root, base)
    sources: list[tuple[str, str | bytes]] = []
    for rel, path in files:
        try:
            sources.append((rel, read_file(path, limits)))
        except Unreadable as exc:
            findings.append(exc.finding(rel))
    result = load_sources(sources, limits, DiskFiles(base, _relative(root, base), limits))
    result.findings[:0] = findings
    base = relative_to or root
    result.artifacts = attach_datasets(result.artifacts, result.findings,
                                       lambda rel: _read_beside(base / rel, limits), limits)
    return result


def _read_beside(path: Path, limits: Limits) -> bytes | None:
    """A dataset file beside a suite (``None`` if absent), read as strictly as artifacts."""
    if not path.exists() and not path.is_symlink():
        return None
    try:
        return read_file(path, limits)
    except Unreadable as exc:
        raise DatasetProblem(exc.message) from None


def attach_datasets(items: list[Located], findings: list[Finding], read: Reader,
                    limits: Limits = DEFAULT_LIMITS) -> list[Located]:
    """``items`` with each eval suite's dataset file attached (its rows and the SHA-256 of
    its bytes become part of the suite); a suite whose dataset fails is dropped, with its
    findings (:func:`promptctl.evals.dataset.attach`)."""
    out = []
    for item in items:
        if not isinstance(item.artifact, EvalSuite):
            out.append(item)
            continue
        suite, problems = attach(item.artifact, item.path, read, limits)
        findings.extend(problems)
        if suite is not None:
            out.append(Located(suite, item.path))
    return out


def load_sources(
    sources: Iterable[tuple[str, str | bytes]], limits: Limits = DEFAULT_LIMITS,
    files: FileSource | None = None,
) -> LoadResult:
    """Parse ``(path, text or bytes)`` pairs into artifacts, collecting findings;
    ``files`` reads the content files they name (``{file: ...}``)."""
    result = LoadResult()
    for path, text in sources:
        artifact, findings, deps = parse_with_files(path, text, limits, files)
        result.findings.extend(findings)
        if artifact is not None:
            result.artifacts.append(Located(artifact, path, deps))
    result.findings.extend(duplicate_findings(result.artifacts))
    return result


def parse_document(
    path: str, text: str | bytes, limits: Limits = DEFAULT_LIMITS,
    files: FileSource | None = None,
) -> tuple[ArtifactBase | None, list[Finding]]:
    """Parse one file (its text, or its bytes: decoded strictly as UTF-8) into an artifact,
    or return the findings that prevent it."""
    artifact, findings, _ = parse_with_files(path, text, limits, files)
    return artifact, findings


def parse_with_files(
    path: str, text: str | bytes, limits: Limits = DEFAULT_LIMITS,
    files: FileSource | None = None,
) -> tuple[ArtifactBase | None, list[Finding], tuple[str, ...]]:
    """:func:`parse_document`, and the content files read for it (``{file: ...}``)."""
    try:
        data = load_yaml(_text_of(text, limits), limits)
    except Unreadable as exc:
        return None, [exc.finding(path)], ()
    except NotText as exc:
        return None, [_error(path, "not-text", str(exc), None, "save the file as UTF-8 text")], ()
    except YamlRefused as exc:
        return None, [_error(path, exc.code, yaml_error_message(exc), fix=exc.fix)], ()
    except yaml.YAMLError as exc:
        return None, [_error(path, "yaml", yaml_error_message(exc),
                             fix="correct the YAML syntax")], ()
    if not isinstance(data, dict):
        return None, [_error(path, "not-a-mapping", "file must hold one YAML mapping")], ()
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in ARTIFACT_CLASSES:
        return None, [
            _error(path, "unknown-kind", f"unknown kind {kind!r}", "kind",
                   f"use one of: {', '.join(KINDS)}")
        ], ()
    expected = kind_of_path(path)
    if expected is not None and expected != kind:
        return None, [
            _error(path, "kind-suffix", f"kind {kind!r} does not match the file suffix",
                   "kind", f"rename the file to *{suffix_of(kind)} or set kind: {expected}")
        ], ()
    try:
        data, deps = resolve_content_files(path, data, files, limits)
    except ContentFileError as exc:
        return None, [_error(path, exc.code, exc.message, exc.field, exc.fix)], ()
    try:
        artifact = ARTIFACT_CLASSES[kind].model_validate(data)
    except PydanticValidationError as exc:
        return None, _pydantic_findings(path, ARTIFACT_CLASSES[kind], exc), deps
    findings = _template_findings(path, artifact, limits) \
        if isinstance(artifact, Prompt | Snippet) else []
    return (None if any(f.severity == "error" for f in findings) else artifact), findings, deps


class ContentFileError(Exception):
    """A ``{file: ...}`` that cannot be read; becomes one finding."""

    def __init__(self, code: str, message: str, field_name: str | None,
                 fix: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.field, self.fix = code, message, field_name, fix


def resolve_content_files(
    path: str, data: dict[str, Any], files: FileSource | None, limits: Limits = DEFAULT_LIMITS
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Replace each ``content: {file: x.md}`` of ``template.messages`` (and a snippet's
    ``text: {file: x.md}``) by the file's text, recording the path under ``file``.

    The text is the file's bytes decoded as UTF-8 and nothing else: a BOM, CRLF line
    endings, tabs and trailing spaces are kept, so the content hash covers the bytes.
    """
    deps: list[str] = []
    if data.get("kind") == "snippet":
        if "file" in data:
            raise ContentFileError("invalid-field", "`file` is filled in from "
                                   "`text: {file: ...}`; do not write it", "file",
                                   "write text: {file: the-file.md}")
        if isinstance(data.get("text"), dict):
            data = dict(data)
            data["file"], data["text"] = _read_content(path, data["text"], files, limits,
                                                       "text", deps)
        return data, tuple(deps)
    template = data.get("template")
    if data.get("kind") != "prompt" or not isinstance(template, dict):
        return data, ()
    for role in ("system", "user"):
        if isinstance(template.get(role), dict):
            raise ContentFileError("invalid-field", "the short form holds text only",
                                   f"template.{role}", f"use template.messages: [{{role: "
                                   f"{role}, content: {{file: ...}}}}]")
    messages = template.get("messages")
    if not isinstance(messages, list):
        return data, ()
    if len(messages) > limits.max_messages:
        raise ContentFileError("too-large", f"template.messages has {len(messages)} messages, "
                               f"more than the limit of {limits.max_messages}",
                               "template.messages", "raise PROMPTCTL_MAX_MESSAGES")
    resolved = []
    for i, message in enumerate(messages):
        where = f"template.messages.{i}"
        if isinstance(message, dict) and "file" in message:
            raise ContentFileError("invalid-field", "`file` is filled in from "
                                   "`content: {file: ...}`; do not write it", f"{where}.file",
                                   "write content: {file: the-file.md}")
        if isinstance(message, dict) and isinstance(message.get("content"), dict):
            message = dict(message)
            message["file"], message["content"] = _read_content(
                path, message["content"], files, limits, f"{where}.content", deps)
        resolved.append(message)
    data = dict(data)
    data["template"] = dict(template, messages=resolved)
    return data, tuple(deps)


def content_path(artifact_path: str, ref: object, registry_dir: str) -> str:
    """The repository path of ``{file: ref}`` written in ``artifact_path``; raises
    ``ValueError`` for a path that is absolute or leaves the registry folder."""
    if not isinstance(ref, str) or not ref:
        raise ValueError("`file` must be a path relative to this file")
    if ref.startswith("/") or "\\" in ref or "\0" in ref:
        raise ValueError(f"file {ref!r} must be a relative path with '/' separators")
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(artifact_path), ref))
    root = registry_dir.strip("/")
    if not root or root == "." or joined.startswith("../") or joined == "..":
        inside = not (joined.startswith("../") or joined == "..")
    else:
        inside = joined.startswith(root + "/")
    if not inside:
        raise ValueError(f"file {ref!r} points outside {registry_dir}/")
    return joined


def _read_content(path: str, spec: dict[str, Any], files: FileSource | None, limits: Limits,
                  where: str, deps: list[str]) -> tuple[str, str]:
    if set(spec) != {"file"}:
        raise ContentFileError("invalid-field", "content from a file is written "
                               "{file: relative/path.md} and nothing else", where)
    ref = spec["file"]
    if files is None:
        raise ContentFileError("missing-file", "content files cannot be read here", where)
    try:
        target = content_path(path, ref, files.registry_dir)
    except ValueError as exc:
        raise ContentFileError("file-outside", str(exc), where,
                               f"keep the file inside {files.registry_dir}/") from None
    try:
        data = files.read(target)
    except Unreadable as exc:
        fix = "create it or correct the path" if exc.code == "missing-file" else exc.fix
        raise ContentFileError(exc.code, f"file {ref!r}: {exc.message}", where, fix) from None
    try:
        text = decode_text(data)
    except NotText as exc:
        raise ContentFileError("not-text", f"file {ref!r}: {str(exc).removeprefix('file ')}",
                               where, "save it as UTF-8 text") from None
    if data.startswith(codecs.BOM_UTF8):
        text = "\ufeff" + text  # decode_text drops one BOM: the content keeps every byte
    deps.append(target)
    return ref, text


def _text_of(text: str | bytes, limits: Limits) -> str:
    if isinstance(text, bytes):
        check_size(len(text), limits)
        return decode_text(text)
    if len(text) > limits.max_file_bytes // 4:  # a str of n characters is 1-4n UTF-8 bytes
        check_size(len(text.encode("utf-8", "surrogatepass")), limits)
    return text


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
                       _REF_FIELDS.get(kind, kind), fix)
            )
    return findings + snippet_findings(artifacts)


_REF_FIELDS = {"tool": "tools", "snippet": "snippets"}


def snippet_findings(artifacts: list[Located], max_depth: int = DEFAULT_LIMITS.max_snippet_depth
                     ) -> list[Finding]:
    """Findings for snippets that include each other in a cycle, or deeper than
    ``max_snippet_depth`` (the other refs are checked by :func:`check_refs`)."""
    snippets = {item.artifact.key: item for item in artifacts if isinstance(item.artifact, Snippet)}
    findings, reported = [], set()
    for key, item in sorted(snippets.items()):
        stack: list[tuple[ArtifactKey, tuple[ArtifactKey, ...]]] = [(key, ())]
        while stack:
            current, path = stack.pop()
            if current in path or len(path) > max_depth:
                if key not in reported:
                    reported.add(key)
                    chain = " -> ".join(f"{k.name}@{k.version}" for k in (*path, current))
                    problem = "include cycle" if current in path else \
                        f"include chain deeper than {max_depth} (limit max_snippet_depth)"
                    findings.append(_error(item.path, "snippet-cycle", f"{problem}: {chain}",
                                           "text", "remove one of the includes"))
                break
            found = snippets.get(current)
            if found is None:
                continue
            for ref in found.artifact.snippet_refs():  # type: ignore[attr-defined]
                stack.append((ArtifactKey("snippet", ref.name, ref.version), (*path, current)))
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


def _template_findings(path: str, artifact: Prompt | Snippet, limits: Limits) -> list[Finding]:
    findings = []
    texts = artifact.template.parts() if isinstance(artifact, Prompt) else [("text", artifact.text)]
    jinja = artifact.jinja_parts()
    for role, source in texts:
        size = len(source.encode("utf-8"))
        if size > limits.max_template_bytes:
            findings.append(_error(
                path, "too-large", f"the template is {size} bytes, more than the limit of "
                f"{limits.max_template_bytes} bytes", _field(role),
                "shorten it or raise PROMPTCTL_MAX_TEMPLATE_BYTES"))
    if findings:
        return findings
    used: set[str] = set()
    for role, source in jinja:
        try:
            used |= template_variables(source, limits)
            findings.extend(_error(path, "template-complexity", message, _field(role),
                                   "nest fewer blocks and brackets")
                            for message in template_complexity_findings(source, limits))
        except TemplateSyntaxError as exc:
            findings.append(_error(path, "template-syntax", syntax_error_message(exc),
                                   _field(role), "fix the Jinja2 syntax, or set "
                                   "`format: literal` to send the text as written"))
        if newline_of(source) is None:
            findings.append(Finding("warning", "mixed-newlines", path,
                                    "the template mixes line endings: Jinja renders them all "
                                    "as \\n", _field(role),
                                    "use one line ending, or `format: literal`"))
    if findings or not isinstance(artifact, Prompt):
        return findings
    for name in sorted(used - set(artifact.variables)):
        findings.append(_error(path, "undeclared-variable",
                               f"template uses variable `{name}` that is not declared",
                               "variables", f"declare it: variables: {{{name}: {{type: string}}}}"))
    if artifact.snippet_refs():  # a snippet may use the variables: it is checked at render
        return findings
    for name in sorted(set(artifact.variables) - used):
        findings.append(Finding("warning", "unused-variable", path,
                                f"variable `{name}` is declared but never used",
                                f"variables.{name}", "use it in a template or remove it"))
    return findings


def _field(label: str) -> str:
    return label if label == "text" else f"template.{label}"


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


def _clean_message(err: Any) -> str:
    message = str(err["msg"])
    return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def _error(
    path: str, code: str, message: str, field_name: str | None = None, fix: str | None = None
) -> Finding:
    return Finding("error", code, path, message, field_name, fix)
