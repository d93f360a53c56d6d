"""The plan evaluator that runs inside ``promptctl serve``: one per database, not one per
replica.

Every replica starts a :class:`PlanRunner`; only the one holding the *evaluator lock*
evaluates. On PostgreSQL the lock is a session advisory lock held on a connection of its
own, so it is released the moment that replica dies (its connection closes) and another
replica takes over at its next try. On SQLite (one host) it is an exclusive ``flock`` on a
file beside the database. The plan itself is state in the database
(:mod:`promptctl.guarded`), so a restart or a new leader carries on exactly where the last
evaluation left it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import socket
import threading
from typing import Any

from promptctl.guarded import GuardedRollouts
from promptctl.store import Store
from promptctl.urls import sqlite_file

log = logging.getLogger(__name__)
ADVISORY_KEY = 727275  # the migration lock is 727274
PRUNE_EVERY = 100  # ticks


class EvaluatorLock:
    """Held by at most one process per database at a time."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._conn: Any = None
        self._file: Any = None

    def acquire(self) -> bool:
        """True while this process holds the lock (taken now, or still held)."""
        if self.store.is_sqlite:
            return self._acquire_file()
        return self._acquire_advisory()

    def _acquire_file(self) -> bool:
        if self._file is not None:
            return True
        path = sqlite_file(self.store.url)
        if not path or ":memory:" in path:
            self._file = True
            return True
        try:
            handle = open(f"{path}.evaluator.lock", "w")  # noqa: SIM115 - held while leading
        except OSError:  # a read-only folder (or URI): a store nobody can write plans to
            return False
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._file = handle
        return True

    def _acquire_advisory(self) -> bool:
        try:
            if self._conn is not None:
                self._conn.exec_driver_sql("SELECT 1")
                return True
            conn = self.store.engine.connect()
            got = conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({ADVISORY_KEY})").scalar()
            conn.commit()
            if got:
                self._conn = conn
                return True
            conn.close()
            return False
        except Exception as exc:
            log.warning("evaluator lock lost: %s", exc)
            self.release()
            return False

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()  # closing the session releases the advisory lock
            self._conn = None
        if self._file not in (None, True):
            self._file.close()
        self._file = None


class PlanRunner:
    def __init__(self, guarded: GuardedRollouts, *, interval: float,
                 evaluator: str | None = None) -> None:
        self.guarded = guarded
        self.interval = interval
        self.evaluator = evaluator or f"{socket.gethostname()}:{os.getpid()}"
        self.lock = EvaluatorLock(guarded.store)
        self.ticks = 0  # evaluations this process ran (as the leader)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_api(cls, api: Any) -> PlanRunner:
        limits = api.settings.limits
        return cls(GuardedRollouts(api.rollouts, limits), interval=limits.plan_evaluate_seconds)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="promptctl-plans", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        self.lock.release()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if self.lock.acquire():
                    self.ticks += 1
                    self.guarded.tick(self.evaluator)
                    if self.ticks % PRUNE_EVERY == 1:
                        self.guarded.prune()
            except Exception as exc:
                log.warning("plan evaluation failed: %s", exc)
