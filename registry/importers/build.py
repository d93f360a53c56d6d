"""Shared pieces of the importers: placing message text files, choosing a format, and
building the prompt's canonical content."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError

from promptctl.errors import ValidationError
from promptctl.importers.frontmatter import split_front_matter
from promptctl.importers.plan import ImportPlan, read_source, slug, source_files
from promptctl.templating import syntax_error_message, template_variables

FORMAT_CHOICES = ("auto", "jinja", "literal")


@dataclass
class ImportedMessage:
    role: str
    text: bytes | None = None  # None: a placeholder
    source: str | None = None  # an existing file under prompts/ to reference in place
    placeholder: str | None = None


@dataclass
class ImportedPrompt:
    name: str
    description: str
    messages: list[ImportedMessage]
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    format: str = "auto"  # auto | jinja | literal
    output_schema: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] | None = None  # provider, model, params: a model artifact to add


def choose_format(texts: list[str], requested: str) -> tuple[str, set[str]]:
    """``(format, variables used)``: ``auto`` is Jinja for text that parses and reads
    variables, else literal (markdown anchors, ``{{ }}`` in examples and plain text are
    then sent exactly as written)."""
    if requested == "literal":
        return "literal", set()
    used: set[str] = set()
    try:
        for text in texts:
            used |= template_variables(text)
    except TemplateSyntaxError as exc:
        if requested == "jinja":
            raise ValidationError(f"the text is not a Jinja template: "
                                  f"{syntax_error_message(exc)}") from None
        return "literal", set()
    if requested == "auto" and not used:
        return "literal", set()
    return "jinja", used


def front_matter_sources(source: Path, suffix: str, what: str
                         ) -> Iterator[tuple[Path, str, dict[str, Any], bytes]]:
    """``(path, its path below source, front matter, body)`` of each ``*suffix`` file below
    ``source`` (Dotprompt's and Prompty's files), in order."""
    for path in source_files(source, suffix, what):
        rel = path.relative_to(source).as_posix()
        meta, body = split_front_matter(read_source(path, rel), rel)
        yield path, rel, meta, body


def add_front_matter_prompt(plan: ImportPlan, into: str, prompt: ImportedPrompt,
                            source: tuple[str, dict[str, Any], set[str]], notes: list[str],
                            model_ref: str | None, version: str) -> None:
    """Add a prompt read from the file ``source`` names (``(rel, front matter, the fields
    the importer reads)``): the front matter's ``metadata`` kept, the fields it did not read
    and ``notes`` noted against the file."""
    rel, meta, known = source
    if isinstance(meta.get("metadata"), dict):
        prompt.metadata.update(meta["metadata"])
    notes += [f"front matter field `{k}`" for k in sorted(set(meta) - known)]
    prompt.metadata["imported_from"] = rel
    for note in notes:
        plan.note(rel, note)
    add_prompt(plan, into, prompt, model_ref, version)


def add_prompt(plan: ImportPlan, into: str, prompt: ImportedPrompt, model_ref: str | None,
               version: str) -> None:
    """Add ``prompt``'s YAML, its message files and (unless ``model_ref``) its model."""
    if plan.prefix:
        prompt.name = slug(plan.prefix + prompt.name)
    yaml_path = posixpath.join(into, f"{prompt.name}.prompt.yaml")
    counts: dict[str, int] = {}
    texts = [m.text.decode("utf-8") for m in prompt.messages if m.text is not None]
    fmt, used = choose_format(texts, prompt.format)
    messages: list[dict[str, Any]] = []
    for message in prompt.messages:
        if message.placeholder is not None:
            messages.append({"placeholder": message.placeholder, "default": []})
            continue
        assert message.text is not None
        if message.source is not None:
            target = message.source
        else:
            counts[message.role] = counts.get(message.role, 0) + 1
            suffix = "" if counts[message.role] == 1 else f"-{counts[message.role]}"
            target = posixpath.join(into, prompt.name, f"{message.role}{suffix}.md")
            plan.add_text(target, message.text)
        ref = posixpath.relpath(target, posixpath.dirname(yaml_path) or ".")
        messages.append({"role": message.role, "content": {"file": ref}})
    variables = dict(prompt.variables)
    for name in sorted(used - set(variables)):
        variables[name] = {"type": "string"}
        plan.note(prompt.name, f"variable `{name}` is used but not declared: declared as a "
                  "string")
    if fmt == "literal":
        variables = {}
    if model_ref is None:
        model = prompt.model or {"provider": "unknown", "model": "unknown"}
        model_ref = f"{prompt.name}-model@{version}"
        plan.add_artifact(posixpath.join(into, f"{prompt.name}-model.model.yaml"), {
            "kind": "model", "name": f"{prompt.name}-model", "version": version,
            "description": f"model of {prompt.name}", **model})
    content: dict[str, Any] = {
        "kind": "prompt", "name": prompt.name, "version": version,
        "description": prompt.description, "model": model_ref}
    if fmt == "literal":
        content["format"] = "literal"
    if variables:
        content["variables"] = variables
    content["template"] = {"messages": messages}
    if prompt.output_schema:
        content["output_schema"] = prompt.output_schema
    if prompt.metadata:
        content["metadata"] = prompt.metadata
    plan.add_artifact(yaml_path, content)


def describe(text: str, fallback: str) -> str:
    """A one-line description: the first line of text (heading marks removed)."""
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:200]
    return fallback
