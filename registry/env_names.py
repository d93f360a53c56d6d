"""Environment names: one rule, checked wherever a name is accepted.

An environment name appears in URLs (``/v1/envs/{env}/...``), Unleash flag names
(``promptctl.<env>.<prompt>``), ``promptctl.toml`` table names and terminal output, so it is
a short lowercase word. The whole string must match (``fullmatch``): a ``$`` anchor would
accept a trailing newline (``'qa\\n'``).

Standard library only, so ``promptctl.config`` and the SDK can use it.
"""

from __future__ import annotations

import re

from promptctl.errors import UsageError

ENV_NAME_PATTERN = r"[a-z0-9][a-z0-9._-]{0,63}"
ENV_NAME_RE = re.compile(ENV_NAME_PATTERN)
ENV_NAME_RULE = ("use 1-64 lowercase letters, digits, '.', '_' or '-', starting with a letter "
                 "or digit")


def env_name_problem(name: object) -> str | None:
    """Why ``name`` is not a valid environment name, or ``None`` when it is."""
    if not isinstance(name, str) or not ENV_NAME_RE.fullmatch(name):
        return f"{name!r} is not a valid environment name: {ENV_NAME_RULE}"
    return None


def check_env_name(name: object) -> str:
    """``name`` when it is a valid environment name; else a one-line ``UsageError``."""
    problem = env_name_problem(name)
    if problem:
        raise UsageError(problem)
    assert isinstance(name, str)
    return name
