"""Who is acting: the one answer every audit record (rollout events, evals, tokens,
releases) takes when no one is named explicitly.

The git identity of the repository the command runs in (``Name <email>`` from git config),
else the operating-system login, else ``"unknown"``. A server names its callers itself
(``token:<name>``, see :mod:`promptctl.api.routes`) and never asks this.

Standard library only: ``promptctl rollback`` through a server uses it too, and must not
load GitPython.
"""

from __future__ import annotations

import getpass
import subprocess
from pathlib import Path

UNKNOWN_ACTOR = "unknown"


def current_actor(folder: Path | None = None) -> str:
    """Who runs this process: the git identity seen from ``folder`` (when given), else the
    OS login, else ``"unknown"``. Never raises: an audit record always names someone."""
    if folder is not None:
        try:
            identity = git_identity(folder)
        except OSError:  # git is not installed, or the folder is gone
            identity = None
        if identity:
            return identity
    return os_user()


def os_user() -> str:
    """The operating-system login (``LOGNAME``, ``USER``..., then the password database)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return UNKNOWN_ACTOR


def git_identity(folder: Path) -> str | None:
    """``Name <email>`` from git config as seen from ``folder`` (None when no name is set).

    One ``git config`` process instead of GitPython: the audit trail of every
    ``promote``/``rollback`` needs it, and those commands should start fast.
    """
    proc = subprocess.run(["git", "config", "--get-regexp", r"^user\.(name|email)$"],
                          cwd=folder, capture_output=True, text=True, check=False)
    values = dict(line.split(" ", 1) for line in proc.stdout.splitlines() if " " in line)
    name, email = values.get("user.name"), values.get("user.email")
    if not name:
        return None
    return f"{name} <{email}>" if email else name
