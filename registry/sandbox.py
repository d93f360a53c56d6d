"""The render sandbox: Jinja's sandbox plus bounds on the CPU and memory one render may use.

Templates come from pull requests, so a template may try to build a huge value
(``{{ 'a' * 10**10 }}``, ``{{ x ** 999999999 }}``, ``[1] * 10**8``) or spin
(nested ``range(100000)`` loops). Jinja's ``SandboxedEnvironment`` stops
attribute tricks but none of that. This module refuses an operation whose
result would be too large *before* computing it (a single C-level operation
cannot be interrupted later) and checks a deadline in every hook the compiled
template calls often: operators, calls, attribute and item lookups, each loop
iteration, and each output value. No threads or signals, so it works in any
thread of an app.

The bounds of the render in progress live in a context variable (one per
thread / task), set by :func:`active` around a render.
"""

from __future__ import annotations

import contextvars
import math
import re
import sys
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import update_wrapper
from types import BuiltinMethodType
from typing import Any

from jinja2 import nodes, pass_context
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import (
    ImmutableSandboxedEnvironment,
    SandboxedEscapeFormatter,
    SandboxedFormatter,
)
from jinja2.utils import Namespace
from markupsafe import Markup

from promptctl.errors import RenderError
from promptctl.limits import DEFAULT_LIMITS, Limits

# A number Python refuses to print (int_max_str_digits) is of no use in a prompt, so no
# operator may build a larger one; 4300 is CPython's default when the check is off.
_INT_DIGITS = sys.get_int_max_str_digits() or 4300
_INT_BITS = _INT_DIGITS * math.log2(10)
# Filters that do not turn their whole input into text: their input is not measured.
_UNMEASURED_FILTERS = frozenset({
    "abs", "attr", "batch", "bool", "count", "d", "default", "dictsort", "first", "float",
    "groupby", "int", "items", "last", "length", "list", "map", "max", "min", "random",
    "reject", "rejectattr", "reverse", "round", "select", "selectattr", "slice", "sort",
    "unique",
})
TOO_MUCH_TEXT = "template produces more than {} characters of text (limit max_render_chars)"
_TICK_EVERY = 4096  # values measured between two clock checks inside one measurement


