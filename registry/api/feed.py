"""Change notification for the event stream: who is waiting, and what changed.

:class:`ChangeFeed` is the small interface the API depends on. The built-in
:class:`LocalChangeFeed` is woken at once by changes made through this server
and polls the audit table (one indexed ``max(id)`` query) to notice changes
made by other processes, such as ``promptctl rollback`` against the database.
On PostgreSQL, :func:`promptctl.api.app.default_feed` picks
``promptctl.api.pg_feed.PgChangeFeed``, a subclass woken by ``LISTEN/NOTIFY`` so that
several replicas see each other's changes at once; it keeps this polling as the fallback
while its listening connection is down. This module is the base both build on and
imports neither of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from promptctl.errors import PromptctlError
from promptctl.store import Store
from promptctl.store.changes import latest_change_ids

log = logging.getLogger(__name__)


class ChangeFeed(Protocol):
    def current(self, env: str) -> int:
        """The latest change id known for ``env`` (0 before any change)."""

    def publish(self, env: str, change_id: int) -> None:
        """Record a change; safe to call from any thread."""

    async def wait(self, env: str, after: int, timeout: float) -> int:
        """Return once ``env``'s change id exceeds ``after`` or ``timeout`` passes."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class LocalChangeFeed:
    """In-process notification plus polling of the database for other writers."""

    def __init__(self, store: Store, poll_interval: float = 0.2) -> None:
        self.store = store
        self.poll_interval = poll_interval
        self._ids: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    def current(self, env: str) -> int:
        return self._ids.get(env, 0)

    def publish(self, env: str, change_id: int) -> None:
        if change_id <= self._ids.get(env, 0):
            return
        self._ids[env] = change_id
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake()
        else:
            loop.call_soon_threadsafe(self._wake)

    async def wait(self, env: str, after: int, timeout: float) -> int:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.current(env) <= after:
            remaining = deadline - loop.time()
            if remaining <= 0 or self._changed is None:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return self.current(env)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._ids.update(await asyncio.to_thread(self._latest_ids))
        self._task = asyncio.create_task(self._poll())

    async def stop(self) -> None:
        await cancel(self._task)

    def _wake(self) -> None:
        """Release every waiter: set the current event and start a fresh one."""
        changed, self._changed = self._changed, asyncio.Event()
        if changed is not None:
            changed.set()

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            if self._should_poll():
                await self._refresh("poll")

    async def _refresh(self, what: str) -> bool:
        """Publish every environment's latest change id; False when the database failed."""
        try:
            latest = await asyncio.to_thread(self._latest_ids)
        except PromptctlError as exc:  # database briefly unavailable: keep serving
            log.warning("change feed %s failed: %s", what, exc.message)
            return False
        for env, change_id in latest.items():
            self.publish(env, change_id)
        return True

    def _should_poll(self) -> bool:
        """Whether this tick queries the database (subclasses with push notifications skip)."""
        return True

    def _latest_ids(self) -> dict[str, int]:
        with self.store.connect() as conn:
            return latest_change_ids(conn)


async def cancel(task: asyncio.Task[None] | None) -> None:
    """Cancel a background task and wait until it has stopped."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

