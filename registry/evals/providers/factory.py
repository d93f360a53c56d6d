"""Build a provider from a suite's ``provider:`` or ``eval run --provider TYPE[:TARGET]``.

``openai`` and ``anthropic`` are optional extras: their modules (named in
:data:`PROVIDER_MODULES`) expose ``create(target, settings, base) -> Provider`` and are
imported only when a run asks for them.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from promptctl.errors import UsageError
from promptctl.evals.providers.base import Provider

PROVIDER_MODULES = {
    "openai": "promptctl.evals.providers.openai_provider",
    "anthropic": "promptctl.evals.providers.anthropic_provider",
}


def parse_provider_option(text: str) -> tuple[str, str | None]:
    """``python:mod:fn`` → ("python", "mod:fn"); ``replay:file.jsonl``; ``openai``."""
    kind, sep, target = text.partition(":")
    return kind, (target if sep else None)


def make_provider(kind: str, target: str | None, settings: dict[str, Any] | None,
                  base: Path, registry: Path) -> Provider:
    """The provider ``kind``; ``base`` is the project root (relative paths start there)."""
    settings = dict(settings or {})
    if kind == "python":
        from promptctl.evals.providers.python_provider import PythonProvider

        if not target:
            raise UsageError("the python provider needs a target module:function")
        return PythonProvider(target, settings, search=(base, registry))
    if kind == "replay":
        from promptctl.evals.providers.replay import ReplayProvider

        if not target:
            raise UsageError("the replay provider needs a recordings file (replay:FILE)")
        return ReplayProvider(target, settings, base=base)
    if kind in PROVIDER_MODULES:
        try:
            module = importlib.import_module(PROVIDER_MODULES[kind])
        except ImportError:
            raise UsageError(f"the {kind} provider is not available in this installation: "
                             f"install promptctl's `{kind}` extra") from None
        provider: Provider = module.create(target, settings, base)
        return provider
    known = ", ".join(["python", "replay", *PROVIDER_MODULES])
    raise UsageError(f"unknown provider {kind!r}; use one of: {known}")
