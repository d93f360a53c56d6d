"""The change feed of API replicas sharing one PostgreSQL database: LISTEN/NOTIFY.

Each rollout change is announced with ``pg_notify`` in the transaction that
commits it (``promptctl.store.changes``), whichever replica or CLI wrote it.
Every replica keeps one extra connection ``LISTEN``ing on that channel, so the
SDKs connected to any replica learn of a change within milliseconds of its
commit. While that connection is down, the feed falls back to polling the
audit table every ``poll_interval`` seconds, reconnects in the background, and
catches up with one poll right after it listens again, so no change is missed
in between. Even while listening it polls every ``safety_interval`` seconds,
a cheap guard against a silently dead connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import psycopg

from promptctl.api.feed import LocalChangeFeed, cancel
from promptctl.store import Store
from promptctl.store.changes import CHANNEL, libpq_conninfo, parse_notification

log = logging.getLogger(__name__)

# Notice a dead peer even when no packets flow (e.g. a network partition).
KEEPALIVES: dict[str, Any] = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
              "keepalives_count": 3}


class PgChangeFeed(LocalChangeFeed):
    """Woken by PostgreSQL notifications; polls only while it cannot listen."""

    def __init__(self, store: Store, poll_interval: float = 0.2, *,
                 safety_interval: float = 5.0, reconnect_delay: float = 1.0) -> None:
        super().__init__(store, poll_interval)
        self.conninfo = libpq_conninfo(store.url)
        self.safety_interval = safety_interval
        self.reconnect_delay = reconnect_delay
        self.listening = False
        self._last_poll = 0.0
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await super().start()
        self._listener = asyncio.create_task(self._listen())

    async def stop(self) -> None:
        await cancel(self._listener)
        await super().stop()

    def _should_poll(self) -> bool:
        now = time.monotonic()
        if self.listening and now - self._last_poll < self.safety_interval:
            return False
        self._last_poll = now
        return True

    async def _listen(self) -> None:
        """Listen until cancelled, reconnecting after every failure."""
        while True:
            try:
                await self._listen_once()
            except (psycopg.Error, OSError) as exc:
                log.warning("change notifications interrupted (polling meanwhile): %s", exc)
            finally:
                self.listening = False
            await asyncio.sleep(self.reconnect_delay)

    async def _listen_once(self) -> None:
        conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True,
                                                     connect_timeout=5, **KEEPALIVES)
        async with conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            self.listening = True
            await self._catch_up()
            async for note in conn.notifies():
                parsed = parse_notification(note.payload)
                if parsed is not None:
                    self.publish(*parsed)

    async def _catch_up(self) -> None:
        """Publish what changed while nobody listened (committed before LISTEN took effect)."""
        if not await self._refresh("catch-up"):
            self._last_poll = 0.0  # the poller's next tick tries again
