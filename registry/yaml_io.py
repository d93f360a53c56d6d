"""Reading and writing artifact YAML.

Registry files come from pull requests, so the reader is strict and bounded
where PyYAML is lenient:

- the bytes must be UTF-8 text (no UTF-16, no NUL bytes): :func:`decode_text`;
- everything must be plain JSON data: strings, finite numbers, 64-bit integers,
  booleans, null, lists and mappings whose keys are strings. Tags such as
  ``!!binary``, ``!!set`` or ``!!python/...``, complex keys (``? [a, b]``), NaN
  and infinity are refused, so nothing reaches an artifact that JSON (and the
  content hash) cannot carry;
- a key given twice in one mapping is an error instead of silently keeping the
  last one, and timestamps stay the strings the author wrote (``build:
  2026-11-01`` must not turn into a date object whose dump differs from the file);
- anchors, aliases and merge keys (``<<: *base``) work, but the document is
  measured as if every alias were a copy: more than ``Limits.max_yaml_nodes``
  nodes or deeper than ``Limits.max_yaml_depth`` is refused *while composing*,
  before anything is constructed, so a 700-byte alias bomb costs microseconds.

Every refusal is a :class:`YamlRefused` (a ``yaml.YAMLError``) with the line and
column, which the loader turns into a one-line finding.
"""

from __future__ import annotations

import codecs
import math
import re
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from promptctl.limits import DEFAULT_LIMITS, Limits

# libyaml's loader when PyYAML was built with it (several times faster), else the Python one
FastSafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_YAML = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = (_YAML + t for t in ("str", "int", "float", "bool", "null"))
SEQ, MAP, MERGE = _YAML + "seq", _YAML + "map", _YAML + "merge"
_SCALAR_TAGS = frozenset({STR, INT, FLOAT, BOOL, NULL, MERGE})
_INT64 = 2 ** 63
_MAX_INT_CHARS = 40  # a 64-bit integer in any YAML notation, with room for '_' separators
_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON_DATA = "artifacts hold plain JSON data (strings, numbers, booleans, null, lists, mappings)"


class YamlRefused(yaml.MarkedYAMLError):
    """YAML that parses but that an artifact may not hold: over a limit, or not JSON data."""

    def __init__(self, problem: str, mark: Any, code: str = "yaml-unsupported",
                 fix: str | None = None) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.code = code
        self.fix = fix


class DuplicateKeyError(YamlRefused):
    def __init__(self, key: str, mark: Any) -> None:
        super().__init__(f"key {key!r} appears twice", mark, code="yaml",
                         fix="keep one of them")


class NotText(ValueError):
    """File bytes that are not UTF-8 text; the message is one line for a user."""


