"""Sandboxed Jinja2 templates: parsing, variable discovery, typed rendering.

Templates come from files anyone can open a pull request against, so they are
rendered in a sandbox (:mod:`promptctl.sandbox`: no attribute tricks such as
``{{ ''.__class__ }}``, bounded output, time and growth) with ``StrictUndefined``
(a missing variable is an error, never an empty string sent to a model). Deep
nesting is refused before Jinja's recursive parser meets it, so no input ends in
a RecursionError.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.environment import Template
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.visitor import NodeTransformer

from promptctl.errors import RenderError
from promptctl.limits import DEFAULT_LIMITS, Limits, limits_from
from promptctl.model import (
    Message,
    Prompt,
    Variable,
    messages_problem,
    schema_problem,
    value_matches_type,
)
from promptctl.sandbox import TOO_MUCH_TEXT, BoundedSandbox, Budget, active

SnippetTexts = tuple[tuple[str, str, str], ...]
"""``(ref, format, text)`` of the snippets a bundle carries, sorted: hashable, so compiled
templates are cached by the exact snippet texts they include."""

# trim_blocks/lstrip_blocks: a line holding only a `{% if %}` tag leaves no blank line
# behind, which is what authors of multi-line prompts expect.
_ENV = BoundedSandbox(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True,
    trim_blocks=True, lstrip_blocks=True,
)
# Jinja's lexer turns every line break of the template text into ``newline_sequence``; a
# template is lexed with the line ending it uses, so CRLF text renders as CRLF.
_LEXERS = {"\n": _ENV, "\r\n": _ENV.overlay(newline_sequence="\r\n"),
           "\r": _ENV.overlay(newline_sequence="\r")}
_OPENERS = frozenset("([{")
_CLOSERS = frozenset(")]}")
_PREFIX_OPERATORS = frozenset({"not", "-", "+"})
_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "if", "else"})
_BLOCKS = (nodes.For, nodes.If, nodes.Macro, nodes.CallBlock, nodes.FilterBlock, nodes.With,
           nodes.Block, nodes.AssignBlock, nodes.ScopedEvalContextModifier)


def expression_depth(source: str) -> tuple[int, int]:
    """``(depth, line)`` of the most deeply nested expression: brackets, prefix operators
    (``not``, ``-``) and ``if``/``else`` inside one tag.

    Jinja's parser recurses once per level (a dozen frames per bracket), so 5,000
    parentheses raise RecursionError; this scan reads the lexer's flat token stream
    instead, so such a template is refused before the parser runs.
    """
    deepest, deepest_line = 0, 1
    brackets = prefixes = conditions = 0
    first_in_tag = False
    for line, kind, value in _ENV.lex(source):
        if kind == "whitespace":
            continue
        if kind in ("variable_begin", "block_begin"):
            brackets = prefixes = conditions = 0
            first_in_tag = kind == "block_begin"
            continue
        if kind == "operator" and value in _OPENERS:
            brackets += 1
        elif kind == "operator" and value in _CLOSERS:
            brackets, prefixes = max(brackets - 1, 0), 0
        elif value in _PREFIX_OPERATORS and (kind == "name" or kind == "operator"):
            prefixes += 1
        elif kind == "name" and value == "if" and not first_in_tag:
            conditions += 1
        elif kind in ("integer", "float", "string") or (kind == "name" and value not in _KEYWORDS):
            prefixes = 0
        first_in_tag = False
        if brackets + prefixes + conditions > deepest:
            deepest, deepest_line = brackets + prefixes + conditions, line
    return deepest, deepest_line


def parse_template(source: str, limits: Limits | None = None) -> nodes.Template:
    """Parse ``source``; raises ``jinja2.TemplateSyntaxError`` (with ``lineno``), also for
    expressions nested deeper than ``max_template_nesting``, never RecursionError."""
    limit = (limits or limits_from()).max_template_nesting
    depth, line = expression_depth(source)
    if depth > limit:
        raise TemplateSyntaxError(f"expression nests {depth} deep, more than "
                                  f"max_template_nesting ({limit})", line)
    try:
        return _LEXERS[newline_of(source) or "\n"].parse(source)
    except RecursionError:
        raise TemplateSyntaxError("template nests too deeply to parse", 1) from None


def newline_of(source: str) -> str | None:
    """The one line ending ``source`` uses (``\\n``, ``\\r\\n`` or ``\\r``), ``"\\n"`` for
    text without line breaks, ``None`` when it mixes them (then Jinja writes ``\\n``)."""
    if "\r" not in source:
        return "\n"
    crlf = source.count("\r\n")
    if crlf == source.count("\r") == source.count("\n"):
        return "\r\n"
    return "\r" if "\n" not in source else None


def template_variables(source: str, limits: Limits | None = None) -> set[str]:
    """Names a template reads from its context (loop variables excluded)."""
    ast = parse_template(source, limits)
    try:
        return set(meta.find_undeclared_variables(ast))
    except RecursionError:
        raise TemplateSyntaxError("template nests too deeply to compile", 1) from None


def syntax_error_message(exc: TemplateSyntaxError) -> str:
    return f"template does not parse at line {exc.lineno}: {exc.message}"


def block_depth(ast: nodes.Node) -> int:
    """How deeply ``{% for %}``/``{% if %}``/``{% macro %}``/... blocks nest (``elif``
    branches count as their ``if``)."""
    deepest, stack = 0, [(ast, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        elifs = {id(n) for n in node.elif_} if isinstance(node, nodes.If) else set()
        for child in node.iter_child_nodes():
            nested = isinstance(child, _BLOCKS) and id(child) not in elifs
            stack.append((child, depth + 1 if nested else depth))
    return deepest


def template_complexity_findings(source: str, limits: Limits | None = None) -> list[str]:
    """Why a template that parses can still never render (for lint): blocks nested deeper
    than ``max_template_nesting``, or code Python refuses to compile. A template that
    does not parse gets no message here (its syntax error is reported instead)."""
    limits = limits or limits_from()
    try:
        _compiled(source, limits.max_template_nesting)
    except TemplateSyntaxError:
        return []
    except RenderError as exc:
        return [exc.message]
    return []


@lru_cache(maxsize=4096)
def _compiled(source: str, max_nesting: int, snippets: SnippetTexts | None = None,
              max_depth: int = DEFAULT_LIMITS.max_snippet_depth) -> Template:
    """The compiled template; refuses (RenderError) one nested deeper than ``max_nesting``
    or too deep for Python to compile; TemplateSyntaxError for bad syntax. Includes of
    ``snippets`` are spliced into the tree (:class:`_Includes`); ``None`` (lint, which
    checks one file) leaves them as they are."""
    limits = Limits(max_template_nesting=max_nesting)
    ast = parse_template(source, limits)
    if snippets is not None and "include" in source:
        try:
            ast = _Includes(snippets, limits, max_depth).visit(ast)
        except RecursionError:
            raise RenderError("template nests too deeply to compile (recursion)") from None
    depth = block_depth(ast)
    if depth > max_nesting:
        raise RenderError(f"blocks nest {depth} deep, more than max_template_nesting "
                          f"({max_nesting})")
    try:
        return _ENV.from_string(_ENV.bound_loops(ast))
    except (RecursionError, SyntaxError) as exc:  # SyntaxError: Python's own nesting limits
        reason = "recursion" if isinstance(exc, RecursionError) else exc.msg
        raise RenderError(f"template nests too deeply to compile ({reason})") from None


class _Includes(NodeTransformer):
    """Replace each ``{% include "name@1.2.0" %}`` by the snippet's parsed body (a Jinja
    snippet, lexed with its own line ending and rendered in the including template's
    context) or by its text as one constant (a literal snippet): so a snippet's bytes
    reach the output as written, and no loader or file is involved at render time."""

    def __init__(self, snippets: SnippetTexts, limits: Limits, max_depth: int) -> None:
        self.texts = {ref: (fmt, text) for ref, fmt, text in snippets}
        self.by_name = {ref.partition("@")[0]: ref for ref in self.texts}
        self.limits, self.max_depth = limits, max_depth
        self.stack: list[str] = []

    def visit_Include(self, node: nodes.Include) -> Any:
        target = node.template.value if isinstance(node.template, nodes.Const) else None
        if not isinstance(target, str):
            raise RenderError("an include names its snippet as a quoted pinned ref")
        ref = target if "@" in target else self.by_name.get(target, target)
        if ref not in self.texts:
            raise RenderError(f"snippet {target} is not part of this bundle")
        if ref in self.stack:
            raise RenderError(f"snippet include cycle: {' -> '.join([*self.stack, ref])}")
        if len(self.stack) >= self.max_depth:
            raise RenderError(f"snippets include each other more than {self.max_depth} deep "
                              "(limit max_snippet_depth)")
        fmt, text = self.texts[ref]
        if fmt == "literal":
            return nodes.Output([nodes.TemplateData(text)], lineno=node.lineno)
        self.stack.append(ref)
        try:
            body = self.visit(parse_template(text, self.limits)).body
        finally:
            self.stack.pop()
        return nodes.Scope(body, lineno=node.lineno)


def check_values(variables: dict[str, Variable], values: dict[str, Any],
                 placeholders: Mapping[str, Message] | None = None) -> dict[str, Any]:
    """Validate ``values`` against the declared variables and placeholders, apply defaults.

    Refuses undeclared names, missing required ones, wrongly typed values, values that
    break a variable's JSON Schema and placeholder values that are not lists of messages,
    naming every problem at once so a caller fixes them in one go.
    """
    placeholders = placeholders or {}
    problems: list[str] = []
    extra = sorted(set(values) - set(variables) - set(placeholders))
    if extra:
        problems.append(f"undeclared variable(s): {', '.join(extra)}")
    missing = sorted([n for n, v in variables.items() if v.required and n not in values]
                     + [n for n, m in placeholders.items() if m.required and n not in values])
    if missing:
        problems.append(f"missing required variable(s): {', '.join(missing)}")
    for name, value in values.items():
        decl = variables.get(name)
        if decl is not None:
            problems += _value_problems(name, decl, value)
        elif name in placeholders:
            problem = messages_problem(value)
            if problem:
                problems.append(f"placeholder {name} {problem}")
    if problems:
        raise RenderError("; ".join(problems))
    merged = {n: v.default for n, v in variables.items() if not v.required}
    merged |= {n: m.default for n, m in placeholders.items() if not m.required}
    merged.update(values)
    return merged


def _value_problems(name: str, decl: Variable, value: Any) -> list[str]:
    if decl.type is not None and not value_matches_type(value, decl.type):
        return [f"variable {name} must be {decl.type}, got {type(value).__name__}"]
    if decl.schema_ is not None:
        problem = schema_problem(value, decl.schema_)
        if problem:
            return [f"variable {name}: {problem}"]
    return []


def snippet_texts(snippets: Any) -> SnippetTexts:
    """The ``(ref, format, text)`` key of a bundle's snippet contents (dicts)."""
    if not snippets:
        return ()
    return tuple(sorted((f"{s['name']}@{s['version']}", s.get("format") or "jinja", s["text"])
                        for s in snippets))


