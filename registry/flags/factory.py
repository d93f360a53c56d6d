"""Choose the flag backend named by ``Settings.flags`` (``PROMPTCTL_FLAGS``)."""

from __future__ import annotations

import importlib
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
    """Imported lazily: only deployments that use Unleash need its module."""
    try:
        module = importlib.import_module("promptctl.flags.unleash")
    except ModuleNotFoundError as exc:
        if exc.name != "promptctl.flags.unleash":
            raise
        raise UsageError("the unleash flag backend is not available in this build; "
                         "set PROMPTCTL_FLAGS=builtin") from None
    options = settings.extra.get("unleash") or {}
    url = os.environ.get("PROMPTCTL_UNLEASH_URL") or options.get("url")
    token = os.environ.get("PROMPTCTL_UNLEASH_TOKEN") or options.get("admin_token")
    if not url or not token:
        raise UsageError("PROMPTCTL_FLAGS=unleash needs PROMPTCTL_UNLEASH_URL and "
                         "PROMPTCTL_UNLEASH_TOKEN (or [unleash] url/admin_token in "
                         "promptctl.toml)")
    return module.UnleashFlagBackend(url, token)  # type: ignore[no-any-return]
