"""Reading promptctl's Unleash flags from an app: which version of a prompt a key gets.

An app that already runs ``UnleashClient`` against the Unleash server promptctl publishes to can
pick prompt versions with it, with no promptctl server in the path::

    client = connect("https://unleash.example.com/api", client_token, app_name="my-app")
    version, variant = resolve_version(client, "production", "summarize", {"userId": user.id})

``variant`` is ``"canary"`` or ``"stable"``, as in :mod:`promptctl.flags.unleash`, and the key
lands on the same side as with promptctl's built-in backend (same hash, same groupId).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from UnleashClient import UnleashClient  # type: ignore[attr-defined]

from promptctl.errors import NotFoundError
from promptctl.flags.unleash import CANARY, STABLE, api_url, flag_name


def connect(url: str, client_token: str, *, app_name: str = "promptctl",
            refresh_interval: int = 15, **options: Any) -> UnleashClient:
    """An initialised ``UnleashClient`` for a backend (client) token; ``close`` with ``destroy()``.

    ``options`` go to ``UnleashClient`` unchanged (``disable_metrics``, ``cache_directory``...).
    """
    client = UnleashClient(url=api_url(url), app_name=app_name,
                           refresh_interval=refresh_interval,
                           custom_headers={"Authorization": client_token}, **options)
    client.initialize_client()
    return client


def resolve_version(client: UnleashClient, env: str, prompt: str,
                    context: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """``(version, variant)`` that ``context`` gets for ``prompt`` in promptctl env ``env``.

    Raises :class:`NotFoundError` when the flag is unknown to the client, disabled, or not one
    promptctl wrote (no ``stable``/``canary`` variant with a version payload).
    """
    name = flag_name(env, prompt)
    variant = client.get_variant(name, context=dict(context or {}))
    payload = variant.get("payload") or {}
    if variant.get("name") not in (CANARY, STABLE) or not payload.get("value"):
        raise NotFoundError(f"no version of {prompt!r} is published in Unleash for "
                            f"environment {env!r} (flag {name})")
    return str(payload["value"]), str(variant["name"])
