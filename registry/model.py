"""The four artifact kinds of the file format (DESIGN §2) as validated objects.

Each artifact is immutable once built. Its *content* is the canonical dict that
is hashed, stored with a release and compared in diffs: fields left at their
defaults are omitted, so adding an optional field to the format later does not
change the hash of existing artifacts.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal, NamedTuple

import semver
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from promptctl.canonical import sha256_hex
from promptctl.kinds import KINDS as KINDS  # re-exported: the kinds live apart
from promptctl.refnames import tag_problem

NAME_CHARS = r"[a-z0-9][a-z0-9._-]{0,63}"
"""An artifact name, unanchored: for patterns in other regex dialects (JSON Schema)."""
# ``\Z``, not ``$``: ``$`` also matches before a trailing newline ("chat\n" is no name)
NAME_PATTERN = rf"^{NAME_CHARS}\Z"
NAME_RE = re.compile(NAME_PATTERN)
MAX_VERSION_LENGTH = 128
"""Longest version: the ``version`` columns of the store hold 128 characters, and a longer
version would be released on SQLite (which does not enforce lengths) but not on PostgreSQL."""
VARIABLE_TYPES: tuple[str, ...] = ("string", "integer", "number", "boolean", "array", "object")


def suffix_of(kind: str) -> str:
    """The file suffix that holds artifacts of ``kind`` (``.prompt.yaml`` ...)."""
    return f".{kind}.yaml"


def parse_version(text: str) -> semver.Version:
    """Parse a strict semver 2.0 version; raises ``ValueError`` with a hint."""
    try:
        return semver.Version.parse(text)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{text!r} is not a semver 2.0 version like 1.2.0") from exc


def check_version(text: str) -> str:
    """A version that is semver 2.0, fits the store and can end a git tag name."""
    if isinstance(text, str) and len(text) > MAX_VERSION_LENGTH:
        raise ValueError(f"version {text[:20]!r}... has {len(text)} characters: at most "
                         f"{MAX_VERSION_LENGTH} are allowed")
    parse_version(text)
    if text.endswith(".lock"):  # git refuses tag names whose last part ends in .lock
        raise ValueError(f"version {text!r} ends with '.lock', which git refuses in a tag name")
    return text


def check_name(name: str) -> str:
    """A name that matches the format in full and can be part of a git tag name."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise ValueError(
            f"{name!r} is not a valid name: use 1-64 lowercase letters, digits, '.', '_' "
            "or '-', starting with a letter or digit"
        )
    if ".." in name or name.endswith(".lock"):
        raise ValueError(f"{name!r} is not a valid name: git refuses '..' and a trailing "
                         "'.lock' in tag names")
    return name


class ArtifactKey(NamedTuple):
    kind: str
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}@{self.version}"

    @property
    def tag(self) -> str:
        """The git tag that marks this release (DESIGN §3)."""
        return f"{self.kind}/{self.name}/v{self.version}"


class Ref(NamedTuple):
    """An exact pin of another artifact: ``name@1.2.0``."""

    name: str
    version: str

    @classmethod
    def parse(cls, text: str) -> Ref:
        if not isinstance(text, str) or "@" not in text:
            raise ValueError(f"{text!r} is not pinned exactly: write it as name@1.2.0")
        name, _, version = text.partition("@")
        check_name(name)
        try:
            parse_version(version)
        except ValueError:
            if any(ch in version for ch in "^~*<>=xX ,|") or version.count(".") < 2:
                raise ValueError(
                    f"{text!r} is not pinned exactly: ranges are not allowed, use {name}@1.2.0"
                ) from None
            raise
        return cls(name, check_version(version))

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArtifactBase(_Strict):
    """Fields every kind has."""

    kind: str
    name: str
    version: str
    description: str
    metadata: dict[str, Any] = Field(default_factory=dict)

    KIND: ClassVar[str] = ""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return check_name(value)

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        return check_version(value)

    @model_validator(mode="after")
    def _taggable(self) -> ArtifactBase:
        """The release tag must be a name git accepts (the name and version checks should
        already guarantee it; this is the last line before ``release`` writes a row)."""
        problem = tag_problem(self.key.tag)
        if problem:
            raise ValueError(f"the release tag {self.key.tag!r} {problem}: git would refuse it")
        return self

    @property
    def key(self) -> ArtifactKey:
        return ArtifactKey(self.kind, self.name, self.version)

    @property
    def semver(self) -> semver.Version:
        return semver.Version.parse(self.version)

    def content(self) -> dict[str, Any]:
        """Canonical content: what is hashed, stored and diffed."""
        data = self.model_dump(mode="json", exclude_defaults=True)
        data["kind"] = self.kind
        return data

    def content_hash(self) -> str:
        return sha256_hex(self.content())

    def refs(self) -> list[tuple[str, Ref]]:
        """``(kind, ref)`` pairs this artifact pins; only prompts have any."""
        return []


