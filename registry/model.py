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
    """A declared input; without a default it is required."""

    type: Literal["string", "integer", "number", "boolean", "array", "object"]
    default: Any = None
    description: str | None = None

    @property
    def required(self) -> bool:
        return self.default is None

    @model_validator(mode="after")
    def _default_matches_type(self) -> Variable:
        if self.default is not None and not value_matches_type(self.default, self.type):
            raise ValueError(f"default {self.default!r} is not of type {self.type}")
        return self


class Template(_Strict):
    system: str | None = None
    user: str | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Template:
        if self.system is None and self.user is None:
            raise ValueError("a template needs `system`, `user` or both")
        return self

    def parts(self) -> list[tuple[str, str]]:
        """``(role, source)`` pairs in message order."""
        return [(role, src) for role, src in (("system", self.system), ("user", self.user)) if src]


class Prompt(ArtifactBase):
    KIND: ClassVar[str] = "prompt"
    kind: Literal["prompt"] = "prompt"
    model: str
    tools: list[str] = Field(default_factory=list)
    index: str | None = None
    variables: dict[str, Variable] = Field(default_factory=dict)
    template: Template
    output_schema: dict[str, Any] | None = None

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

    def refs(self) -> list[tuple[str, Ref]]:
        pinned = [("model", Ref.parse(self.model))]
        pinned += [("tool", Ref.parse(t)) for t in self.tools]
        if self.index:
            pinned.append(("index", Ref.parse(self.index)))
        return pinned


Artifact = Prompt | ModelConfig | Tool | Index
ARTIFACT_CLASSES: dict[str, type[ArtifactBase]] = {
    "prompt": Prompt,
    "model": ModelConfig,
    "tool": Tool,
    "index": Index,
}
"""The ``eval`` kind adds itself here when :mod:`promptctl.evals.suite` is imported (the
loader and the store import it), so this module does not import that one back."""


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
