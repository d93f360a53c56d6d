"""Python SDK: look up which prompt bundle to use, locally, from a live snapshot.

    from promptctl.client import Registry

    with Registry("http://127.0.0.1:8700", "production", token,
                  fallback_path=".promptctl/snapshot.json") as reg:
        bundle = reg.get("support", key=user_id)
        messages = bundle.render(customer="Ann", question="Where is my parcel?")
        log.info("llm call", extra=bundle.trace())

The lifecycle is UnleashClient's: the constructor only configures; :meth:`Registry.start`
(or entering the ``with`` block) fetches the first snapshot, or falls back to
``fallback_path`` when the server cannot be reached, and starts a daemon thread that
follows the server's event stream (reconnecting with backoff, polling the snapshot with
``If-None-Match`` while the stream is down) and swaps in each new snapshot atomically;
every good snapshot is also written to ``fallback_path``. :meth:`Registry.close` stops
the thread. :meth:`Registry.from_snapshot` evaluates a saved snapshot file, fully offline.

``get()`` evaluates the in-memory snapshot: no I/O, no lock. The SDK is meant to be
imported by apps, so it loads only the standard library, ``mmh3`` and the pure
modules :mod:`promptctl.snapshot` and :mod:`promptctl.errors`: HTTP goes through
``http.client``, and the template engine loads on the first ``render()``.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from promptctl.errors import BackendUnavailable, PromptctlError, UsageError
from promptctl.http_errors import error_from_body
from promptctl.snapshot import ResolvedBundle, Snapshot
from promptctl.urls import http_url_problem, redact_url

if TYPE_CHECKING:
    import http.client
    import logging
    import socket

    from UnleashClient import UnleashClient

__all__ = ["Registry", "ResolvedBundle"]



def _log() -> logging.Logger:
    """The SDK's logger. Everything it logs happens after start(), so ``logging`` is
    imported then, not by an app that only imports the SDK or reads a snapshot file."""
    import logging

    return logging.getLogger(__name__)


STREAM_READ_TIMEOUT = 45.0  # the server sends a keepalive every 10 s
MAX_BACKOFF = 5.0
MAX_EVENT_LINE = 64 * 1024  # an event line is a few dozen bytes; refuse to buffer a flood
# Delays (s) between snapshot requests while a replica lags behind the event that announced a
# change (replicas hear of a change within milliseconds of each other, not at the same instant).
LAGGING_REPLICA_RETRIES = (0.05, 0.1, 0.2, 0.4, 0.8)


class _Server:
    """Where the snapshot and the event stream are: one URL, plain ``http.client``.

    A connection per snapshot request: requests are seconds apart, and a fresh one never
    trips over a socket the server (or a proxy) closed meanwhile. ``http.client`` (and
    the ``email`` and ``ssl`` modules under it) loads here, not when the SDK is imported:
    an app that only reads a snapshot file never pays for it.
    """

    def __init__(self, url: str, token: str | None, timeout: float) -> None:
        import http.client

        self._client = http.client
        # What a broken connection raises (socket errors and timeouts are OSError).
        self.errors: tuple[type[Exception], ...] = (OSError, http.client.HTTPException)
        problem = http_url_problem(url)  # masks a password, and checks the port too
        if problem:
            raise UsageError(f"registry URL {problem}")
        parts = urlsplit(url)
        self.url = url
        self.timeout = timeout
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._prefix = parts.path.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def connection(self, timeout: float) -> http.client.HTTPConnection:
        client = self._client
        cls = client.HTTPSConnection if self._https else client.HTTPConnection
        return cls(self._host, self._port, timeout=timeout)

    def path(self, path: str) -> str:
        return self._prefix + path

    def get(self, path: str, headers: Mapping[str, str]) -> tuple[int, bytes]:
        """``(status, body)`` of ``GET path``; BackendUnavailable when it cannot be had."""
        conn = self.connection(self.timeout)
        try:
            conn.request("GET", self.path(path), headers={**self.headers, **headers})
            response = conn.getresponse()
            body = response.read()
        except self.errors as exc:
            raise BackendUnavailable(redact_url(f"cannot reach {self.url}: {_describe(exc)}")
                                     ) from None
        finally:
            conn.close()
        if response.status not in (200, 304):
            raise error_from_body(response.status, body, response.reason)
        return response.status, body


class Registry:
    """A thread-safe, read-only view of one environment's rollouts."""

    def __init__(self, url: str | None, env: str, token: str | None = None,
                 fallback_path: str | os.PathLike[str] | None = None, *,
                 timeout: float = 5.0, poll_interval: float = 5.0,
                 unleash: UnleashClient | None = None, snapshot: Snapshot | None = None
                 ) -> None:
        """Configure only: no I/O and no thread until :meth:`start`.

        ``snapshot`` makes an offline registry that evaluates it and never connects
        (``url`` is then None); :meth:`from_snapshot` builds one from a file.
        """
        if url is None and snapshot is None:
            raise UsageError("a Registry needs a server URL or a snapshot")
        self.url = (url or "").rstrip("/")
        self.env = env
        self.fallback_path = Path(fallback_path) if fallback_path else None
        self.poll_interval = poll_interval
        self._unleash = unleash
        self._server = _Server(self.url, token, timeout) if url is not None else None
        self._snapshot: Snapshot | None = snapshot
        self._stop = threading.Event()
        self._swapped = threading.Condition()
        self._stream_socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    @classmethod
    def from_snapshot(cls, path: str | os.PathLike[str]) -> Registry:
        """A registry that only evaluates the snapshot file at ``path``: fully offline."""
        snapshot = Snapshot.load(path)
        return cls(None, snapshot.env, snapshot=snapshot)

    @property
    def offline(self) -> bool:
        return self._server is None

    # -- the hot path -------------------------------------------------------------------------

    def get(self, name: str, key: object = None,
            context: Mapping[str, object] | None = None) -> ResolvedBundle:
        """The bundle of prompt ``name`` for ``key`` (a userId) or an Unleash-style
        ``context`` (``userId``, ``sessionId``, ``properties``) in this environment."""
        snapshot = self._snapshot
        if snapshot is None:
            raise _not_started()
        if self._unleash is not None:
            return self._via_unleash(snapshot, name, key, context)
        return snapshot.resolve(name, key, context)

    def _via_unleash(self, snapshot: Snapshot, name: str, key: object,
                     context: Mapping[str, object] | None) -> ResolvedBundle:
        """Let the app's ``UnleashClient`` pick the version (``PROMPTCTL_FLAGS=unleash``), and
        serve that version's bundle from the snapshot. Should Unleash name a version the
        snapshot does not hold yet, the snapshot's own decision (same bucketing) is used."""
        from promptctl.flags.unleash_reader import resolve_version

        ctx = dict(context or {})
        if key is not None:
            ctx["userId"] = key
        version, _ = resolve_version(self._unleash, self.env, name, ctx)
        return snapshot.bundle_of(name, version) or snapshot.resolve(name, key, context)

    # -- introspection ------------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        snapshot = self._snapshot
        if snapshot is None:
            raise _not_started()
        return snapshot

    @property
    def change_id(self) -> int:
        return self.snapshot.change_id

    def names(self) -> list[str]:
        return self.snapshot.names()

    def wait_for_change(self, after: int, timeout: float) -> bool:
        """Block until the snapshot's change id exceeds ``after``; False on timeout."""
        with self._swapped:
            return self._swapped.wait_for(
                lambda: self._snapshot is not None and self._snapshot.change_id > after, timeout)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Registry:
        """Fetch the first snapshot (or load ``fallback_path`` when the server cannot be
        reached) and start following changes. Returns ``self``; a second call does nothing.

        Raises what the server answered for a bad token or environment (``AuthError``,
        ``PermissionDenied``, ``NotFoundError``): those never fall back.
        """
        if self._closed:
            raise UsageError("this Registry is closed: make a new one")
        if self._server is None or self._thread is not None:
            return self
        self._snapshot = self._first_snapshot(self._server)
        self._thread = threading.Thread(target=self._follow, name=f"promptctl-registry-{self.env}",
                                        daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop following changes; ``get()`` keeps answering from the last snapshot."""
        self._closed = True
        self._stop.set()
        sock = self._stream_socket
        if sock is not None:
            import socket

            # Closing a response does not wake a thread blocked reading it; shutting the
            # socket down does, so the stream ends now rather than at the next keepalive.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=2)

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- fetching -----------------------------------------------------------------------------

    def _first_snapshot(self, server: _Server) -> Snapshot:
        try:
            snapshot = self._download(server, None)
        except BackendUnavailable as exc:
            if self.fallback_path is None or not self.fallback_path.is_file():
                raise BackendUnavailable(f"{exc.message}, and there is no fallback snapshot"
                                         ) from None
            _log().warning("%s; starting from %s", exc.message, self.fallback_path)
            snapshot = Snapshot.load(self.fallback_path)
            if snapshot.env != self.env:
                raise BackendUnavailable(
                    f"{exc.message}, and {self.fallback_path} holds environment "
                    f"{snapshot.env!r}, not {self.env!r}") from None
            return snapshot
        assert snapshot is not None
        self._save(snapshot)
        return snapshot

    def _download(self, server: _Server, etag: str | None) -> Snapshot | None:
        """GET the snapshot; None when it has not changed since ``etag``."""
        headers = {"If-None-Match": etag} if etag else {}
        status, body = server.get(f"/v1/envs/{self.env}/snapshot", headers)
        return None if status == 304 else Snapshot.from_json(body)

    def _refresh(self, server: _Server, at_least: int = 0) -> None:
        """Fetch if changed and swap atomically; failures keep the current snapshot.

        Never swaps in an older snapshot than the one held. ``at_least`` is a change id
        an event announced: behind a load balancer the snapshot request may reach another
        replica than the stream, one that hears of the change a moment later, so until a
        snapshot has that change, retry briefly.
        """
        for delay in (0.0, *LAGGING_REPLICA_RETRIES):
            if delay and self._stop.wait(delay):
                return
            current = self.snapshot
            try:
                snapshot = self._download(server, current.etag)
            except PromptctlError as exc:
                _log().debug("snapshot refresh failed: %s", exc.message)
                if not at_least:
                    return
                continue
            if snapshot is not None and snapshot.change_id > current.change_id:
                with self._swapped:
                    self._snapshot = snapshot
                    self._swapped.notify_all()
                self._save(snapshot)
            if self.snapshot.change_id >= at_least:
                return
        _log().debug("change %d is not served yet; waiting for the next event", at_least)

    def _save(self, snapshot: Snapshot) -> None:
        if self.fallback_path is None:
            return
        try:
            snapshot.save(self.fallback_path)
        except OSError as exc:
            _log().warning("cannot write fallback snapshot %s: %s", self.fallback_path, exc)

    # -- following the event stream -----------------------------------------------------------

    def _follow(self) -> None:
        server = self._server
        assert server is not None
        backoff = 0.1
        while not self._stop.is_set():
            streamed: bool | None = False
            try:
                streamed = self._stream(server)
            except (PromptctlError, ValueError, *server.errors) as exc:
                _log().debug("event stream interrupted: %s", exc)
            if self._stop.is_set():
                return
            self._refresh(server)  # ETag poll while the stream is down
            if streamed:
                backoff = 0.1
            delay = backoff if streamed is not None else self.poll_interval
            self._stop.wait(delay)
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _stream(self, server: _Server) -> bool | None:
        """Follow the stream until it ends; True if it was up, None if unsupported."""
        conn = server.connection(server.timeout)
        try:
            conn.connect()
            self._stream_socket = conn.sock
            if self._stop.is_set():  # close() ran before the socket was published
                return True
            conn.request("GET", server.path(f"/v1/envs/{self.env}/events"),
                         headers={**server.headers, "Accept": "text/event-stream"})
            conn.sock.settimeout(STREAM_READ_TIMEOUT)
            response = conn.getresponse()
            if response.status in (404, 405, 501):
                return None  # no event stream here: poll only
            if response.status != 200:
                raise error_from_body(response.status, response.read(), response.reason)
            self._refresh(server)  # catch up on anything missed while disconnected
            for event, data in _events(_lines(response)):
                if self._stop.is_set():
                    break
                announced = _change_id(data) if event == "change" else 0
                if announced > self.snapshot.change_id:
                    self._refresh(server, announced)
        finally:
            self._stream_socket = None
            conn.close()
        return True


def _not_started() -> UsageError:
    return UsageError("this Registry has no snapshot yet: call start() or use "
                      "`with Registry(...) as reg:`")


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _lines(response: http.client.HTTPResponse) -> Iterator[str]:
    """The response's lines, decoded, without their line ending, until it ends."""
    while True:
        line = response.readline(MAX_EVENT_LINE)
        if not line:
            return
        if len(line) >= MAX_EVENT_LINE and not line.endswith(b"\n"):
            raise ValueError(f"event stream line longer than {MAX_EVENT_LINE} bytes")
        yield line.decode("utf-8", "replace").rstrip("\r\n")


def _events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """Parse Server-Sent Events into ``(event, data)`` pairs."""
    event, data = "message", []
    for line in lines:
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)


def _change_id(data: str) -> int:
    try:
        return int(json.loads(data).get("change_id", 0))
    except (ValueError, AttributeError, TypeError):
        return 0
