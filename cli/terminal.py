"""Rich classes for human output, kept apart from :mod:`promptctl.cli.output` so that Rich
loads only when a command prints something (see that module for why everything is cleaned).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from promptctl.cli.escaping import UNSAFE, clean


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
            if segment.control is None and UNSAFE.search(segment.text):
                yield Segment(clean(segment.text), segment.style)
            else:
                yield segment


class SafeTable(Table):
    """A table whose string cells are plain text: user data is never read as markup."""

    def add_row(self, *renderables: RenderableType | None, **kwargs: Any) -> None:
        super().add_row(*(plain(r) if isinstance(r, str) else r for r in renderables),
                        **kwargs)
