"""The artifact kinds, in their display order, without the models that validate them:
the CLI builds its ``--kind`` choices from this at start-up, before pydantic is loaded."""

from __future__ import annotations

KINDS: tuple[str, ...] = ("prompt", "model", "tool", "index", "snippet", "eval")