def render_prompt(prompt: Prompt, values: dict[str, Any], limits: Limits | None = None,
                  snippets: SnippetTexts = ()) -> list[dict[str, str]]:
    """Render ``prompt`` to chat messages ``[{role, content}]``, in template order, with
    each placeholder replaced by the messages passed for it.

    A literal message (``format: literal``) is sent exactly as written. ``snippets`` are
    the texts its includes name (a bundle carries them). ``limits`` bounds the render
    (output size, time, ``range()``, nesting); by default :func:`render_limits`: the
    defaults and ``PROMPTCTL_*`` environment variables.
    """
    limits = limits or render_limits()
    placeholders = prompt.template.placeholders()
    context = check_values(prompt.variables, values, placeholders)
    for name in placeholders:
        if len(context[name]) > limits.max_messages:
            raise RenderError(f"placeholder {name} holds {len(context[name])} messages, more "
                              f"than max_messages ({limits.max_messages})")
    budget = Budget(limits)
    out: list[dict[str, str]] = []
    with active(budget):
        for label, message in prompt.template.items():
            if message.placeholder is not None:
                out += [{"role": m["role"], "content": m["content"]}
                        for m in context[message.placeholder]]
            elif prompt.format_of(message) == "literal":
                assert message.role is not None and message.content is not None
                out.append({"role": message.role, "content": message.content})
            else:
                assert message.role is not None and message.content is not None
                used = snippets if "include" in message.content else ()
                out.append({"role": message.role, "content": _render_part(
                    label, message.content, context, budget, used)})
    return out


