"""Printing for humans (Rich) and machines (``--json``), and the error funnel."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from promptctl.errors import PromptctlError

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def emit(data: Any, as_json: bool, human: Callable[[], None]) -> None:
    """Print ``data`` as JSON, or call ``human`` to print it for people."""
    if as_json:
        print_json(data)
    else:
        human()


def table(*columns: str, title: str | None = None) -> Table:
    t = Table(title=title, show_edge=False, header_style="bold")
    for column in columns:
        t.add_column(column, overflow="fold")
    return t


def fail(error: PromptctlError, as_json: bool = False) -> None:
    """Report ``error`` in one line (or JSON) and exit with its mapped code."""
    if as_json:
        print_json({"error": error.code, "detail": error.message,
                    "items": error.detail})
    else:
        err_console.print(f"[red]error:[/red] {error.message}", markup=True, highlight=False)
    raise typer.Exit(error.exit_code)


@contextmanager
def handled(as_json: bool = False) -> Iterator[None]:
    """Turn expected errors into a one-line message and an exit code, never a traceback."""
    try:
        yield
    except PromptctlError as error:
        fail(error, as_json)
