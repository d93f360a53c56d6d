"""Dashboard sessions: the pasted token stays on the server, the browser holds a random id.

The cookie (``HttpOnly``, ``SameSite=Strict``, path ``/ui``) carries only a 256-bit random
session id; the token's secret is kept in this process's memory and checked through the
API's own :class:`promptctl.api.auth.Authenticator` on every request, so a revoked token
stops working in the dashboard as fast as in the API. A visitor who has not signed in yet
gets an anonymous session too: it holds the CSRF token of the sign-in form. Signing in
starts a fresh session (a planted id is never promoted). Sessions live in one server's
memory: behind a load balancer with several replicas, pin each browser to one replica
(sticky sessions) or sign in again when it moves.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

COOKIE = "promptctl_session"


@dataclass
class Session:
    id: str
    csrf: str
    expires: float
    secret: str | None = None  # the pasted token (None: not signed in)
    flash: list[str] = field(default_factory=list)


class Sessions:
    """At most ``limit`` sessions, each valid for ``ttl`` seconds; the oldest go first."""

    def __init__(self, limit: int, ttl: float) -> None:
        self.limit = limit
        self.ttl = ttl
        self._items: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            found = self._items.get(session_id)
            if found is None:
                return None
            if found.expires < time.monotonic():
                del self._items[session_id]
                return None
            return found

    def start(self, secret: str | None = None) -> Session:
        """A new session (a new id and CSRF token)."""
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32),
                          time.monotonic() + self.ttl, secret)
        with self._lock:
            while len(self._items) >= self.limit:
                self._items.popitem(last=False)
            self._items[session.id] = session
        return session

    def end(self, session_id: str | None) -> None:
        with self._lock:
            self._items.pop(session_id or "", None)

    def __len__(self) -> int:
        return len(self._items)
