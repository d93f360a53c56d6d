"""Engine set-up and migrations.

SQLite is the zero-config default and must survive several processes at once
(a CLI release while ``promptctl serve`` runs): WAL journal, a busy timeout,
and ``BEGIN IMMEDIATE`` for write transactions so two writers queue instead of
failing half-way. Tables exist only through Alembic (``migrations/``); the
first command against a new database upgrades it under a lock, so two
processes starting together do not both try to create the tables.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import (
    ArgumentError,
    DataError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)

from promptctl.errors import BackendUnavailable, PromptctlError, UsageError, ValidationError
from promptctl.urls import is_sqlite_uri, redact_url, sqlite_file

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlmodel import Session

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _migrations_dir() -> Path:
    import promptctl.migrations as migrations

    return Path(migrations.__file__).resolve().parent


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # Alembic (and Mako) load only when migrating

    config = Config()
    config.set_main_option("script_location", str(_migrations_dir()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def create_db_engine(url: str) -> Engine:
    """Create an engine with the settings each backend needs for concurrent use."""
    if url.startswith("sqlite"):
        path = sqlite_file(url)
        if path and not is_sqlite_uri(url):  # a URI filename is SQLite's (mode=ro, ...)
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                          "isolation_level": None},
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


def _switch_to_wal(cursor) -> None:  # type: ignore[no-untyped-def]
    """``PRAGMA journal_mode=WAL``, retried: when two processes open a new database at once,
    SQLite refuses one of them at once ("database is locked") instead of waiting, to avoid a
    deadlock between their locks, so the busy timeout does not help here."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class Store:
    """The registry database: an engine plus session helpers and migrations."""

    def __init__(self, url: str) -> None:
        self.url = url
        shown = redact_url(url)
        try:
            self.engine = create_db_engine(url)
        except (ArgumentError, NoSuchModuleError, ValueError) as exc:
            # ValueError: SQLAlchemy's URL parser on e.g. a port that is not a number
            raise UsageError(redact_url(f"invalid database URL {shown!r}: {_first_line(exc)}")
                             ) from None
        except ImportError as exc:
            raise UsageError(f"the database driver of {shown!r} is not installed "
                             f"({_first_line(exc)}); install it, or use another URL") from None
        except OSError as exc:
            raise BackendUnavailable(redact_url(f"cannot create the database at {shown}: {exc}")
                                     ) from None
        self.is_sqlite = url.startswith("sqlite")

    @classmethod
    def open(cls, url: str, *, upgrade: bool = True) -> Store:
        store = cls(url)
        if upgrade:
            store.upgrade()
        return store

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read session (no write lock on SQLite)."""
        from sqlmodel import Session  # the ORM loads for the commands that use the models

        with self._translate_errors(), Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed on success, rolled back on any error."""
        from sqlmodel import Session

        with (
            self._translate_errors(),
            Session(self._writer(), expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    # SQLAlchemy Core, no ORM: what rollouts use (promptctl.store.rollouts), so that
    # promote, rollback and status start without loading SQLModel.

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A read connection (no write lock on SQLite), like :meth:`session`."""
        with self._translate_errors(), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction on a Core connection, like :meth:`write`: committed on
        success, rolled back on any error; on SQLite ``BEGIN IMMEDIATE``."""
        with self._translate_errors(), self._writer().begin() as conn:
            yield conn

    @staticmethod
    def session_on(conn: Connection) -> Session:
        """An ORM session inside ``conn``'s transaction, for the code written on the models
        that a Core path needs now and then (the eval gate reads results and releases): it
        loads SQLModel only when called, and never commits or ends ``conn``'s transaction."""
        from sqlmodel import Session

        return Session(bind=conn, expire_on_commit=False)

    def _writer(self) -> Engine:
        """The engine for write transactions: on SQLite they take the write lock at once,
        so two writers queue instead of failing half-way."""
        if self.is_sqlite:
            return self.engine.execution_options(sqlite_begin="IMMEDIATE")
        return self.engine

    @contextmanager
    def _translate_errors(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as exc:
            raise BackendUnavailable(f"database unavailable: {_first_line(exc)}") from exc
        except DataError as exc:  # e.g. a value longer than its column (PostgreSQL checks)
            raise ValidationError(f"the database refused a value: {_first_line(exc)}") from exc
        except OverflowError as exc:  # SQLite's driver: an int beyond 64 bits, unwrapped
            raise ValidationError(f"the database refused a value: {exc}") from exc

    # -- migrations ---------------------------------------------------------------------------

    def current_revision(self) -> str | None:
        """The revision recorded in ``alembic_version`` (read with plain SQL: no Alembic import)."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def head_revision(self) -> str | None:
        """The newest revision, from the file names in ``migrations/versions``.

        Revisions are named after their files (``0002_rollout.py`` holds revision
        ``0002_rollout``) and numbered in order, so the head is the greatest stem;
        a test checks this against Alembic's own script directory. Reading file
        names keeps every command's start-up free of Alembic and Mako.
        """
        stems = self.known_revisions()
        return stems[-1] if stems else None

    def known_revisions(self) -> list[str]:
        """Every revision this promptctl ships, oldest first (file stems, as above)."""
        return sorted(p.stem for p in (_migrations_dir() / "versions").glob("[0-9]*.py"))

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema to ``revision``; a no-op when it is already there."""
        try:
            current = self._known_current_revision()
            if revision == "head" and current == self.head_revision():
                return
            with self._migration_lock():
                self._run("upgrade", revision)
        except SQLAlchemyError as exc:
            raise BackendUnavailable(f"database unavailable: {_first_line(exc)}") from exc

    def downgrade(self, revision: str) -> None:
        try:
            self._known_current_revision()
            with self._migration_lock():
                self._run("downgrade", revision)
        except SQLAlchemyError as exc:
            raise BackendUnavailable(f"database unavailable: {_first_line(exc)}") from exc

    def _known_current_revision(self) -> str | None:
        """The current revision, refusing one this promptctl has no migration file for:
        Alembic would fail with a traceback, and no migration could be right."""
        current = self.current_revision()
        if current is not None and current not in self.known_revisions():
            raise BackendUnavailable(
                f"the database is at schema revision {current!r}, which this promptctl does "
                f"not know (its newest is {self.head_revision()!r}): it was written by a newer "
                "or another promptctl; upgrade promptctl, or use another database")
        return current

    def _run(self, action: str, revision: str) -> None:
        """Run Alembic's ``upgrade`` or ``downgrade`` on this store's own connection."""
        from alembic import command
        from alembic.script.revision import RevisionError
        from alembic.util import CommandError

        fn = getattr(command, action)
        config = alembic_config(self.url)
        with self.engine.connect() as conn:
            config.attributes["connection"] = conn
            try:
                fn(config, revision)
            except (CommandError, RevisionError) as exc:
                known = ", ".join(["head", "base", *self.known_revisions()])
                raise UsageError(f"cannot {action} the database to {revision!r}: "
                                 f"{_first_line(exc)} (revisions: {known})") from None
            if conn.in_transaction():
                conn.commit()

    @contextmanager
    def _migration_lock(self) -> Iterator[None]:
        """Serialize migrations across processes (file lock or PostgreSQL advisory lock)."""
        if self.is_sqlite:
            path = sqlite_file(self.url)
            if not path:
                yield
                return
            with open(f"{path}.migrate.lock", "w") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
            return
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT pg_advisory_lock(727274)")
            conn.commit()
            try:
                yield
            finally:
                conn.exec_driver_sql("SELECT pg_advisory_unlock(727274)")
                conn.commit()

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def on_duplicate(error: PromptctlError) -> Iterator[None]:
    """Raise ``error`` when the block breaks a unique constraint: another writer inserted
    the same key between this transaction's read and its write (or its commit)."""
    try:
        yield
    except IntegrityError:
        raise error from None


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def sqlite_url(path: str | os.PathLike[str]) -> str:
    return f"sqlite:///{Path(path).resolve()}"