class Budget:
    """What one render may still spend: a deadline and a count of characters built."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.render_timeout_seconds
        self.built = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise RenderError(f"render took longer than {self.limits.render_timeout_seconds:g} s "
                              "(limit render_timeout_seconds)")

    def refuse_over(self, size: float, what: str) -> None:
        """Refuse ``what`` if it would build more than ``max_render_chars`` characters."""
        if size > self.limits.max_render_chars:
            raise RenderError(f"{what} would build about {_count(size)} characters, more than "
                              f"max_render_chars ({self.limits.max_render_chars})")

    def add_built(self, size: int) -> None:
        """Count text that expressions produce (inside macros and ``{% set %}`` blocks too)."""
        self.built += size
        if self.built > self.limits.max_render_chars:
            raise RenderError(TOO_MUCH_TEXT.format(self.limits.max_render_chars))


_BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("promptctl_render_budget",
                                                                        default=None)


class active:  # used as a function: ``with active(budget):``
    """Make ``budget`` the one the sandbox hooks charge while the block runs (a class
    rather than a ``@contextmanager`` generator: it runs on every render, and costs a
    quarter as much)."""

    __slots__ = ("budget", "token")

    def __init__(self, budget: Budget) -> None:
        self.budget = budget

    def __enter__(self) -> Budget:
        self.token = _BUDGET.set(self.budget)
        return self.budget

    def __exit__(self, *exc: object) -> None:
        _BUDGET.reset(self.token)


def _budget() -> Budget:
    budget = _BUDGET.get()
    return budget if budget is not None else Budget(DEFAULT_LIMITS)


def _count(size: float) -> str:
    return f"{size:.3g}" if size >= 1e15 else str(int(size))


# --- measuring values -----------------------------------------------------------------

def size_of(value: Any, budget: Budget) -> int:
    """About how many characters ``str(value)`` would hold, counted up to just past the cap.

    Lists may hold the same object many times (``[[big] * 1000] * 1000`` is small in
    memory and enormous as text), so this walks the value as printing would, stopping
    as soon as the total passes ``max_render_chars``.
    """
    if type(value) is str:
        return len(value)
    cap = budget.limits.max_render_chars
    total, seen, stack = 0, 0, [value]
    open_namespaces: set[int] = set()  # a namespace may hold itself: print shows it once
    while stack and total <= cap:
        item = stack.pop()
        seen += 1
        if seen % _TICK_EVERY == 0:
            budget.tick()
        if isinstance(item, _Leave):
            open_namespaces.discard(item.namespace)
        elif isinstance(item, (str, bytes)):
            total += len(item)
        elif isinstance(item, range):
            total += 24
        elif isinstance(item, Namespace):
            total += 12
            if id(item) not in open_namespaces:
                open_namespaces.add(id(item))
                stack.append(_Leave(id(item)))
                stack.append(object.__getattribute__(item, "_Namespace__attrs"))
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)
            if total <= cap:
                stack.extend(item.keys())
                stack.extend(item.values())
        elif isinstance(item, Collection):
            total += 2 + 2 * len(item)
            if total <= cap:
                stack.extend(item)
        elif isinstance(item, int):
            total += 1 + item.bit_length() // 3
        else:
            total += 8
    return total


@dataclass(frozen=True)
class _Leave:
    """Marks, on :func:`size_of`'s stack, the end of a namespace's contents."""

    namespace: int


def _nesting_of(value: Any, budget: Budget) -> int:
    """How deep lists and mappings nest in ``value`` (for ``tojson(indent=...)``)."""
    deepest, seen, stack = 0, 0, [(value, 0)]
    while stack and seen <= budget.limits.max_render_chars:
        item, depth = stack.pop()
        seen += 1
        deepest = max(deepest, depth)
        if isinstance(item, Mapping):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, Collection) and not isinstance(item, (str, bytes, range)):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def _is_sequence(value: Any) -> bool:
    return isinstance(value, (str, bytes, list, tuple))


def _int(value: Any) -> int:
    """``value`` as an int for estimates; non-numbers count as 0 (the call then fails anyway)."""
    if isinstance(value, str):
        return int(value) if value.isdigit() and len(value) <= 18 else 0
    return int(value) if isinstance(value, (int, float)) and math.isfinite(value) else 0


def _widths(spec: str) -> int:
    """The largest number in a format spec such as ``>1000000`` or ``.999f``."""
    runs = re.findall(r"\d+", spec)
    return max((10**18 if len(r) > 18 else int(r) for r in runs), default=0)


# --- operators --------------------------------------------------------------------------

_PERCENT_SPEC = re.compile(r"%(\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?([a-zA-Z%])")


def check_binop(operator: str, left: Any, right: Any, budget: Budget) -> None:
    """Refuse ``left <operator> right`` when its result would be too large to build."""
    if operator == "*":
        _check_multiply(left, right, budget)
    elif operator == "**":
        if (isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1
                and math.log2(abs(left)) * right > _INT_BITS):
            _refuse_int("'**'", math.log2(abs(left)) * right)
    elif operator == "+":
        if _is_sequence(left) and _is_sequence(right):
            budget.refuse_over(size_of(left, budget) + size_of(right, budget), "'+'")
    elif operator == "%" and isinstance(left, str):
        check_percent_format(left, right, budget)


def _check_multiply(left: Any, right: Any, budget: Budget) -> None:
    if isinstance(left, int) and isinstance(right, int):
        bits = left.bit_length() + right.bit_length()
        if bits > _INT_BITS:
            _refuse_int("'*'", bits)
        return
    for seq, times in ((left, right), (right, left)):
        if _is_sequence(seq) and isinstance(times, int) and times > 1:
            budget.refuse_over(size_of(seq, budget) * times, "'*'")


def _refuse_int(what: str, bits: float) -> None:
    raise RenderError(f"{what} would build an integer of about {_count(bits / math.log2(10))} "
                      f"digits, more than the {_INT_DIGITS} Python can print")


def check_percent_format(fmt: str, args: Any, budget: Budget) -> None:
    """Refuse ``fmt % args`` when a width or precision (``%*s``, ``%.9999999f``) or the
    arguments themselves would build more than the cap."""
    budget.refuse_over(size_of(args, budget) + len(fmt), "'%' formatting")
    values = list(args) if isinstance(args, tuple) else [args]
    position, width = 0, 0
    for match in _PERCENT_SPEC.finditer(fmt):
        if match[4] == "%":
            continue
        for part in (match[2], match[3]):
            if part == "*":
                width = max(width, _int(values[position]) if position < len(values) else 0)
                position += 1
            elif part:
                width = max(width, _widths(part))
        if match[1] is None:
            position += 1
    budget.refuse_over(width, "'%' format width")


# --- str methods and str.format -------------------------------------------------------

def _str_method_size(method: str, text: str, args: tuple[Any, ...],
                     kwargs: dict[str, Any], budget: Budget) -> float:
    """Estimated length of ``text.<method>(*args, **kwargs)``; 0 when it cannot grow."""
    if method in ("center", "ljust", "rjust", "zfill"):
        return _int(args[0] if args else kwargs.get("width", 0))
    if method == "expandtabs":
        tab = _int(args[0] if args else kwargs.get("tabsize", 8))
        return len(text) + text.count("\t") * tab
    if method == "replace":
        return _replace_size(text, *args, **kwargs)
    if method == "join" and args:
        items = args[0]
        return size_of(items, budget) + len(text) * (len(items) if isinstance(items, Collection)
                                                     else 0)
    if method == "translate" and args and isinstance(args[0], Mapping):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
        return len(text) * longest
    return 0


def _replace_size(text: Any, old: Any = "", new: Any = "", count: Any = -1) -> float:
    if not isinstance(text, str) or not isinstance(old, str) or not isinstance(new, str):
        return 0
    hits = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * max(0, len(new) - len(old))


class _MeasuredFields:
    """Formatter mixin: refuse a field whose value or width (``{:>999999999}``) is too big."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        budget = _budget()
        budget.tick()
        budget.refuse_over(max(size_of(value, budget), _widths(format_spec)), "str.format()")
        return super().format_field(value, format_spec)  # type: ignore[misc]


