"""Bearer-token authentication with a short cache, so a resolve costs no query.

While the database is unreachable, a token verified before the outage stays
valid (it could not be revoked meanwhile: revoking is a database write), so
readers keep resolving from the in-memory snapshot; unknown tokens get 503.
"""

from __future__ import annotations

import threading
import time

from promptctl.bounded_cache import BoundedCache
from promptctl.errors import AuthError, BackendUnavailable
from promptctl.store import Store
from promptctl.tokens import Principal, authenticate, hash_secret

CACHE_SECONDS = 2.0  # a revoked token stops working within this long
MAX_CACHED = 10_000  # tokens remembered at once (each caller's token is one entry)


class Authenticator:
    def __init__(self, store: Store, ttl: float = CACHE_SECONDS) -> None:
        self.store = store
        self.ttl = ttl
        self._cache: BoundedCache[str, tuple[float, Principal]] = BoundedCache(MAX_CACHED)
        self._lock = threading.Lock()

    def cached(self, authorization: str | None) -> Principal | None:
        """The principal if it was looked up in the last ``ttl`` seconds (no I/O)."""
        if not authorization:
            return None
        hit = self._cache.get(hash_secret(_bearer(authorization)))
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def __call__(self, authorization: str | None) -> Principal:
        secret = _bearer(authorization)
        key = hash_secret(secret)
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            principal = authenticate(self.store, secret)
        except BackendUnavailable:
            if hit is None:
                raise
            return hit[1]
        with self._lock:
            self._cache.put(key, (now + self.ttl, principal))
        return principal


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise AuthError("missing bearer token (Authorization: Bearer <token>)")
    scheme, _, secret = authorization.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise AuthError("the Authorization header must be `Bearer <token>`")
    return secret.strip()
