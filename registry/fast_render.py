"""A direct renderer for the templates most prompts are: text, ``{{ name }}`` and ``{% if %}``.

Jinja's sandboxed render costs about 20 µs a message (a new context, a generator, the
sandbox hooks), which is most of what an app pays to produce the call arguments of a
cached bundle. Most prompt templates only print declared variables and test them, so
such a template gets, once (when it is compiled), a tree of a few plain Python steps that
does exactly what the code Jinja generates for it does, in the same order:

- template text (already lexed: line endings, ``trim_blocks``/``lstrip_blocks``,
  comments and ``{% raw %}`` are resolved by Jinja's lexer) is emitted as is;
- ``{{ name }}`` runs the sandbox's output hook (a clock tick and the character count of
  :func:`promptctl.sandbox.size_of`), then ``str()``, as ``environment.finalize`` does;
- ``{% if %}``/``{% elif %}``/``{% else %}`` test Python truthiness of a name, of
  ``not``/``and``/``or`` of tests, or of one ``==``/``!=`` comparison of a name or a constant;
- an included snippet's body (a ``Scope``) is rendered in place;
- every chunk counts towards ``max_render_chars`` exactly as the Jinja stream does.

Anything else (filters, attributes, calls, loops, ``{% set %}``, macros, undeclared names)
returns ``None`` from :func:`fast_template`, and the template keeps the sandboxed Jinja
path. ``tests/test_fast_render.py`` proves on random templates that both paths give the
same text and the same errors.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from jinja2 import nodes

from promptctl.errors import RenderError
from promptctl.sandbox import TOO_MUCH_TEXT, Budget, size_of

Test = Callable[[dict[str, Any]], Any]
_CONSTANTS = (str, int, float, bool, type(None))
# Names Jinja's code generator binds itself (``{{ self }}`` is the template reference,
# not a variable of that name), so a template printing them keeps the Jinja path.
_SPECIAL_NAMES = frozenset({"self", "loop", "caller", "varargs", "kwargs", "super"})
_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {"eq": operator.eq, "ne": operator.ne}


class _Var:
    """``{{ name }}``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class _If:
    """``{% if %}`` with its ``elif`` branches and ``else``: ``(test, body)`` pairs."""

    __slots__ = ("branches", "otherwise")

    def __init__(self, branches: list[tuple[Test, list[Any]]], otherwise: list[Any]) -> None:
        self.branches, self.otherwise = branches, otherwise


class Unsupported(Exception):
    """The template uses a construct the direct renderer does not do (internal)."""


class FastTemplate:
    """A template rendered without Jinja; :attr:`names` are the variables it reads (all
    must be in the render context, else the caller takes the Jinja path)."""

    __slots__ = ("names", "steps")

    def __init__(self, steps: list[Any], names: frozenset[str]) -> None:
        self.steps, self.names = steps, names

    def render(self, context: dict[str, Any], budget: Budget) -> str:
        """The text, refused (RenderError) past ``max_render_chars`` as Jinja's stream is:
        each chunk in turn, a value after the sandbox's output hook (a clock tick and its
        measured size, as ``environment.finalize`` does) and ``str()``."""
        cap = budget.limits.max_render_chars
        chunks: list[str] = []
        total = 0
        pending = [iter(self.steps)]  # the bodies being emitted, innermost last
        while pending:
            for step in pending[-1]:
                if type(step) is str:
                    chunk = step
                elif type(step) is _Var:
                    value = context[step.name]
                    budget.tick()
                    budget.add_built(size_of(value, budget))
                    chunk = value if type(value) is str else str(value)
                else:
                    pending.append(iter(_branch(step, context)))
                    break
                total += len(chunk)
                if total > cap:
                    raise RenderError(TOO_MUCH_TEXT.format(cap))
                chunks.append(chunk)
            else:
                pending.pop()
        return "".join(chunks)


def _branch(step: _If, context: dict[str, Any]) -> list[Any]:
    for test, body in step.branches:
        if test(context):
            return body
    return step.otherwise


def fast_template(tree: nodes.Template) -> FastTemplate | None:
    """The direct renderer of a parsed (and include-spliced) template, or ``None`` when it
    uses anything beyond text, ``{{ name }}`` and simple ``{% if %}`` tests."""
    names: set[str] = set()
    try:
        steps = _steps(tree.body, names)
    except Unsupported:
        return None
    return FastTemplate(steps, frozenset(names))


def _steps(body: list[nodes.Node], names: set[str]) -> list[Any]:
    steps: list[Any] = []
    for node in body:
        if isinstance(node, nodes.Output):
            steps += _output(node, names)
        elif isinstance(node, nodes.If):
            steps.append(_if(node, names))
        elif type(node) is nodes.Scope:
            steps += _steps(node.body, names)
        else:
            raise Unsupported(type(node).__name__)
    return steps


def _output(node: nodes.Output, names: set[str]) -> list[Any]:
    """Jinja yields each run of text of one output node as one chunk, each value apart."""
    steps: list[Any] = []
    for child in node.nodes:
        if type(child) is nodes.TemplateData:
            if steps and type(steps[-1]) is str:
                steps[-1] += child.data
            else:
                steps.append(child.data)
        elif _is_variable(child):
            names.add(child.name)  # type: ignore[attr-defined]  # a Name
            steps.append(_Var(child.name))  # type: ignore[attr-defined]
        else:
            raise Unsupported(type(child).__name__)
    return [step for step in steps if step != ""]


def _if(node: nodes.If, names: set[str]) -> _If:
    branches = [(_test(node.test, names), _steps(node.body, names))]
    branches += [(_test(elif_.test, names), _steps(elif_.body, names)) for elif_ in node.elif_]
    return _If(branches, _steps(node.else_, names))


def _test(expr: nodes.Node, names: set[str]) -> Test:
    """A test as a function of the context, with Python's own truthiness and operators
    (what Jinja's generated code uses for these nodes: the sandbox does not intercept
    ``not``, ``and``, ``or``, ``==`` or ``!=``)."""
    if type(expr) is nodes.Not:
        inner = _test(expr.node, names)
        return lambda context: not inner(context)
    if type(expr) is nodes.And:
        left, right = _test(expr.left, names), _test(expr.right, names)
        return lambda context: left(context) and right(context)
    if type(expr) is nodes.Or:
        left, right = _test(expr.left, names), _test(expr.right, names)
        return lambda context: left(context) or right(context)
    if type(expr) is nodes.Compare and len(expr.ops) == 1 and expr.ops[0].op in _COMPARISONS:
        compare = _COMPARISONS[expr.ops[0].op]
        first, second = _operand(expr.expr, names), _operand(expr.ops[0].expr, names)
        return lambda context: compare(first(context), second(context))
    return _operand(expr, names)


def _operand(expr: nodes.Node, names: set[str]) -> Test:
    if _is_variable(expr):
        name: str = expr.name  # type: ignore[attr-defined]  # a Name
        names.add(name)
        return lambda context: context[name]
    if type(expr) is nodes.Const and type(expr.value) in _CONSTANTS:
        value = expr.value
        return lambda context: value
    raise Unsupported(type(expr).__name__)


def _is_variable(node: nodes.Node) -> bool:
    return (type(node) is nodes.Name and node.ctx == "load"
            and node.name not in _SPECIAL_NAMES)