class _Formatter(_MeasuredFields, SandboxedFormatter):
    pass


class _EscapeFormatter(_MeasuredFields, SandboxedEscapeFormatter):
    pass


# --- filters ----------------------------------------------------------------------------

def _filter_size(name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                 budget: Budget) -> float:
    """Estimated size of the text a filter builds, for the filters that can multiply it."""
    estimators: dict[str, Callable[..., float]] = {
        "center": lambda width=80: max(size_of(value, budget), _int(width)),
        "indent": lambda width=4, first=False, blank=False: size_of(value, budget) + (
            (str(value).count("\n") + 1) * (len(width) if isinstance(width, str) else _int(width))),
        "wordwrap": lambda width=79, break_long_words=True, wrapstring=None, **_: (
            size_of(value, budget) * (1 + len(wrapstring or "\n") / max(_int(width), 1))),
        "replace": lambda old="", new="", count=None: _replace_size(
            value, old, new, -1 if count is None else count),
        "join": lambda d="", attribute=None: size_of(value, budget) + len(str(d)) * (
            len(value) if isinstance(value, Collection) else 0),
        "tojson": lambda indent=None: size_of(value, budget) * (
            1 + _int(indent) * _nesting_of(value, budget)),
        "sum": lambda attribute=None, start=0: (
            0 if isinstance(start, (int, float)) else size_of(value, budget) * len(value)),
        "urlize": lambda trim_url_limit=None, nofollow=False, target=None, rel=None, **_: (
            size_of(value, budget) * (3 + len(str(target or "")) + len(str(rel or "")))),
    }
    estimate = estimators.get(name)
    if estimate is None:
        return 0
    try:
        return estimate(*args, **kwargs)
    except (TypeError, ValueError):
        return 0  # bad arguments: the filter itself reports them