class ModelConfig(ArtifactBase):
    KIND: ClassVar[str] = "model"
    kind: Literal["model"] = "model"
    provider: str
    model: str
    params: dict[str, Any] = Field(default_factory=dict)


class Tool(ArtifactBase):
    KIND: ClassVar[str] = "tool"
    kind: Literal["tool"] = "tool"
    parameters: dict[str, Any]

    @field_validator("parameters")
    @classmethod
    def _parameters(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_json_schema(value)
        if value.get("type") != "object":
            raise ValueError("tool parameters must be a JSON Schema with `type: object`")
        return value


class Index(ArtifactBase):
    KIND: ClassVar[str] = "index"
    kind: Literal["index"] = "index"
    backend: str
    uri: str
    embedding_model: str
    build: str
    dimensions: int | None = None


class Variable(_Strict):
    """A declared input; without a default it is required.

    ``type`` is the short form; ``schema`` is a full JSON Schema (enum, pattern,
    minimum/maximum, items, ...) that ``render()`` checks too. Either or both may be given.
    """

    type: Literal["string", "integer", "number", "boolean", "array", "object"] | None = None
    default: Any = None
    description: str | None = None
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True,
                              serialize_by_alias=True)

    @property
    def required(self) -> bool:
        return self.default is None

    @property
    def short_type(self) -> str | None:
        """The short type, or the JSON Schema's ``type`` when it is one of the short types."""
        if self.type is not None:
            return self.type
        declared = (self.schema_ or {}).get("type")
        return declared if isinstance(declared, str) and declared in VARIABLE_TYPES else None

    @model_validator(mode="after")
    def _default_matches_type(self) -> Variable:
        if self.type is None and self.schema_ is None:
            raise ValueError("a variable needs a `type`, a `schema` or both")
        if self.schema_ is not None:
            check_json_schema(self.schema_)
        if self.default is not None and self.type is not None \
                and not value_matches_type(self.default, self.type):
            raise ValueError(f"default {self.default!r} is not of type {self.type}")
        if self.default is not None and self.schema_ is not None:
            problem = schema_problem(self.default, self.schema_)
            if problem:
                raise ValueError(f"default {self.default!r} does not match the schema: {problem}")
        return self


ROLES: tuple[str, ...] = ("system", "user", "assistant")
FORMATS: tuple[str, ...] = ("jinja", "literal")
Role = Literal["system", "user", "assistant"]
Format = Literal["jinja", "literal"]


class Message(_Strict):
    """One entry of ``template.messages``: a text message, or a placeholder that
    ``render()`` replaces by a list of messages the caller passes.

    ``file`` names the file ``content`` was read from (relative to the artifact's YAML
    file); the loader reads it, so ``content`` always holds the text and the content hash
    covers the file's bytes.
    """

    role: Role | None = None
    content: str | None = None
    file: str | None = None
    format: Format | None = None
    placeholder: str | None = None
    default: list[dict[str, str]] | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _one_shape(self) -> Message:
        if self.placeholder is not None:
            extra = [f for f in ("role", "content", "file", "format")
                     if getattr(self, f) is not None]
            if extra:
                raise ValueError(f"a placeholder message has no `{extra[0]}`: it is replaced "
                                 "by the messages passed to render()")
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", self.placeholder):
                raise ValueError(f"placeholder name {self.placeholder!r} is not a valid "
                                 "identifier")
            if self.default is not None:
                problem = messages_problem(self.default)
                if problem:
                    raise ValueError(f"placeholder default: {problem}")
            return self
        if self.role is None or self.content is None:
            raise ValueError("a message needs `role` (system, user or assistant) and `content`"
                             ", or is a `placeholder`")
        if self.default is not None:
            raise ValueError("only a placeholder has a `default`")
        return self

    @property
    def required(self) -> bool:
        return self.placeholder is not None and self.default is None


class Template(_Strict):
    system: str | None = None
    user: str | None = None
    messages: list[Message] | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Template:
        if self.messages is not None:
            if self.system is not None or self.user is not None:
                raise ValueError("a template has either `messages` or the short form "
                                 "`system`/`user`, not both")
            if not self.messages:
                raise ValueError("`messages` needs at least one message")
            names = [m.placeholder for m in self.messages if m.placeholder]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"placeholder {twice[0]!r} appears more than once")
            return self
        if self.system is None and self.user is None:
            raise ValueError("a template needs `system`, `user`, `messages` or both")
        return self

    def items(self) -> list[tuple[str, Message]]:
        """``(label, message)`` in message order; the short form reads as two messages
        labelled ``system`` and ``user`` (``messages.N`` otherwise)."""
        if self.messages is None:
            return [(role, Message.model_construct(role=role, content=src))
                    for role, src in (("system", self.system), ("user", self.user)) if src]
        return [(f"messages.{i}", m) for i, m in enumerate(self.messages)]

    def parts(self) -> list[tuple[str, str]]:
        """``(label, source)`` of the text messages in message order."""
        return [(label, m.content) for label, m in self.items() if m.content is not None]

    def placeholders(self) -> dict[str, Message]:
        return {m.placeholder: m for _, m in self.items() if m.placeholder}


