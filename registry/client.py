"""Python SDK: look up which prompt bundle to use, locally, from a live snapshot.

    from promptctl.client import Registry

    with Registry("http://127.0.0.1:8700", "production", token,
                  fallback_path=".promptctl/snapshot.json") as reg:
        bundle = reg.get("support", key=user_id)
        messages = bundle.render(customer="Ann", question="Where is my parcel?")
        log.info("llm call", extra=bundle.trace())

``get()`` evaluates the in-memory snapshot: no I/O, no lock. A daemon thread
follows the server's event stream (reconnecting with backoff, polling the
snapshot with ``If-None-Match`` while the stream is down) and swaps in each new
snapshot atomically; every good snapshot is also written to ``fallback_path``,
which a new ``Registry`` loads when the server cannot be reached at start.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import httpx

from promptctl.errors import BackendUnavailable, PromptctlError
from promptctl.http_errors import error_from_response
from promptctl.resolver import ResolvedBundle, Snapshot
from promptctl.urls import redact_url

if TYPE_CHECKING:
    from UnleashClient import UnleashClient

__all__ = ["Registry", "ResolvedBundle"]

log = logging.getLogger(__name__)

STREAM_READ_TIMEOUT = 45.0  # the server sends a keepalive every 10 s
MAX_BACKOFF = 5.0
# Delays (s) between snapshot requests while a replica lags behind the event that announced a
# change (replicas hear of a change within milliseconds of each other, not at the same instant).
LAGGING_REPLICA_RETRIES = (0.05, 0.1, 0.2, 0.4, 0.8)


class Registry:
    """A thread-safe, read-only view of one environment's rollouts."""

    def __init__(self, url: str, env: str, token: str | None,
                 fallback_path: str | os.PathLike[str] | None = None, *,
                 timeout: float = 5.0, poll_interval: float = 5.0,
                 unleash: UnleashClient | None = None) -> None:
        self.url = url.rstrip("/")
        self._unleash = unleash
        self.env = env
        self.fallback_path = Path(fallback_path) if fallback_path else None
        self.poll_interval = poll_interval
        self._stop = threading.Event()
        self._swapped = threading.Condition()
        self._response: httpx.Response | None = None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)
        self._snapshot: Snapshot = self._first_snapshot()
        self._thread: threading.Thread | None = threading.Thread(
            target=self._follow, name=f"promptctl-registry-{env}", daemon=True)
        self._thread.start()

    @classmethod
    def from_snapshot(cls, path: str | os.PathLike[str]) -> Registry:
        """A registry that only evaluates the snapshot file at ``path``: fully offline."""
        reg = cls.__new__(cls)
        snapshot = Snapshot.load(path)
        reg.url, reg.env, reg.fallback_path, reg.poll_interval = "", snapshot.env, None, 0.0
        reg._unleash = None
        reg._stop, reg._swapped = threading.Event(), threading.Condition()
        reg._response, reg._http, reg._thread = None, None, None  # type: ignore[assignment]
        reg._stop.set()
        reg._snapshot = snapshot
        return reg

    # -- the hot path -------------------------------------------------------------------------

    def get(self, name: str, key: object = None,
            context: Mapping[str, object] | None = None) -> ResolvedBundle:
        """The bundle of prompt ``name`` for ``key`` (a userId) or an Unleash-style
        ``context`` (``userId``, ``sessionId``, ``properties``) in this environment."""
        if self._unleash is not None:
            return self._via_unleash(name, key, context)
        return self._snapshot.resolve(name, key, context)

    def _via_unleash(self, name: str, key: object,
                     context: Mapping[str, object] | None) -> ResolvedBundle:
        """Let the app's ``UnleashClient`` pick the version (``PROMPTCTL_FLAGS=unleash``), and
        serve that version's bundle from the snapshot. Should Unleash name a version the
        snapshot does not hold yet, the snapshot's own decision (same bucketing) is used."""
        from promptctl.flags.unleash_reader import resolve_version

        ctx = dict(context or {})
        if key is not None:
            ctx["userId"] = key
        version, _ = resolve_version(self._unleash, self.env, name, ctx)
        return self._snapshot.bundle_of(name, version) or self._snapshot.resolve(name, key, context)

    # -- introspection ------------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    @property
    def change_id(self) -> int:
        return self._snapshot.change_id

    def names(self) -> list[str]:
        return self._snapshot.names()

    def wait_for_change(self, after: int, timeout: float) -> bool:
        """Block until the snapshot's change id exceeds ``after``; False on timeout."""
        with self._swapped:
            return self._swapped.wait_for(lambda: self._snapshot.change_id > after, timeout)

    # -- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        self._stop.set()
        response = self._response
        if response is not None:
            # Closing an httpx response does not wake a thread blocked reading it; shutting
            # the socket down does, so the stream ends now rather than at the next keepalive.
            stream = response.extensions.get("network_stream")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._http is not None:
            with contextlib.suppress(Exception):
                self._http.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- fetching -----------------------------------------------------------------------------

    def _first_snapshot(self) -> Snapshot:
        try:
            snapshot = self._download(None)
            assert snapshot is not None
            self._save(snapshot)
            return snapshot
        except BackendUnavailable as exc:
            if self.fallback_path is not None and self.fallback_path.is_file():
                log.warning("%s; starting from %s", exc.message, self.fallback_path)
                snapshot = Snapshot.load(self.fallback_path)
                if snapshot.env != self.env:
                    raise BackendUnavailable(
                        f"{exc.message}, and {self.fallback_path} holds environment "
                        f"{snapshot.env!r}, not {self.env!r}") from None
                return snapshot
            self._http.close()
            raise BackendUnavailable(f"{exc.message}, and there is no fallback snapshot"
                                     ) from None
        except PromptctlError:
            self._http.close()
            raise

    def _download(self, etag: str | None) -> Snapshot | None:
        """GET the snapshot; None when it has not changed since ``etag``."""
        headers = {"If-None-Match": etag} if etag else {}
        try:
            response = self._http.get(f"/v1/envs/{self.env}/snapshot", headers=headers)
        except httpx.HTTPError as exc:
            raise BackendUnavailable(redact_url(f"cannot reach {self.url}: {exc}")) from None
        if response.status_code == 304:
            return None
        if response.status_code != 200:
            raise error_from_response(response)
        return Snapshot.from_json(response.content)

    def _refresh(self, at_least: int = 0) -> None:
        """Fetch if changed and swap atomically; failures keep the current snapshot.

        ``at_least`` is a change id an event announced. Behind a load balancer the snapshot
        request may reach another replica than the stream, one that hears of the change a
        moment later: until a snapshot has that change, retry briefly, and never swap in an
        older snapshot than the one held.
        """
        for delay in (0.0, *LAGGING_REPLICA_RETRIES):
            if delay and self._stop.wait(delay):
                return
            try:
                snapshot = self._download(self._snapshot.etag)
            except PromptctlError as exc:
                log.debug("snapshot refresh failed: %s", exc.message)
                if not at_least:
                    return
                continue
            if snapshot is not None and (
                    not at_least or snapshot.change_id >= self._snapshot.change_id):
                with self._swapped:
                    self._snapshot = snapshot
                    self._swapped.notify_all()
                self._save(snapshot)
            if self._snapshot.change_id >= at_least:
                return
        log.debug("change %d is not served yet; waiting for the next event", at_least)

    def _save(self, snapshot: Snapshot) -> None:
        if self.fallback_path is None:
            return
        try:
            snapshot.save(self.fallback_path)
        except OSError as exc:
            log.warning("cannot write fallback snapshot %s: %s", self.fallback_path, exc)

    # -- following the event stream -----------------------------------------------------------

    def _follow(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            streamed = False
            try:
                streamed = self._stream()
            except (httpx.HTTPError, PromptctlError, OSError, ValueError) as exc:
                log.debug("event stream interrupted: %s", exc)
            if self._stop.is_set():
                return
            self._refresh()  # ETag poll while the stream is down
            if streamed:
                backoff = 0.1
            delay = backoff if streamed is not None else self.poll_interval
            self._stop.wait(delay)
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _stream(self) -> bool | None:
        """Follow the stream until it ends; True if it was up, None if unsupported."""
        timeout = httpx.Timeout(self._http.timeout.connect, read=STREAM_READ_TIMEOUT)
        with self._http.stream("GET", f"/v1/envs/{self.env}/events", timeout=timeout) as resp:
            if resp.status_code in (404, 405, 501):
                return None  # no event stream here: poll only
            if resp.status_code != 200:
                resp.read()
                raise error_from_response(resp)
            self._response = resp
            try:
                self._refresh()  # catch up on anything missed while disconnected
                for event, data in _events(resp.iter_lines()):
                    if self._stop.is_set():
                        break
                    announced = _change_id(data) if event == "change" else 0
                    if announced > self._snapshot.change_id:
                        self._refresh(announced)
            finally:
                self._response = None
        return True


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
