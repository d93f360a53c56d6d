"""How the API is run: the listening socket, a timed HTTP/1.1 protocol and uvicorn's server.

uvicorn closes idle kept-alive connections, but nothing bounds how long a client may take to
send a request head: one that trickles header bytes, or sends nothing at all, holds a file
descriptor for ever, and a few hundred of them starve the server. :class:`TimedH11Protocol`
closes a connection whose request head has not arrived within ``header_timeout_seconds``
(or which still sends a refused body after ``body_timeout_seconds``), and drops connections
beyond ``max_connections`` as soon as they are accepted. The timeout for reading a body lives
in the middleware, which reads every body through the ASGI receive path.

The socket is bound here, before ``serve`` prints anything, so a taken or invalid port is one
clear error instead of a "serving" line followed by uvicorn's complaint or a traceback.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from dataclasses import replace
from typing import Any

import h11
import uvicorn
from uvicorn.config import LOG_LEVELS
from uvicorn.protocols.http.h11_impl import H11Protocol

from promptctl.errors import BackendUnavailable, UsageError
from promptctl.limits import DEFAULT_LIMITS, Limits

BACKLOG = 2048  # uvicorn's default listen backlog


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request head and a connection cap."""

    header_timeout: float = DEFAULT_LIMITS.header_timeout_seconds
    body_timeout: float = DEFAULT_LIMITS.body_timeout_seconds
    max_connections: int = DEFAULT_LIMITS.max_connections

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._drain_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            self.logger.warning("closing a new connection: %d are open (max_connections)",
                                len(self.connections) - 1)
            self.transport.close()
            return
        self._await_head()  # a client that connects and sends nothing is closed too

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.SEND_BODY:
            self._drain_timer = _cancel(self._drain_timer)
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self._await_head()  # part of a head so far: the clock runs from its first byte
        else:
            self._head_timer = _cancel(self._head_timer)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if (self.conn.their_state is h11.SEND_BODY and self._drain_timer is None
                and not self.transport.is_closing()):
            # answered (413) before the body was read: what is still sent is discarded,
            # and each byte would put off the idle timeout, so bound the discarding too
            self._drain_timer = self.loop.call_later(
                self.body_timeout, self._close, "rest of an unread body not sent within %gs",
                self.body_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._head_timer = _cancel(self._head_timer)
        self._drain_timer = _cancel(self._drain_timer)
        super().connection_lost(exc)

    def _await_head(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(
                self.header_timeout, self._close, "no request head within %gs",
                self.header_timeout)

    def _close(self, why: str, seconds: float) -> None:
        self._head_timer = self._drain_timer = None
        if not self.transport.is_closing():
            self.logger.info("closing a connection: " + why, seconds)
            self.transport.close()


def _cancel(timer: asyncio.TimerHandle | None) -> asyncio.TimerHandle | None:
    """Cancel ``timer`` if set; None, to assign back."""
    if timer is not None:
        timer.cancel()
    return None


def timed_protocol(limits: Limits) -> type[TimedH11Protocol]:
    """:class:`TimedH11Protocol` with ``limits``' header timeout and connection cap."""
    return type("TimedH11Protocol", (TimedH11Protocol,),
                {"header_timeout": limits.header_timeout_seconds,
                 "body_timeout": limits.body_timeout_seconds,
                 "max_connections": limits.max_connections})


def with_overrides(limits: Limits, **flags: float | int | None) -> Limits:
    """``limits`` with the server flags that were given (``header_timeout_seconds=3``...)."""
    given = {name: value for name, value in flags.items() if value is not None}
    for name, value in given.items():
        if not value > 0 or value != value or value == float("inf"):
            raise UsageError(f"{name} must be a positive number, got {value}", setting=name)
    return replace(limits, **given)  # type: ignore[arg-type]  # each flag's own type


def bind_socket(host: str, port: int) -> socket.socket:
    """A socket listening on ``host:port``; a UsageError (bad port or host) or
    BackendUnavailable (port taken, not allowed) otherwise."""
    if not 0 <= port <= 65535:
        raise UsageError(f"the port must be between 0 and 65535, got {port}", setting="port")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (OSError, UnicodeError, ValueError):
        raise UsageError(f"{host!r} is not an address to listen on", setting="host") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        raise _bind_error(host, port, exc) from None
    return sock


def _bind_error(host: str, port: int, exc: OSError) -> UsageError | BackendUnavailable:
    where = f"cannot listen on {host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return BackendUnavailable(f"{where}: the port is already in use")
    if exc.errno == errno.EADDRNOTAVAIL:
        return UsageError(f"{where}: {host} is not an address of this machine", setting="host")
    if exc.errno == errno.EACCES:
        return BackendUnavailable(f"{where}: permission denied (ports below 1024 need "
                                  "privileges)")
    return BackendUnavailable(f"{where}: {exc.strerror or exc}")


def make_server(app: Any, limits: Limits, log_level: str = "warning") -> uvicorn.Server:
    """One uvicorn worker for ``app`` with ``limits``' timeouts and connection cap.

    Idle keep-alive connections are uvicorn's own ``timeout_keep_alive``; its
    ``limit_concurrency`` answers 503 once more requests are in flight than connections
    are allowed (only pipelining can get there)."""
    if log_level not in LOG_LEVELS:
        raise UsageError(f"the log level must be one of {', '.join(LOG_LEVELS)}, got "
                         f"{log_level!r}", setting="log_level")
    config = uvicorn.Config(
        app, http=timed_protocol(limits), log_level=log_level, workers=1,
        timeout_graceful_shutdown=2,
        timeout_keep_alive=limits.idle_timeout_seconds,  # type: ignore[arg-type]  # float is fine
        limit_concurrency=limits.max_connections + 1,
    )
    return uvicorn.Server(config)
