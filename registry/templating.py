"""Sandboxed Jinja2 templates: parsing, variable discovery, typed rendering.

Templates come from files anyone can open a pull request against, so they are
rendered in a sandbox (:mod:`promptctl.sandbox`: no attribute tricks such as
``{{ ''.__class__ }}``, bounded output, time and growth) with ``StrictUndefined``
(a missing variable is an error, never an empty string sent to a model). Deep
nesting is refused before Jinja's recursive parser meets it, so no input ends in
a RecursionError. Templates that only print and test declared variables are rendered
by :mod:`promptctl.fast_render` instead, with the same bounds, output and errors.
"""

from __future__ import annotations

import json
import time
import weakref
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.environment import Template
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.visitor import NodeTransformer

from promptctl.errors import RenderError
from promptctl.fast_render import FastTemplate, fast_template
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
    ast = _tree(source, max_nesting, snippets, max_depth)
    try:
        return _ENV.from_string(_ENV.bound_loops(ast))
    except (RecursionError, SyntaxError) as exc:  # SyntaxError: Python's own nesting limits
        reason = "recursion" if isinstance(exc, RecursionError) else exc.msg
        raise RenderError(f"template nests too deeply to compile ({reason})") from None


def _tree(source: str, max_nesting: int, snippets: SnippetTexts | None,
          max_depth: int) -> nodes.Template:
    """The parsed template with its includes spliced, refused when blocks nest too deep."""
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
    return ast


@lru_cache(maxsize=4096)
def _prepared(source: str, max_nesting: int, snippets: SnippetTexts,
              max_depth: int) -> tuple[Template, FastTemplate | None]:
    """:func:`_compiled` (whose errors it raises) and, where the template allows, its direct
    renderer (:mod:`promptctl.fast_render`), built from a second parse: Jinja's compiler
    rewrites the tree it is given."""
    template = _compiled(source, max_nesting, snippets, max_depth)
    return template, fast_template(_tree(source, max_nesting, snippets, max_depth))


def renders_without_jinja(source: str, limits: Limits | None = None,
                          snippets: SnippetTexts = ()) -> bool:
    """Whether ``source`` takes the direct path of :mod:`promptctl.fast_render` (when the
    names it reads are declared): for tests and for finding out why a render is slow."""
    limits = limits or limits_from()
    return _prepared(source, limits.max_template_nesting, snippets,
                     limits.max_snippet_depth)[1] is not None


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
            problems += value_problems(name, decl, value)
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


def value_problems(name: str, decl: Variable, value: Any) -> list[str]:
    """What is wrong with ``value`` for the variable ``name`` (its short type, then its
    JSON Schema); empty when nothing is."""
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
                  snippets: SnippetTexts = (), *, fast: bool = True) -> list[dict[str, str]]:
    """Render ``prompt`` to chat messages ``[{role, content}]``, in template order, with
    each placeholder replaced by the messages passed for it.

    A literal message (``format: literal``) is sent exactly as written. ``snippets`` are
    the texts its includes name (a bundle carries them). ``limits`` bounds the render
    (output size, time, ``range()``, nesting); by default :func:`render_limits`: the
    defaults and ``PROMPTCTL_*`` environment variables. Templates that only print and test
    declared variables skip Jinja (:mod:`promptctl.fast_render`), with the same output and
    errors; ``fast=False`` renders every template through the sandboxed Jinja path (the
    tests compare the two).
    """
    limits = limits or render_limits()
    plan = _plan(prompt)
    placeholders = plan.placeholders
    context = plan.checked(values) if fast else None
    if context is None:
        context = check_values(prompt.variables, values, placeholders)
    for name in placeholders:
        if len(context[name]) > limits.max_messages:
            raise RenderError(f"placeholder {name} holds {len(context[name])} messages, more "
                              f"than max_messages ({limits.max_messages})")
    budget = Budget(limits)
    out: list[dict[str, str]] = []
    with active(budget):
        for label, kind, role, text in plan.steps:
            if kind == "placeholder":
                out += [{"role": m["role"], "content": m["content"]} for m in context[text]]
            elif kind == "literal":
                out.append({"role": role, "content": text})
            else:
                used = snippets if "include" in text else ()
                out.append({"role": role, "content": _render_part(
                    label, text, context, budget, used, plan.names if fast else None)})
    return out


class _Plan:
    """What :func:`render_prompt` reads of a prompt on every call, worked out once per
    prompt object: the messages as ``(label, kind, role, text)`` (a placeholder's ``text``
    is its name), the placeholders, and the names every render context holds."""

    __slots__ = ("defaults", "measured", "names", "placeholders", "prompt", "required",
                 "steps")

    def __init__(self, prompt: Prompt) -> None:
        self.prompt = weakref.ref(prompt)
        self.steps: list[tuple[str, str, str, str]] = []
        for label, message in prompt.template.items():
            if message.placeholder is not None:
                self.steps.append((label, "placeholder", "", message.placeholder))
            else:
                assert message.role is not None and message.content is not None
                self.steps.append((label, prompt.format_of(message), message.role,
                                   message.content))
        self.placeholders = prompt.template.placeholders()
        # check_values puts every declared variable and placeholder in the context.
        self.names = frozenset(prompt.variables) | frozenset(self.placeholders)
        self.required = frozenset([n for n, v in prompt.variables.items() if v.required]
                                  + [n for n, m in self.placeholders.items() if m.required])
        self.measured = {n: v for n, v in prompt.variables.items()
                         if v.type is not None or v.schema_ is not None}
        # In check_values' order: variables' defaults, then placeholders'.
        self.defaults = {n: v.default for n, v in prompt.variables.items() if not v.required}
        self.defaults |= {n: m.default for n, m in self.placeholders.items() if not m.required}

    def checked(self, values: dict[str, Any]) -> dict[str, Any] | None:
        """What :func:`check_values` returns for ``values`` when they have no problem, with
        the per-prompt work done once; ``None`` when they have one (then check_values
        names every problem, so the messages are its own)."""
        keys = values.keys()
        if not keys <= self.names or not self.required <= keys:
            return None
        for name, value in values.items():
            decl = self.measured.get(name)
            if decl is not None:
                if value_problems(name, decl, value):
                    return None
            elif name in self.placeholders and messages_problem(value):
                return None
        merged = dict(self.defaults)
        merged.update(values)
        return merged


_PLAN_CACHE_SIZE = 4096
_plans: dict[int, _Plan] = {}


def _plan(prompt: Prompt) -> _Plan:
    """The prompt's cached :class:`_Plan` (prompts are frozen models). Keyed by ``id``
    with a weak reference back, so a reused id of a freed prompt is never mistaken for it
    and the cache keeps no prompt alive; bounded, emptied when full."""
    plan = _plans.get(id(prompt))
    if plan is None or plan.prompt() is not prompt:
        plan = _Plan(prompt)
        if len(_plans) >= _PLAN_CACHE_SIZE:
            _plans.clear()
        _plans[id(prompt)] = plan
    return plan


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
                 snippets: SnippetTexts = (), names: frozenset[str] | None = None) -> str:
    """One message's text. With ``names`` (the context's keys), a template that
    :mod:`promptctl.fast_render` can do and that reads only those names renders without
    Jinja; errors of either path become the same one-line RenderError."""
    try:
        template, direct = _prepared(source, budget.limits.max_template_nesting, snippets,
                                     budget.limits.max_snippet_depth)
        budget.built = 0
        if direct is not None and names is not None and direct.names <= names:
            return direct.render(context, budget)
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
