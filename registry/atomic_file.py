"""Writing a file so that a crash never leaves half of it: temp file, fsync, rename, fsync
of the folder (without the last one, a power cut can lose the rename itself).

The SDK's fallback files (snapshot, state) are read at start when the server is
unreachable; a torn file there would take an app down exactly when it needs them.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from promptctl.failpoints import crash_point


def write_atomically(target: Path, data: bytes) -> None:
    """Replace ``target`` with ``data`` in one step (the folder is created if needed)."""
    import tempfile  # only writers need it, not an app that only reads

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        crash_point("atomic-file.before-rename")  # fault tests: the old file must survive
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    sync_folder(target.parent)


def sync_folder(folder: Path) -> None:
    """fsync a folder, so the names created or replaced in it survive a power cut (a
    no-op where folders cannot be opened, as on Windows)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
