"""Printing for humans (Rich) and machines (``--json``), and the error funnel.

Registry content, actors, token names and error messages are written by other people
(a pull request, an API caller), and a terminal obeys escape sequences: ``\\x1b[2J``
in a description would clear an operator's screen, and an OSC sequence could retitle the
window or forge a hyperlink. So every human-readable line passes through :func:`clean`,
in one place, :class:`SafeConsole`: control characters are shown escaped (``\\x1b``)
instead of being sent. Rich's own colours are styles, added after that, so they still
work. Table cells are Rich ``Text`` (never markup), so ``[red]`` in user data prints as
it is. ``--json`` output is exact JSON, where control characters are escaped anyway.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from promptctl.errors import PromptctlError

# C0 and C1 controls except newline and tab, DEL, and the bidirectional overrides and
# isolates that can make text read differently from what it is ("Trojan Source").
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """``text`` with every character a terminal would act on shown as an escape instead."""
    return _UNSAFE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def plain(value: object) -> Text:
    """``value`` as text that is printed as it is: no markup, no control characters."""
    return Text(clean(str(value)))


class SafeConsole(Console):
    """A Rich console that never sends a control character it did not make itself.

    Strings are cleaned before Rich parses and measures them (so table widths stay right);
    every rendered segment is cleaned again, which covers ``Text`` objects built elsewhere.
    """

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(clean(text), **kwargs)

    def render(self, renderable: RenderableType,
               options: ConsoleOptions | None = None) -> Iterable[Segment]:
        for segment in super().render(renderable, options):
            if segment.control is None and _UNSAFE.search(segment.text):
                yield Segment(clean(segment.text), segment.style)
            else:
                yield segment


console = SafeConsole(highlight=False, soft_wrap=True)
err_console = SafeConsole(stderr=True, highlight=False, soft_wrap=True)


class SafeTable(Table):
    """A table whose string cells are plain text: user data is never read as markup."""

    def add_row(self, *renderables: RenderableType | None, **kwargs: Any) -> None:
        super().add_row(*(plain(r) if isinstance(r, str) else r for r in renderables),
                        **kwargs)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def emit(data: Any, as_json: bool, human: Callable[[], None]) -> None:
    """Print ``data`` as JSON, or call ``human`` to print it for people."""
    if as_json:
        print_json(data)
    else:
        human()


def table(*columns: str, title: str | None = None) -> Table:
    t = SafeTable(title=plain(title) if title else None, show_edge=False,
                  header_style="bold")
    for column in columns:
        t.add_column(column, overflow="fold")
    return t


def fail(error: PromptctlError, as_json: bool = False) -> None:
    """Report ``error`` in one line (or JSON) and exit with its mapped code."""
    if as_json:
        print_json({"error": error.code, "detail": error.message,
                    "items": error.detail})
    else:
        message = " ".join(error.message.splitlines())  # one line, whatever it quotes
        err_console.print(Text.assemble(("error:", "red"), " ", clean(message)))
    raise typer.Exit(error.exit_code)


@contextmanager
def handled(as_json: bool = False) -> Iterator[None]:
    """Turn expected errors into a one-line message and an exit code, never a traceback."""
    try:
        yield
    except PromptctlError as error:
        fail(error, as_json)