def _check_filter(name: str, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                  budget: Budget) -> None:
    if name == "format" and isinstance(value, str):
        check_percent_format(value, kwargs or args, budget)
    elif name in ("batch", "slice") and args and _int(args[0]) > budget.limits.max_range:
        raise RenderError(f"|{name}({_int(args[0])}) makes more than max_range "
                          f"({budget.limits.max_range}) items")
    if name not in _UNMEASURED_FILTERS and not isinstance(value, str):
        budget.refuse_over(size_of(value, budget), f"|{name}")
    budget.refuse_over(_filter_size(name, value, args, kwargs, budget), f"|{name}")


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a filter so it is measured first. It takes the context (which also keeps
    Jinja from running it at compile time, outside any budget) and passes on what the
    original filter asks for."""
    passes = getattr(func, "jinja_pass_arg", None)
    pass_name = getattr(passes, "name", None)

    def bounded(context: Context, value: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.tick()
        if name in ("join", "sum") and isinstance(value, Iterator):
            value = list(value)
        _check_filter(name, value, args, kwargs, budget)
        if pass_name == "context":
            return func(context, value, *args, **kwargs)
        if pass_name == "eval_context":
            return func(context.eval_ctx, value, *args, **kwargs)
        if pass_name == "environment":
            return func(context.environment, value, *args, **kwargs)
        return func(value, *args, **kwargs)

    update_wrapper(bounded, func)
    bounded.__dict__.pop("jinja_pass_arg", None)
    return pass_context(bounded)


@pass_context
def _ticking(context: Context, iterable: Iterable[Any]) -> Iterator[Any]:
    """Each ``{% for %}`` iterates through this, so a loop with no output still stops."""
    budget = _budget()
    for item in iterable:
        budget.tick()
        yield item


def bounded_range(*args: int) -> range:
    """``range()`` of at most ``max_range`` items."""
    budget = _budget()
    items = range(*args)
    if len(items) > budget.limits.max_range:
        raise RenderError(f"range() of {len(items)} items is more than max_range "
                          f"({budget.limits.max_range})")
    return items


# --- the environment ----------------------------------------------------------------------

_ITER_FILTER = "promptctl_loop"


class _CodeGenerator(CodeGenerator):
    """Compiles ``a ~ b`` to a call the sandbox measures (Jinja joins it unchecked)."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_concat(context, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox (templates cannot change an app's lists and dicts, e.g.
    double a list with ``extend`` in a loop) with every growth and every loop bounded."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = _CodeGenerator

    def __init__(self, **options: Any) -> None:
        super().__init__(finalize=self._measure_output, **options)
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}
        self.filters[_ITER_FILTER] = _ticking
        self.globals["range"] = bounded_range
        # lipsum(n) writes n paragraphs: no prompt sends lorem ipsum to a model.
        self.globals.pop("lipsum", None)

    def bound_loops(self, template: nodes.Template) -> nodes.Template:
        """Route every ``{% for %}`` of a parsed template through the clock check."""
        for loop in list(template.find_all(nodes.For)):
            loop.iter = nodes.Filter(loop.iter, _ITER_FILTER, [], [], None, None,
                                     lineno=loop.lineno)
        return template

    @staticmethod
    def _measure_output(value: Any) -> Any:
        budget = _BUDGET.get()
        if budget is not None:  # None while constants are folded at compile time
            budget.tick()
            budget.add_built(size_of(value, budget))
        return value

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = _budget()
        budget.tick()
        check_binop(operator, left, right, budget)
        return super().call_binop(context, operator, left, right)

    def bounded_concat(self, context: Context, parts: tuple[Any, ...]) -> str:
        """``a ~ b ~ ...``, refused when the joined text would pass the cap."""
        budget = _budget()
        budget.tick()
        budget.refuse_over(sum(size_of(part, budget) for part in parts), "'~'")
        return markup_join(parts) if context.eval_ctx.autoescape else str_join(parts)

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.tick()
        owner = getattr(obj, "__self__", None)
        if isinstance(obj, BuiltinMethodType) and isinstance(owner, str):
            if obj.__name__ == "join" and args and isinstance(args[0], Iterator):
                args = (list(args[0]), *args[1:])
            budget.refuse_over(_str_method_size(obj.__name__, owner, args, kwargs, budget),
                               f"str.{obj.__name__}()")
        return super().call(context, obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _budget().tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _budget().tick()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format``/``format_map`` through a formatter that measures each field."""
        if super().wrap_str_format(value) is None:
            return None
        text = value.__self__
        formatter = (_EscapeFormatter(self, escape=text.escape) if isinstance(text, Markup)
                     else _Formatter(self))
        is_map = value.__name__ == "format_map"

        def bounded_format(*args: Any, **kwargs: Any) -> str:
            if is_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one mapping argument")
                args, kwargs = (), args[0]  # type: ignore[misc]  # checked: one mapping
            formatted: str = type(text)(formatter.vformat(text, args, kwargs))
            return formatted

        return update_wrapper(bounded_format, value)