class Prompt(ArtifactBase):
    KIND: ClassVar[str] = "prompt"
    kind: Literal["prompt"] = "prompt"
    model: str
    tools: list[str] = Field(default_factory=list)
    index: str | None = None
    snippets: list[str] = Field(default_factory=list)
    format: Format | None = None
    variables: dict[str, Variable] = Field(default_factory=dict)
    template: Template
    output_schema: dict[str, Any] | None = None

    def format_of(self, message: Message) -> str:
        """A message's own format, else the prompt's, else Jinja."""
        return message.format or self.format or "jinja"

    def jinja_parts(self) -> list[tuple[str, str]]:
        """``(label, source)`` of the messages rendered as Jinja templates."""
        return [(label, m.content) for label, m in self.template.items()
                if m.content is not None and self.format_of(m) == "jinja"]

    @field_validator("model", "index")
    @classmethod
    def _ref(cls, value: str | None) -> str | None:
        return None if value is None else str(Ref.parse(value))

    @field_validator("tools")
    @classmethod
    def _tool_refs(cls, value: list[str]) -> list[str]:
        refs = [Ref.parse(item) for item in value]
        names = [ref.name for ref in refs]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"tool {duplicates[0]!r} is listed more than once")
        return [str(ref) for ref in refs]

    @field_validator("variables")
    @classmethod
    def _variable_names(cls, value: dict[str, Variable]) -> dict[str, Variable]:
        for name in value:
            if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                raise ValueError(f"variable name {name!r} is not a valid identifier")
        return value

    @field_validator("output_schema")
    @classmethod
    def _output_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value:
            check_json_schema(value)
        return value

    @field_validator("snippets")
    @classmethod
    def _snippet_refs(cls, value: list[str]) -> list[str]:
        return check_snippet_list(value)

    @model_validator(mode="after")
    def _placeholders_are_not_variables(self) -> Prompt:
        clash = sorted(set(self.template.placeholders()) & set(self.variables))
        if clash:
            raise ValueError(f"{clash[0]!r} is both a placeholder and a variable: a "
                             "placeholder declares its own variable (a list of messages)")
        snippet_includes(self.jinja_parts(), self.snippets)  # raises for a bad include
        return self

    def refs(self) -> list[tuple[str, Ref]]:
        pinned = [("model", Ref.parse(self.model))]
        pinned += [("tool", Ref.parse(t)) for t in self.tools]
        if self.index:
            pinned.append(("index", Ref.parse(self.index)))
        pinned += [("snippet", ref) for ref in self.snippet_refs()]
        return pinned

    def snippet_refs(self) -> list[Ref]:
        """Every snippet this prompt pins: the ``snippets:`` list and each include."""
        return snippet_includes(self.jinja_parts(), self.snippets)


class Snippet(ArtifactBase):
    """Shared text (a safety policy, a persona) that prompts include by exact pinned ref."""

    KIND: ClassVar[str] = "snippet"
    kind: Literal["snippet"] = "snippet"
    text: str
    file: str | None = None
    format: Format | None = None
    snippets: list[str] = Field(default_factory=list)

    @field_validator("snippets")
    @classmethod
    def _snippet_refs(cls, value: list[str]) -> list[str]:
        return check_snippet_list(value)

    @model_validator(mode="after")
    def _includes(self) -> Snippet:
        snippet_includes(self.jinja_parts(), self.snippets)
        if any(ref.name == self.name for ref in self.snippet_refs()):
            raise ValueError(f"snippet {self.name} includes itself")
        return self

    def jinja_parts(self) -> list[tuple[str, str]]:
        return [] if self.format == "literal" else [("text", self.text)]

    def refs(self) -> list[tuple[str, Ref]]:
        return [("snippet", ref) for ref in self.snippet_refs()]

    def snippet_refs(self) -> list[Ref]:
        return snippet_includes(self.jinja_parts(), self.snippets)


Artifact = Prompt | ModelConfig | Tool | Index | Snippet
ARTIFACT_CLASSES: dict[str, type[ArtifactBase]] = {
    "prompt": Prompt,
    "model": ModelConfig,
    "tool": Tool,
    "index": Index,
    "snippet": Snippet,
}
"""The ``eval`` kind adds itself here when :mod:`promptctl.evals.suite` is imported (the
loader and the store import it), so this module does not import that one back."""