_LIMITS_RECHECK_SECONDS = 1.0
_render_limits: tuple[float, Limits] = (float("-inf"), DEFAULT_LIMITS)


def render_limits() -> Limits:
    """``limits_from()`` (defaults and ``PROMPTCTL_*`` variables), re-read at most once a
    second: an app renders on its hot path, and parsing the environment would cost more
    than the render. An app that changes a variable at runtime sees it within a second."""
    global _render_limits
    read_at, limits = _render_limits
    now = time.monotonic()
    if now - read_at >= _LIMITS_RECHECK_SECONDS:
        limits = limits_from()
        _render_limits = (now, limits)
    return limits


def refresh_render_limits() -> Limits:
    """Re-read the render limits now (e.g. right after an app sets ``PROMPTCTL_*``)."""
    global _render_limits
    _render_limits = (time.monotonic(), limits_from())
    return _render_limits[1]


def _render_part(role: str, source: str, context: dict[str, Any], budget: Budget,
                 snippets: SnippetTexts = ()) -> str:
    try:
        template = _compiled(source, budget.limits.max_template_nesting, snippets,
                             budget.limits.max_snippet_depth)
        budget.built = 0
        return _stream(template, context, budget)
    except RenderError as exc:
        raise RenderError(f"template {role}: {exc.message}") from None
    except SecurityError as exc:
        raise RenderError(f"template {role} refused by the sandbox: {exc}") from None
    except UndefinedError as exc:
        raise RenderError(f"template {role}: {exc.message}") from None
    except TemplateSyntaxError as exc:
        raise RenderError(f"template {role}: {syntax_error_message(exc)}") from None
    except RecursionError:
        raise RenderError(f"template {role} recurses too deeply (a macro calling itself?)") \
            from None
    except Exception as exc:  # a filter failing on a value, e.g. int("x")
        message = str(exc).splitlines()[0] if str(exc) else ""
        raise RenderError(f"template {role} failed: {type(exc).__name__}: {message}") from None


