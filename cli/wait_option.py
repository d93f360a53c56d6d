"""The ``--wait [SECONDS]`` option of ``promote`` and ``rollback``, light enough for the CLI's
start-up: ``cli/app.py`` rewrites the arguments before parsing, and no command module loads."""

from __future__ import annotations

from collections.abc import Sequence

DEFAULT_WAIT = 30.0
WAIT_HELP = "Block until every live SDK instance applied the change (at most SECONDS, 30 " \
            "when none is given); exit 5 naming the lagging instances on timeout."


def expand_wait(args: Sequence[str]) -> list[str]:
    """``--wait`` with no number after it means ``--wait 30``: Click options cannot take an
    optional value, so the default is written in before parsing."""
    out = list(args)
    for index, arg in enumerate(out):
        if arg == "--wait":
            following = out[index + 1] if index + 1 < len(out) else None
            if following is None or not _is_number(following):
                out.insert(index + 1, str(DEFAULT_WAIT))
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
