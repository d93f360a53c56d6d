"""The CLI's names for the settings the core's errors are about.

The core (config, the server's socket and limits) raises errors that say what is wrong by
meaning and name the setting in :attr:`promptctl.errors.PromptctlError.setting`
(``port``, ``db``...); only the CLI knows that ``port`` is its ``--port``, so it adds the
flag when it prints the error.
"""

from __future__ import annotations

from promptctl.errors import PromptctlError

FLAGS = {
    "repo": "--repo",
    "db": "--db",
    "host": "--host",
    "port": "--port",
    "log_level": "--log-level",
    "header_timeout_seconds": "--header-timeout",
    "body_timeout_seconds": "--body-timeout",
    "idle_timeout_seconds": "--idle-timeout",
    "max_connections": "--max-connections",
}


def worded(error: PromptctlError) -> str:
    """``error``'s message, with the flag of the setting it is about, when the CLI has one:
    ``the port must be between 0 and 65535, got 70000 (--port)``."""
    flag = FLAGS.get(error.setting or "")
    return f"{error.message} ({flag})" if flag else error.message
