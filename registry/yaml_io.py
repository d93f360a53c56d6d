"""Reading and writing artifact YAML.

The reader is strict where PyYAML is lenient: a key given twice in one mapping
is an error instead of silently keeping the last one, and timestamps stay the
strings the author wrote (``build: 2026-11-01`` must not turn into a date
object whose dump differs from the file).
"""

from __future__ import annotations

from typing import Any

import yaml

# libyaml's loader when PyYAML was built with it (several times faster), else the Python one
FastSafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DuplicateKeyError(yaml.YAMLError):
    pass


class StrictLoader(FastSafeLoader):  # type: ignore[misc, valid-type]
    """SafeLoader without timestamp resolution that refuses duplicate keys."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in FastSafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                line = key_node.start_mark.line + 1
                raise DuplicateKeyError(f"key {key!r} appears twice (line {line})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str) -> Any:
    """Parse one YAML document strictly."""
    return yaml.load(text, Loader=StrictLoader)


def yaml_error_message(exc: yaml.YAMLError) -> str:
    """A one-line description of a YAML error with its line number."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is not None:
        return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return f"invalid YAML: {problem}"


_FIELD_ORDER = (
    "kind", "name", "version", "description", "provider", "model", "tools", "index",
    "backend", "uri", "embedding_model", "build", "dimensions", "params", "parameters",
    "variables", "template", "output_schema", "metadata",
)


class _ReadableDumper(yaml.SafeDumper):
    """Writes multi-line strings (templates) as ``|`` blocks, the way people write them."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ReadableDumper.add_representer(str, _represent_str)


def dump_content(content: dict[str, Any]) -> str:
    """Dump canonical artifact content as a readable YAML file (fields in reading order)."""
    ordered = {k: content[k] for k in _FIELD_ORDER if k in content}
    ordered.update({k: v for k, v in content.items() if k not in ordered})
    return yaml.dump(ordered, Dumper=_ReadableDumper, sort_keys=False, allow_unicode=True,
                     width=100)