def decode_text(data: bytes) -> str:
    """Decode a registry file strictly as UTF-8 (a leading UTF-8 BOM is dropped).

    ``errors="replace"`` would let a file pass review whose bytes differ from what was
    checked, so anything that is not UTF-8 text raises :class:`NotText` instead.
    """
    for bom, name in ((codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
                      (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16")):
        if data.startswith(bom):
            raise NotText(f"file is {name} text, not UTF-8")
    nul = data.find(b"\0")
    if nul >= 0:
        raise NotText(f"file holds a NUL byte (line {_line_of(data, nul)}): "
                      "it is binary, not YAML text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotText(f"file is not valid UTF-8 (byte 0x{data[exc.start]:02x} on line "
                      f"{_line_of(data, exc.start)})") from None
    return text.removeprefix("\ufeff")


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


class _BoundedComposer(Composer):
    """PyYAML's composer, measuring the document as it is composed (see module docstring).

    Sizes and heights are remembered per node, so an alias adds what it stands for
    without walking it again: the cost stays linear in the text.
    """

    limits: Limits

    def _start_bounds(self, limits: Limits) -> None:
        self.limits = limits
        self._nodes = 0  # nodes so far, every alias counted as a full copy
        self._level = 0  # collections open around the current node
        self._deepest = 0
        self._size: dict[int, int] = {}
        self._height: dict[int, int] = {}

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()  # type: ignore[attr-defined]  # the Parser's, mixed in
        if isinstance(event, AliasEvent):
            return self._compose_alias(parent, index, event.start_mark)
        start, level, deepest = self._nodes, self._level, self._deepest
        self._count(1, event.start_mark)
        if isinstance(event, SequenceStartEvent | MappingStartEvent):
            self._reach(level + 1, event.start_mark)
            self._level = level + 1
        self._deepest = self._level
        node = super().compose_node(parent, index)
        assert node is not None  # None only at the end of a stream, never inside a node
        self._level = level
        self._size[id(node)] = self._nodes - start
        self._height[id(node)] = self._deepest - level
        self._deepest = max(deepest, self._deepest)
        return node

    def _compose_alias(self, parent: Node | None, index: Any, mark: Any) -> Node:
        node = super().compose_node(parent, index)  # raises for an undefined alias
        assert node is not None
        if id(node) not in self._size:
            raise YamlRefused("an alias refers to a collection that contains it (a cycle)",
                              mark, fix="remove the recursive alias")
        self._count(self._size[id(node)], mark)
        self._reach(self._level + self._height[id(node)], mark)
        self._deepest = max(self._deepest, self._level + self._height[id(node)])
        return node

    def _count(self, nodes: int, mark: Any) -> None:
        self._nodes += nodes
        if self._nodes > self.limits.max_yaml_nodes:
            raise YamlRefused(
                f"the document has more than {self.limits.max_yaml_nodes} YAML nodes "
                "(each alias counts as a copy of what it names)", mark, code="too-large",
                fix="make the file smaller or raise PROMPTCTL_MAX_YAML_NODES")

    def _reach(self, depth: int, mark: Any) -> None:
        if depth > self.limits.max_yaml_depth:
            raise YamlRefused(
                f"the document nests deeper than {self.limits.max_yaml_depth} levels", mark,
                code="too-large", fix="flatten it or raise PROMPTCTL_MAX_YAML_DEPTH")

    def compose_scalar_node(self, anchor: Any) -> ScalarNode:
        node = super().compose_scalar_node(anchor)
        _check_scalar(self, node)  # type: ignore[arg-type]
        return node

    def compose_sequence_node(self, anchor: Any) -> SequenceNode:
        node = super().compose_sequence_node(anchor)
        _require_tag(node, SEQ)
        for item in node.value:
            _not_merge(item)
        return node

    def compose_mapping_node(self, anchor: Any) -> MappingNode:
        node = super().compose_mapping_node(anchor)
        _require_tag(node, MAP)
        seen: set[str] = set()
        for key, value in node.value:
            _check_key(key)
            _not_merge(value)
            if key.tag == STR:
                if key.value in seen:
                    raise DuplicateKeyError(key.value, key.start_mark)
                seen.add(key.value)
        return node


def _shown(tag: str) -> str:
    return tag.replace(_YAML, "!!")


def _require_tag(node: Node, tag: str) -> None:
    if node.tag != tag:
        raise YamlRefused(f"the YAML tag {_shown(node.tag)} is not supported: {_JSON_DATA}",
                          node.start_mark, fix="remove the tag")


def _not_merge(node: Node) -> None:
    if node.tag == MERGE:
        raise YamlRefused("'<<' is a merge key and only works as a mapping key",
                          node.start_mark, fix="quote it to mean the text '<<'")


def _check_key(key: Node) -> None:
    if not isinstance(key, ScalarNode):
        raise YamlRefused("mapping keys must be strings, not lists or mappings (a YAML "
                          "complex key)", key.start_mark, fix="use a string key")
    if key.tag not in (STR, MERGE):
        raise YamlRefused(
            f"mapping key {key.value!r} is read as {_shown(key.tag)}, not a string "
            "(keys that differ only in type would collide)", key.start_mark,
            fix=f"quote it: '{key.value}'")


def _check_scalar(constructor: SafeConstructor, node: ScalarNode) -> None:
    """Refuse scalars JSON cannot carry, where the line and column are still known."""
    if node.tag not in _SCALAR_TAGS:
        raise YamlRefused(f"the YAML tag {_shown(node.tag)} is not supported: {_JSON_DATA}",
                          node.start_mark, fix="remove the tag")
    if node.tag == STR:
        if "\0" in node.value:
            raise YamlRefused("strings may not hold NUL characters", node.start_mark,
                              fix="remove the \\0 escape")
        if not node.value.isascii() and _SURROGATE.search(node.value):
            raise YamlRefused("the string holds a lone surrogate escape: it is not valid "
                              "Unicode", node.start_mark, fix="remove the \\uD800-style escape")
    elif node.tag == INT:
        number = None
        if len(node.value) <= _MAX_INT_CHARS:
            number = constructor.construct_yaml_int(node)
        if number is None or not -_INT64 <= number < _INT64:
            shown = node.value if len(node.value) <= 24 else f"{node.value[:20]}..."
            raise YamlRefused(f"the integer {shown} does not fit in 64 bits", node.start_mark,
                              fix="use a smaller number or a string")
    elif node.tag == FLOAT and not math.isfinite(constructor.construct_yaml_float(node)):
        raise YamlRefused(f"{node.value} is not a finite number: JSON cannot carry NaN or "
                          "infinity", node.start_mark, fix="use a finite number")


def _plain_resolvers() -> dict[Any, list[tuple[str, Any]]]:
    """YAML 1.1's implicit types minus timestamps and ``=`` (the ``!!value`` type)."""
    dropped = {_YAML + "timestamp", _YAML + "value"}
    return {first: [(tag, regexp) for tag, regexp in resolvers if tag not in dropped]
            for first, resolvers in Resolver.yaml_implicit_resolvers.items()}


class PyStrictLoader(Reader, Scanner, Parser, _BoundedComposer, SafeConstructor, Resolver):
    """The same checks on PyYAML's pure-Python parser (used when libyaml is missing)."""

    yaml_implicit_resolvers = _plain_resolvers()

    def __init__(self, stream: str, limits: Limits = DEFAULT_LIMITS) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._start_bounds(limits)


StrictLoader: type[PyStrictLoader] = PyStrictLoader
try:  # libyaml's event parser when PyYAML was built with it (several times faster)
    from yaml._yaml import CParser as _EventParser
except ImportError:  # pragma: no cover - PyYAML without libyaml
    pass
else:
    class _CStrictLoader(_BoundedComposer, _EventParser, SafeConstructor, Resolver):
        """libyaml's events, composed and checked here, constructed by PyYAML."""

        yaml_implicit_resolvers = _plain_resolvers()

        def __init__(self, stream: str, limits: Limits = DEFAULT_LIMITS) -> None:
            _EventParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self._start_bounds(limits)

    StrictLoader = _CStrictLoader  # type: ignore[assignment]


def load_yaml(text: str, limits: Limits = DEFAULT_LIMITS,
              loader_class: type[PyStrictLoader] | None = None) -> Any:
    """Parse one YAML document strictly; raises ``yaml.YAMLError`` (a :class:`YamlRefused`
    for data an artifact may not hold) with the line and column."""
    loader = (loader_class or StrictLoader)(text, limits)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def yaml_error_message(exc: yaml.YAMLError) -> str:
    """A one-line description of a YAML error with its line number."""
    mark = getattr(exc, "problem_mark", None)
    problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
    if isinstance(exc, YamlRefused):
        return f"{problem} (line {mark.line + 1}, column {mark.column + 1})" if mark else problem
    if mark is not None:
        return f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return f"invalid YAML: {problem}"


_FIELD_ORDER = (
    "kind", "name", "version", "description", "provider", "model", "tools", "index",
    "backend", "uri", "embedding_model", "build", "dimensions", "params", "parameters",
    "snippets", "format", "text", "file", "variables", "template", "output_schema", "metadata",
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
