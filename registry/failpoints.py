"""Named crash points for fault tests (as in FoundationDB or TiKV "failpoints").

A test sets ``PROMPTCTL_FAILPOINTS=name[,name]`` in a child process's environment;
when execution reaches ``crash_point(name)`` the process dies on the spot with
``os._exit`` (no cleanup, no exception handlers), exactly like a power cut or
``kill -9``. Unset, a crash point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import sys

CRASH_EXIT_CODE = 137


def crash_point(name: str) -> None:
    armed = os.environ.get("PROMPTCTL_FAILPOINTS", "")
    if armed and name in armed.split(","):
        sys.stderr.write(f"failpoint {name}: crashing\n")
        sys.stderr.flush()
        os._exit(CRASH_EXIT_CODE)


def armed(name: str) -> bool:
    """Whether ``name`` is armed: for a crash point that must first do half of something
    (a torn write) before :func:`crash_point` kills the process."""
    armed = os.environ.get("PROMPTCTL_FAILPOINTS", "")
    return bool(armed) and name in armed.split(",")
