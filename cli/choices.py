"""Closed sets of option values, as enums so that ``--help`` lists the choices and Typer
refuses anything else (exit 2) before a command runs."""

from __future__ import annotations

from enum import StrEnum

from promptctl.kinds import KINDS

Kind = StrEnum("Kind", [(kind, kind) for kind in KINDS])  # type: ignore[misc]
"""An artifact kind: ``prompt``, ``model``, ``tool`` or ``index`` (a ``str``, so it compares
and prints as the kind's name)."""


class LogLevel(StrEnum):
    """uvicorn's log levels, for ``serve --log-level``."""

    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"
    trace = "trace"
