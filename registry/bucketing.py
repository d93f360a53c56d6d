"""Percentage bucketing with Unleash's exact ``flexibleRollout`` semantics.

A key's bucket is ``murmur3_32("<groupId>:<stickiness value>", seed=0) % 100 + 1``
(1..100) and it is in the rollout when ``bucket <= percent``. The same key always
lands in the same bucket, so raising 10% -> 50% only adds users, and a real
Unleash server (or ``UnleashClient``) puts every key on the same side as we do.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

import mmh3

DEFAULT_STICKINESS = "default"
_NORMALIZER = 100
_SEED = 0


def normalized_hash(identifier: str, group_id: str, normalizer: int = _NORMALIZER,
                    seed: int = _SEED) -> int:
    """Unleash's ``normalizedValue``: 1..normalizer."""
    return mmh3.hash(f"{group_id}:{identifier}", seed=seed, signed=False) % normalizer + 1


def stickiness_value(context: Mapping[str, object], stickiness: str = DEFAULT_STICKINESS
                     ) -> str | None:
    """The context value a rollout hashes on, following Unleash's rules.

    ``default`` means ``userId``, then ``sessionId``, then a random value (so an
    anonymous request still gets the rollout's share, just not stickily).
    ``random`` is always random. Any other name reads that context field (also
    from ``properties``); when it is absent the key is not in the rollout.
    """
    if stickiness == DEFAULT_STICKINESS:
        for field in ("userId", "sessionId"):
            value = context.get(field)
            if value not in (None, ""):
                return str(value)
        return str(random.randint(1, 10_000))
    if stickiness == "random":
        return str(random.randint(1, 10_000))
    value = context.get(stickiness)
    if value in (None, ""):
        properties = context.get("properties")
        if isinstance(properties, Mapping):
            value = properties.get(stickiness)
    return None if value in (None, "") else str(value)


def in_rollout(percent: int, group_id: str, context: Mapping[str, object],
               stickiness: str = DEFAULT_STICKINESS) -> bool:
    """Whether ``context`` falls inside a ``percent`` rollout of ``group_id``."""
    if percent <= 0:
        return False
    value = stickiness_value(context, stickiness)
    if value is None:
        return False
    return percent >= 100 or normalized_hash(value, group_id) <= percent
