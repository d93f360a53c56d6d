"""Writing a file so that a crash never leaves half of it: temp file, fsync, rename.

The SDK's fallback files (snapshot, state) are read at start when the server is
unreachable; a torn file there would take an app down exactly when it needs them.
"""

from __future__ import annotations

import os
from pathlib import Path


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
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
