"""Picking the application layer's implementation from the settings.

Apart from :mod:`promptctl.service` because both implementations import that module's
value types: the interface knows neither implementation, and this module imports the
one it picks, when it picks it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from promptctl.config import Settings
    from promptctl.service import RegistryService
    from promptctl.store import Store


def service_for(settings: Settings, *, store: Store | None = None) -> RegistryService:
    """The server at ``settings.url`` when one is configured, else the local store.

    With a URL there is no database access at all, whatever ``--db`` or ``PROMPTCTL_DB``
    say. Each implementation is imported only when picked: the remote one loads no
    SQLAlchemy or GitPython, so commands through a server start fast.
    """
    if settings.url:
        from promptctl.remote import RemoteService

        return RemoteService(settings.url, settings.token, acting_in=settings.root)
    from promptctl.local_service import LocalService

    return LocalService.open(settings, store=store)