# An include tag, outside {% raw %} blocks and {# comments #} (removed first).
_INCLUDE = re.compile(r"\{%[-+]?\s*include\s+(?:(\"|')(.*?)\1)?")
_RAW_OR_COMMENT = re.compile(
    r"\{%[-+]?\s*raw\s*[-+]?%\}.*?\{%[-+]?\s*endraw\s*[-+]?%\}|\{#.*?#\}", re.S)


def check_snippet_list(value: list[str]) -> list[str]:
    refs = [Ref.parse(item) for item in value]
    names = [ref.name for ref in refs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"snippet {duplicates[0]!r} is listed more than once")
    return [str(ref) for ref in refs]


def snippet_includes(parts: list[tuple[str, str]], listed: list[str]) -> list[Ref]:
    """The snippets pinned by ``listed`` and by each ``{% include "name@1.2.0" %}`` in the
    Jinja ``parts`` (a bare ``{% include "name" %}`` takes the version from ``listed``).

    Raises ``ValueError`` for an include that is not a quoted snippet ref, or that names a
    snippet at another version than the list pins.
    """
    pinned = {ref.name: ref for ref in (Ref.parse(item) for item in listed)}
    found = dict(pinned)
    for label, source in parts:
        if "include" not in source:
            continue
        for match in _INCLUDE.finditer(_RAW_OR_COMMENT.sub("", source)):
            target = match.group(2)
            if target is None:
                raise ValueError(f"template {label}: an include names its snippet as a quoted "
                                 'pinned ref: {% include "safety@1.2.0" %}')
            if "@" not in target:
                if target not in pinned:
                    raise ValueError(f"template {label}: include {target!r} is not pinned: "
                                     f'write "{target}@1.2.0" or list it under `snippets:`')
                continue
            try:
                ref = Ref.parse(target)
            except ValueError as exc:
                raise ValueError(f"template {label}: include {exc}") from None
            if ref.name in found and found[ref.name] != ref:
                raise ValueError(f"template {label}: snippet {ref.name} is pinned at both "
                                 f"{found[ref.name].version} and {ref.version}")
            found[ref.name] = ref
    return list(found.values())


def messages_problem(value: Any) -> str | None:
    """Why ``value`` is not a list of chat messages ``[{role, content}]``, or ``None``."""
    if not isinstance(value, list | tuple):
        return f"must be a list of messages, got {type(value).__name__}"
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            return f"item {i} must be a message {{role, content}}, got {type(item).__name__}"
        extra = sorted(set(item) - {"role", "content"})
        if extra:
            return f"item {i} has unknown key {extra[0]!r} (a message has role and content)"
        if item.get("role") not in ROLES:
            return f"item {i} has role {item.get('role')!r}: use one of {', '.join(ROLES)}"
        if not isinstance(item.get("content"), str):
            return f"item {i} needs a string `content`"
    return None


def schema_problem(value: Any, schema: dict[str, Any]) -> str | None:
    """The first reason ``value`` does not satisfy the JSON Schema, or ``None``.

    jsonschema loads here, on the first prompt whose variables declare a schema."""
    import jsonschema

    validator = jsonschema.validators.validator_for(schema)(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{error.message}" + (f" (at {where})" if where else "")


def prompt_from_content(content: dict[str, Any]) -> Prompt:
    """A prompt built from released content without validation (it was validated when it
    was released): what the SDK renders."""
    content = dict(content)
    template = dict(content["template"])
    if template.get("messages") is not None:
        template["messages"] = [Message.model_construct(**m) for m in template["messages"]]
    content["template"] = Template.model_construct(**template)
    content["variables"] = {name: Variable.model_construct(
        **{("schema_" if k == "schema" else k): v for k, v in decl.items()})
        for name, decl in content.get("variables", {}).items()}
    return Prompt.model_construct(**content)


def check_json_schema(schema: dict[str, Any]) -> None:
    """Raise ``ValueError`` when ``schema`` is not a valid JSON Schema."""
    import jsonschema

    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(root)"
        raise ValueError(f"invalid JSON Schema at {where}: {exc.message}") from None


def value_matches_type(value: Any, type_name: str) -> bool:
    """Whether ``value`` is of the declared variable type (bool is not a number)."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_name == "boolean":
        return isinstance(value, bool)
    if type_name == "array":
        return isinstance(value, list | tuple)
    if type_name == "object":
        return isinstance(value, dict)
    return False


def artifact_from_content(data: dict[str, Any]) -> ArtifactBase:
    """Rebuild an artifact from stored canonical content (already validated once)."""
    return ARTIFACT_CLASSES[data["kind"]].model_validate(data)
