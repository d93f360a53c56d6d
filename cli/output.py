"""Printing for humans (Rich) and machines (``--json``), and the error funnel.

Registry content, actors, token names and error messages are written by other people
(a pull request, an API caller), and a terminal obeys escape sequences: ``\\x1b[2J``
in a description would clear an operator's screen, and an OSC sequence could retitle the
window or forge a hyperlink. So every human-readable line passes through :func:`clean`,
in one place, :class:`~promptctl.cli.terminal.SafeConsole`: control characters are shown
escaped (``\\x1b``) instead of being sent. Rich's own colours are styles, added after
that, so they still work. Table cells are Rich ``Text`` (never markup), so ``[red]`` in
user data prints as it is. ``--json`` output is exact JSON, where control characters are
escaped anyway.

Rich is imported on first use (a command that prints), not when the CLI starts: the
consoles here are stand-ins that build the real ones on first use, and the Rich classes live
in :mod:`promptctl.cli.terminal`.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

import typer

from promptctl.cli.escaping import clean
from promptctl.cli.flag_names import worded
from promptctl.errors import PromptctlError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

__all__ = ["clean", "console", "emit", "err_console", "escape", "fail", "handled",
           "print_json", "table"]

def escape(text: str) -> str:
    """``text`` with Rich markup escaped, for user data inside a markup string."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


class _LazyConsole:
    """Stands for a :class:`~promptctl.cli.terminal.SafeConsole` and builds it on first use,
    so importing a command module does not import Rich."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def get(self) -> Console:
        if self._console is None:
            from promptctl.cli.terminal import SafeConsole

            self._console = SafeConsole(stderr=self._stderr, highlight=False, soft_wrap=True)
        return self._console

    def print(self, *objects: Any, **options: Any) -> None:
        """Print like Rich; a plain line (only strings, no options, nothing Rich would read
        as markup, an emoji code or a tab) is written as it is, without loading Rich: most
        commands print one such line (``rolled back ...``), and Rich costs more to import
        than the command takes to run."""
        if not options and all(type(o) is str for o in objects):
            text = " ".join(objects)
            if not _RICH_SYNTAX.search(text):
                stream = sys.stderr if self._stderr else sys.stdout
                stream.write(clean(text) + "\n")
                return
        self.get().print(*objects, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


# What makes Rich change a string it prints: markup ``[...]``, an emoji code ``:name:``
# (Rich's own pattern is ``:\S*?:``), or a tab it expands.
_RICH_SYNTAX = re.compile(r"\[|:\S*?:|\t")


console = cast("Console", _LazyConsole(stderr=False))
err_console = cast("Console", _LazyConsole(stderr=True))


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def emit(data: Any, as_json: bool, human: Callable[[], None]) -> None:
    """Print ``data`` as JSON, or call ``human`` to print it for people."""
    if as_json:
        print_json(data)
    else:
        human()


def table(*columns: str, title: str | None = None) -> Table:
    from promptctl.cli.terminal import SafeTable, plain

    t = SafeTable(title=plain(title) if title else None, show_edge=False,
                  header_style="bold")
    for column in columns:
        t.add_column(column, overflow="fold")
    return t


def fail(error: PromptctlError, as_json: bool = False) -> None:
    """Report ``error`` in one line (or JSON) and exit with its mapped code."""
    text = worded(error)  # with the CLI's flag for the setting it is about
    if as_json:
        print_json({"error": error.code, "detail": text, "items": error.detail})
    else:
        from rich.text import Text

        message = " ".join(text.splitlines())  # one line, whatever it quotes
        err_console.print(Text.assemble(("error:", "red"), " ", clean(message)))
    raise typer.Exit(error.exit_code)


@contextmanager
def handled(as_json: bool = False) -> Iterator[None]:
    """Turn expected errors into a one-line message and an exit code, never a traceback."""
    try:
        yield
    except PromptctlError as error:
        fail(error, as_json)