def _stream(template: Template, context: dict[str, Any], budget: Budget) -> str:
    """Render chunk by chunk, stopping as soon as the output passes ``max_render_chars``,
    so a runaway template never holds more than the cap in memory."""
    cap = budget.limits.max_render_chars
    chunks: list[str] = []
    total = 0
    # root_render_func is what Template.generate() runs, minus its traceback rewriting,
    # which is of no use here: every error becomes a one-line RenderError.
    stream = template.root_render_func(template.new_context(context))
    try:
        for chunk in stream:
            total += len(chunk)
            if total > cap:
                raise RenderError(TOO_MUCH_TEXT.format(cap))
            chunks.append(chunk)
    finally:
        stream.close()  # type: ignore[attr-defined]  # a generator
    return "".join(chunks)


def coerce_cli_value(decl: Variable | str | None, text: str) -> Any:
    """Turn a ``--var k=v`` string into the declared type (JSON for arrays/objects); a
    placeholder's value (``decl`` ``"messages"``) is JSON."""
    if decl == "messages":
        try:
            return json.loads(text)
        except ValueError:
            raise RenderError(f"value {text[:40]!r} is not a JSON list of messages") from None
    kind = decl.short_type if isinstance(decl, Variable) else None
    if decl is None or kind == "string" or (kind is None and not _json_like(text)):
        return text
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
        if kind == "boolean":
            lowered = text.lower()
            if lowered in ("true", "1", "yes"):
                return True
            if lowered in ("false", "0", "no"):
                return False
            raise ValueError(text)
        return json.loads(text)
    except ValueError:
        raise RenderError(f"value {text!r} is not a valid {kind or 'JSON value'}") from None


def _json_like(text: str) -> bool:
    return text[:1] in ("[", "{") or text in ("true", "false", "null")
