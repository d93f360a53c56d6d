"""Flag backends: where the rollout state of each (environment, prompt) is published."""

from promptctl.flags.base import FlagBackend, FlagState

__all__ = ["FlagBackend", "FlagState"]
