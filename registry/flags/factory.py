"""Choose the flag backend named by ``Settings.flags`` (``PROMPTCTL_FLAGS``)."""

from __future__ import annotations

import os

from promptctl.config import Settings
from promptctl.errors import UsageError
from promptctl.flags.base import FlagBackend


def make_backend(settings: Settings) -> FlagBackend | None:
    """``None`` for ``builtin``: the registry database is the flag store, and SDKs read it
    as snapshots, so there is nothing else to write (``Rollouts.on_change`` wakes streams)."""
    if settings.flags == "unleash":
        return _unleash_backend(settings)
    return None


def _unleash_backend(settings: Settings) -> FlagBackend:
    """Imported lazily: only deployments that use Unleash load its module."""
    options = settings.extra.get("unleash") or {}
    url = os.environ.get("PROMPTCTL_UNLEASH_URL") or options.get("url")
    token = os.environ.get("PROMPTCTL_UNLEASH_TOKEN") or options.get("admin_token")
    if not url or not token:
        raise UsageError("PROMPTCTL_FLAGS=unleash needs PROMPTCTL_UNLEASH_URL and "
                         "PROMPTCTL_UNLEASH_TOKEN (or [unleash] url/admin_token in "
                         "promptctl.toml)")
    from promptctl.flags.unleash import UnleashFlagBackend

    return UnleashFlagBackend(url, token)
