"""promptctl: a git-backed registry of versioned LLM prompts.

This package is the core (the repository's ``registry/`` folder); ``promptctl.cli`` and
``promptctl.migrations`` are its adapters. The core knows nothing of Typer or HTTP.
Data flows one way: files -> model objects -> store -> rollout -> snapshot -> API/SDK.

``from promptctl import Registry`` is the SDK's entry point; it is loaded on first use so
that importing the core does not import the client, and the other way round.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from promptctl.version import __version__

__all__ = ["Registry", "__version__"]

if TYPE_CHECKING:
    from promptctl.client import Registry


def __getattr__(name: str) -> Any:
    if name == "Registry":
        from promptctl.client import Registry

        return Registry
    raise AttributeError(f"module 'promptctl' has no attribute {name!r}")
