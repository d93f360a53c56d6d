"""Python SDK: look up which prompt bundle to use, locally, from a live state.

    from promptctl.client import Registry

    with Registry("http://127.0.0.1:8700", "production", token,
                  fallback_path=".promptctl/snapshot.json") as reg:
        bundle = reg.get("support", key=user_id)
        messages = bundle.render(customer="Ann", question="Where is my parcel?")
        log.info("llm call", extra=bundle.trace())

The lifecycle is UnleashClient's: the constructor only configures; :meth:`Registry.start`
(or entering the ``with`` block) fetches the environment's state (:mod:`promptctl.state`:
per prompt its rollout and the fingerprints of the bundles it serves) and the bundles it
does not hold yet (``GET /v1/bundles``, each checked against its fingerprint), or falls back
to ``fallback_path`` when the server cannot be reached. A daemon thread then follows the
server's event stream, which carries each change as a delta: the entries of the prompts it
changed (while the stream is down it polls ``state?since=<change id>``). A change costs
O(change): a few hundred bytes, plus the bundles of versions not seen before.
Everything good is persisted beside ``fallback_path`` (:mod:`promptctl.state_files`).
:meth:`Registry.close` stops the thread. :meth:`Registry.from_snapshot` starts from those
files (or from a format-1 snapshot file), fully offline.

``get()`` evaluates the in-memory state: no lock, and no I/O once a prompt has been used
(its first ``get()`` reads its bundles from the local store, well under a millisecond).
The SDK is meant to be imported by apps, so it loads only the standard library, ``mmh3``
and the pure modules :mod:`promptctl.state`, :mod:`promptctl.bundle_store` and
:mod:`promptctl.errors`: HTTP goes through ``http.client``, and the template engine loads
on the first ``render()``.
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

from promptctl.bundle_fetch import fetch_batches
from promptctl.bundle_store import DEFAULT_BUDGET_BYTES, BundleStore
from promptctl.canonical import canonical_json  # imported here, not on the first change
from promptctl.errors import BackendUnavailable, PromptctlError, UsageError, ValidationError
from promptctl.http_errors import error_from_body
from promptctl.http_transport import HttpTransport
from promptctl.snapshot import ResolvedBundle
from promptctl.state import (
    STATE_MEDIA_TYPE,
    Snapshot,
    State,
    served_fingerprints,
    state_from_snapshot,
)
from promptctl.state_files import StateFiles, load_state_file
from promptctl.telemetry.recorder import Recorder

if TYPE_CHECKING:
    import http.client
    import logging
    import socket

    from UnleashClient import UnleashClient  # type: ignore[attr-defined]

    from promptctl.session_pins import SessionPins
    from promptctl.telemetry.reporter import Reporter

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
BUNDLES_PER_REQUEST = 200  # the server's default max_bundles_per_request; halved on a 422
RETAIN_EVERY = 256  # new bundles between two passes that drop those no longer served
# A first download with more new bundles than this is persisted by the background thread,
# so that start() does not wait for tens of megabytes to reach the disk.
PERSIST_IN_BACKGROUND = 1000


class Registry:
    """A thread-safe, read-only view of one environment's rollouts."""

    def __init__(self, url: str | None, env: str, token: str | None = None,
                 fallback_path: str | os.PathLike[str] | None = None, *,
                 timeout: float = 5.0, poll_interval: float = 5.0,
                 unleash: UnleashClient | None = None, snapshot: Snapshot | None = None,
                 state: State | None = None, bundle_cache_bytes: int = DEFAULT_BUDGET_BYTES,
                 session_ttl: float | None = None, max_sessions: int | None = None,
                 pin_through_rollback: bool = False,
                 app_name: str = "", flush_interval: float = 10.0,
                 telemetry_window: float | None = None, telemetry: bool = True,
                 instance_id: str | None = None) -> None:
        """Configure only: no I/O and no thread until :meth:`start`.

        ``state`` (or a format-1 ``snapshot``) makes an offline registry that evaluates it
        and never connects (``url`` is then None); :meth:`from_snapshot` builds one from
        files. ``bundle_cache_bytes`` bounds the bundles kept in memory that the state no
        longer serves (kept for a rollback); served bundles are always kept.
        ``session_ttl``, ``max_sessions`` and ``pin_through_rollback`` configure the session
        pins of ``get(..., session=...)`` (:mod:`promptctl.session_pins`).

        Outcome telemetry (:meth:`track`, :mod:`promptctl.telemetry`): calls are aggregated
        per ``telemetry_window`` seconds (default ``flush_interval``) and sent with this
        instance's fleet record (``app_name``, ``instance_id``) every ``flush_interval``
        seconds; ``telemetry=False`` sends nothing.
        """
        if snapshot is not None and state is None:
            state = state_from_snapshot(snapshot.doc, BundleStore(budget_bytes=bundle_cache_bytes))
        if url is None and state is None:
            raise UsageError("a Registry needs a server URL or a snapshot")
        self.url = (url or "").rstrip("/")
        self.env = env
        self.fallback_path = Path(fallback_path) if fallback_path else None
        self.poll_interval = poll_interval
        self.bundle_cache_bytes = bundle_cache_bytes
        self._unleash = unleash
        self._pin_options = (session_ttl, max_sessions, pin_through_rollback)
        self._pins: SessionPins | None = None  # made on the first get() with a session
        self._server = HttpTransport(self.url, token, timeout) if url is not None else None
        self._state: State | None = None
        self._set_state(state)
        self._files = StateFiles(self.fallback_path) if self.fallback_path else None
        self._store: BundleStore | None = None
        self._legacy = False  # the server predates states: follow format-1 snapshots
        self._batch = BUNDLES_PER_REQUEST
        self._fetched_since_retain = 0
        self._persist_pending = False
        self._persisting = threading.Event()
        self._stop = threading.Event()
        self._swapped = threading.Condition()
        self._stream_socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self.source = "poll"  # where the state came from last: stream | poll | fallback
        self._recorder = Recorder(window_seconds=telemetry_window or flush_interval)
        # No extra call on the hot path; nothing is kept where nothing will send it.
        self.track = (self._recorder.track if telemetry and url is not None  # type: ignore[method-assign]
                      else _ignore)
        self._telemetry = (app_name, flush_interval, instance_id) if telemetry else None
        self._reporter: Reporter | None = None

    @classmethod
    def from_snapshot(cls, path: str | os.PathLike[str], *,
                      bundle_cache_bytes: int = DEFAULT_BUDGET_BYTES) -> Registry:
        """A registry that only evaluates what ``path`` holds, fully offline: the files an
        SDK persisted at its ``fallback_path`` (state, journal, bundle pack), or a format-1
        snapshot file (``GET /v1/envs/{env}/snapshot``)."""
        state, _ = load_state_file(path, bundle_cache_bytes)
        return cls(None, state.env, state=state, bundle_cache_bytes=bundle_cache_bytes)

    @property
    def offline(self) -> bool:
        return self._server is None

    # -- the hot path -------------------------------------------------------------------------

    def get(self, name: str, key: object = None,
            context: Mapping[str, object] | None = None, session: object = None
            ) -> ResolvedBundle:
        """The bundle of prompt ``name`` for ``key`` (a userId) or an Unleash-style
        ``context`` (``userId``, ``sessionId``, ``properties``) in this environment.

        With ``session`` (a conversation id), the bundle the session got first, for as long
        as it lasts (:mod:`promptctl.session_pins`); with no key nor context, the session
        is also what the rollout buckets on (as a ``sessionId``)."""
        state = self._state
        if state is None:
            raise _not_started()
        if session is not None:
            return self._pinned(name, key, context, session)
        if self._unleash is not None:
            return self._via_unleash(state, name, key, context)
        return state.resolve(name, key, context)

    def _pinned(self, name: str, key: object, context: Mapping[str, object] | None,
                session: object) -> ResolvedBundle:
        state = self._state
        if state is None:
            raise _not_started()
        if self._pins is None:
            from promptctl.session_pins import SessionPins

            ttl, most, through = self._pin_options
            self._pins = SessionPins(ttl, most, through_rollback=through)
        if key is None and context is None:
            context = {"sessionId": str(session)}
        if self._unleash is not None:
            return self._pins.get(state, name, key, context, session,
                                  lambda n, k, c: self._via_unleash(state, n, k, c))
        return self._pins.get(state, name, key, context, session, state.resolve)

    def _via_unleash(self, state: State, name: str, key: object,
                     context: Mapping[str, object] | None) -> ResolvedBundle:
        """Let the app's ``UnleashClient`` pick the version (``PROMPTCTL_FLAGS=unleash``), and
        serve that version's bundle from the state. Should Unleash name a version the
        state does not serve yet, the state's own decision (same bucketing) is used."""
        from promptctl.flags.unleash_reader import resolve_version

        ctx = dict(context or {})
        if key is not None:
            ctx["userId"] = key
        assert self._unleash is not None  # only called when an UnleashClient was given
        version, _ = resolve_version(self._unleash, self.env, name, ctx)
        return state.bundle_of(name, version) or state.resolve(name, key, context)

    def track(self, bundle: ResolvedBundle, latency: float | None = None,
              input_tokens: int = 0, output_tokens: int = 0, cost: float = 0.0,
              error: str | None = None, feedback: int = 0, output: object = None,
              tool_calls: object = None) -> None:
        """Record one LLM call made with ``bundle``: never blocks, does no I/O, never
        raises (see :meth:`promptctl.telemetry.recorder.Recorder.track`; this method is
        replaced by that one on each instance)."""
        self._recorder.track(bundle, latency, input_tokens, output_tokens, cost, error,
                             feedback, output, tool_calls)

    def _set_state(self, state: State | None) -> None:
        """Hold ``state``; ``get`` then calls its ``resolve`` directly (an instance attribute
        shadowing the method above: one call less on the hot path, same answers)."""
        self._state = state
        if state is not None and self._unleash is None:
            state.pinned = self._pinned  # get(..., session=S) lands here
            self.get = state.resolve  # type: ignore[method-assign]

    # -- introspection ------------------------------------------------------------------------

    @property
    def snapshot(self) -> State:
        """The current state (``.doc``, ``.change_id``, ``.resolve()``)."""
        state = self._state
        if state is None:
            raise _not_started()
        return state

    @property
    def change_id(self) -> int:
        return self.snapshot.change_id

    def names(self) -> list[str]:
        return self.snapshot.names()

    def wait_for_change(self, after: int, timeout: float) -> bool:
        """Block until the state's change id exceeds ``after``; False on timeout."""
        with self._swapped:
            return self._swapped.wait_for(
                lambda: self._state is not None and self._state.change_id > after, timeout)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Registry:
        """Fetch the state and the bundles not held yet (or load ``fallback_path`` when the
        server cannot be reached) and start following changes. Returns ``self``; a second
        call does nothing.

        Raises what the server answered for a bad token or environment (``AuthError``,
        ``PermissionDenied``, ``NotFoundError``): those never fall back.
        """
        if self._closed:
            raise UsageError("this Registry is closed: make a new one")
        if self._server is None or self._thread is not None:
            return self
        self._set_state(self._first_state(self._server))
        self._thread = threading.Thread(target=self._follow, name=f"promptctl-registry-{self.env}",
                                        daemon=True)
        self._thread.start()
        if self._telemetry is not None:
            from promptctl.telemetry.reporter import Reporter

            app, flush, instance = self._telemetry
            self._reporter = Reporter(self, self._recorder, self._server, app=app,
                                      flush_interval=flush, instance_id=instance)
            self._reporter.start()
        return self

    def close(self) -> None:
        """Stop following changes; ``get()`` keeps answering from the last state."""
        self._closed = True
        self._stop.set()
        sock = self._stream_socket
        if sock is not None:
            import socket

            # Closing a response does not wake a thread blocked reading it; shutting the
            # socket down does, so the stream ends now rather than at the next keepalive.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        if self._reporter is not None:
            self._reporter.stop()  # sends what is left
        if self._thread is not None:
            self._thread.join(timeout=2)
            if self._persisting.is_set():  # the first large download is being written
                self._thread.join(timeout=120)

    def __enter__(self) -> Registry:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- the first state ----------------------------------------------------------------------

    def _open_store(self) -> BundleStore:
        if self._store is None:
            self._store = (self._files.open_store(self.bundle_cache_bytes) if self._files
                           else BundleStore(budget_bytes=self.bundle_cache_bytes))
        return self._store

    def _first_state(self, server: HttpTransport) -> State:
        store = self._open_store()
        try:
            state = self._download(server, store)
            assert state is not None
            fetched = self._complete(server, state, self._local_state(store))
        except BackendUnavailable as exc:
            return self._fallback(exc)
        self._fetched_since_retain = 0  # the state serves all of them
        if fetched > PERSIST_IN_BACKGROUND and self._files is not None:
            self._persist_pending = True
            self._persisting.set()
        else:
            self._persist_full(state)
        return state

    def _local_state(self, store: BundleStore) -> State | None:
        """What the fallback files hold, to reuse their bundles (None if unreadable)."""
        if self._files is None or not self._files.exists():
            return None
        try:
            local = self._files.load(store)
        except PromptctlError:
            return None
        return local if local.env == self.env else None

    def _fallback(self, exc: BackendUnavailable) -> State:
        if self._files is None or not self._files.exists():
            raise BackendUnavailable(f"{exc.message}, and there is no fallback snapshot"
                                     ) from None
        _log().warning("%s; starting from %s", exc.message, self.fallback_path)
        self.source = "fallback"
        state = self._files.load(self._open_store())
        if state.env != self.env:
            raise BackendUnavailable(
                f"{exc.message}, and {self.fallback_path} holds environment "
                f"{state.env!r}, not {self.env!r}") from None
        return state

    def _download(self, server: HttpTransport, store: BundleStore, etag: str | None = None
                  ) -> State | None:
        """GET the full state (None when it has not changed since ``etag``). A server that
        predates states answers with a format-1 snapshot, which is read as well."""
        headers = {"Accept": f"{STATE_MEDIA_TYPE}, application/json"}
        if etag:
            headers["If-None-Match"] = etag
        status, body, response = server.get(f"/v1/envs/{self.env}/snapshot", headers)
        if status == 304:
            return None
        self._legacy = STATE_MEDIA_TYPE not in (response.getheader("Content-Type") or "")
        return State.parse(body, store, legacy=True)

    # -- bundles ------------------------------------------------------------------------------

    def _complete(self, server: HttpTransport, state: State, local: State | None = None) -> int:
        """Make sure ``state``'s bundles are all in the store: reuse those the local files
        hold (each checked against its fingerprint), fetch the others; how many were."""
        store = self._open_store()
        # In fingerprint order: every instance starting from the same state then asks for the
        # same /v1/bundles URLs (immutable answers), which a shared HTTP cache can serve.
        wanted = sorted(fp for fp in state.fingerprints() if not store.has(fp))
        if wanted and local is not None:
            where = {fp: at for _, entry in local.entries()
                     for fp, at in (entry.get("at") or {}).items()}
            wanted = [fp for fp in wanted if not store.verify(fp, where.get(fp))]
        self._fetch(server, wanted)
        return len(wanted)

    def _fetch(self, server: HttpTransport, wanted: list[str]) -> None:
        """Fetch ``wanted`` in batches (``bundle_fetch``); bytes that do not hash to a
        fingerprint asked for are refused, and what is still missing is asked for again
        (briefly: a replica may not know a bundle yet that another one just announced)."""
        store = self._open_store()
        for delay in (0.0, *LAGGING_REPLICA_RETRIES):
            wanted = [fp for fp in wanted if not store.has(fp)]
            if not wanted:
                return
            if delay and self._stop.wait(delay):
                break
            batches = [wanted[i:i + self._batch] for i in range(0, len(wanted), self._batch)]
            try:
                for batch, body in fetch_batches(
                        server, batches, lambda b, conn: self._get_bundles(server, b, conn),
                        self._stop):
                    store.add(body.split(b"\n")[:-1], batch)
            except BackendUnavailable as exc:
                _log().debug("bundle fetch failed: %s", exc.message)
        missing = [fp for fp in wanted if not store.has(fp)]
        if missing:
            refused = f" ({store.refused} refused: bytes not matching their fingerprint)" \
                if store.refused else ""
            raise BackendUnavailable(f"{self.url} did not send {len(missing)} bundle(s) of "
                                     f"{self.env}, e.g. {missing[0][:12]}{refused}")

    def _get_bundles(self, server: HttpTransport, batch: list[str],
                     conn: http.client.HTTPConnection) -> bytes:
        """One ``GET /v1/bundles`` of ``batch``; a server that refuses a batch this large
        makes the next ones half the size."""
        try:
            return server.get(f"/v1/bundles?fp={','.join(batch)}", {}, conn)[1]
        except ValidationError:
            if self._batch == 1:
                raise
            self._batch = max(1, self._batch // 2)  # a server with a lower limit
            raise BackendUnavailable("bundle batch too large; retrying") from None

    # -- changing -----------------------------------------------------------------------------

    def _apply(self, server: HttpTransport, delta: Mapping[str, object]) -> bool:
        """Fetch the bundles a delta needs, apply it, persist it; False if it was stale."""
        state = self.snapshot
        if state.check_delta(delta) != "apply":
            return False
        changes = delta["changes"]
        assert isinstance(changes, Mapping)
        needed = [fp for entry in changes.values() if entry for fp in served_fingerprints(entry)]
        store = self._open_store()  # bundles new to it, counted towards the next retain()
        self._fetched_since_retain += sum(1 for fp in set(needed) if not store.has(fp))
        brought = delta.get("bundles")
        if isinstance(brought, Mapping):  # checked like any other: hashed before use
            wanted = set(needed)
            for fp, bundle in brought.items():
                with contextlib.suppress(TypeError, ValueError):
                    store.add([canonical_json(bundle)], [fp] if fp in wanted else [])
            delta = {k: v for k, v in delta.items() if k != "bundles"}
        self._fetch(server, needed)
        with self._swapped:
            state.apply(delta)
            self._swapped.notify_all()
        if self._files is not None:
            try:
                self._files.append(delta, state, self._open_store())
            except OSError as exc:
                _log().warning("cannot write fallback state %s: %s", self.fallback_path, exc)
        self._retain(state)
        return True

    def _swap(self, server: HttpTransport, state: State) -> None:
        """Replace the state whole (a broken delta chain): its bundles first; the bundles
        both share are the same objects, so nothing in use is compiled again."""
        self._complete(server, state)
        with self._swapped:
            self._set_state(state)
            self._swapped.notify_all()
        self._persist_full(state)
        self._retain(state, force=True)

    def _retain(self, state: State, force: bool = False) -> None:
        if force or self._fetched_since_retain >= RETAIN_EVERY:
            self._fetched_since_retain = 0
            self._open_store().retain(state.fingerprints())

    def _persist_full(self, state: State) -> None:
        if self._files is None:
            return
        try:
            self._files.write_full(state, self._open_store())
        except OSError as exc:
            _log().warning("cannot write fallback state %s: %s", self.fallback_path, exc)

    def _refresh(self, server: HttpTransport, at_least: int = 0) -> None:
        """Ask for what changed since the held state and apply it; failures keep it.

        Never applies an older state than the one held. ``at_least`` is a change id an
        event announced: behind a load balancer the request may reach another replica
        than the stream, one that hears of the change a moment later, so until the state
        has that change, retry briefly.
        """
        for delay in (0.0, *LAGGING_REPLICA_RETRIES):
            if delay and self._stop.wait(delay):
                return
            try:
                self._refresh_once(server)
            except PromptctlError as exc:
                _log().debug("state refresh failed: %s", exc.message)
                if not at_least:
                    return
                continue
            if self.snapshot.change_id >= at_least:
                return
        _log().debug("change %d is not served yet; waiting for the next event", at_least)

    def _refresh_once(self, server: HttpTransport) -> None:
        current = self.snapshot
        if self._legacy:
            fresh = self._download(server, self._open_store(),
                                   _legacy_etag(self.env, current.change_id))
            if fresh is not None and fresh.change_id > current.change_id:
                self._swap(server, fresh)
            return
        status, body, response = server.get(
            f"/v1/envs/{self.env}/state?since={current.change_id}", {})
        if status == 304:
            return
        if STATE_MEDIA_TYPE not in (response.getheader("Content-Type") or ""):  # a delta
            try:
                doc = json.loads(body)
            except ValueError:
                raise ValidationError("invalid delta: not JSON") from None
            if isinstance(doc, dict) and current.check_delta(doc) == "apply":
                self._apply(server, doc)
            return
        fresh = State.parse(body, self._open_store())
        if fresh.env == self.env and fresh.change_id > current.change_id:
            self._swap(server, fresh)

    # -- following the event stream -----------------------------------------------------------

    def _follow(self) -> None:
        server = self._server
        assert server is not None
        if self._persist_pending:
            self._persist_pending = False
            try:
                self._persist_full(self.snapshot)
            finally:
                self._persisting.clear()
        backoff = 0.1
        while not self._stop.is_set():
            streamed: bool | None = False
            try:
                streamed = self._stream(server)
            except (PromptctlError, ValueError, *server.errors) as exc:  # type: ignore[misc]
                _log().debug("event stream interrupted: %s", exc)
            if self._stop.is_set():
                return
            if self.source == "stream":
                self.source = "poll"
            self._refresh(server)  # poll while the stream is down
            if streamed:
                backoff = 0.1
            delay = backoff if streamed is not None else self.poll_interval
            self._stop.wait(delay)
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _stream(self, server: HttpTransport) -> bool | None:
        """Follow the stream until it ends; True if it was up, None if unsupported."""
        conn = server.connection(server.timeout)
        try:
            conn.connect()
            self._stream_socket = conn.sock
            if self._stop.is_set():  # close() ran before the socket was published
                return True
            since = "" if self._legacy else f"?since={self.snapshot.change_id}"
            conn.request("GET", server.path(f"/v1/envs/{self.env}/events{since}"),
                         headers={**server.headers, "Accept": "text/event-stream"})
            conn.sock.settimeout(STREAM_READ_TIMEOUT)
            response = conn.getresponse()
            if response.status in (404, 405, 501):
                return None  # no event stream here: poll only
            if response.status != 200:
                raise error_from_body(response.status, response.read(), response.reason)
            self.source = "stream"
            if self._legacy:
                self._refresh(server)  # catch up on anything missed while disconnected
            for event, data in _events(_lines(response)):
                if self._stop.is_set():
                    break
                if event == "change":
                    self._on_change(server, data)
        finally:
            self._stream_socket = None
            conn.close()
        return True

    def _on_change(self, server: HttpTransport, data: str) -> None:
        """Apply the delta an event carries; ask for it when it has none or does not follow
        on from the held state (a gap)."""
        try:
            doc = json.loads(data)
            announced = int(doc.get("change_id", 0))
        except (ValueError, AttributeError, TypeError):
            return
        if announced <= self.snapshot.change_id:
            return
        if "changes" in doc and self.snapshot.check_delta(doc) == "apply":
            try:
                self._apply(server, doc)
                return
            except PromptctlError as exc:
                _log().debug("cannot apply change %d: %s", announced, exc.message)
        self._refresh(server, announced)


def _ignore(*_: object, **__: object) -> None:
    """``track()`` of a registry that reports nothing (offline, or ``telemetry=False``)."""


def _not_started() -> UsageError:
    return UsageError("this Registry has no snapshot yet: call start() or use "
                      "`with Registry(...) as reg:`")


def _legacy_etag(env: str, change_id: int) -> str:
    from promptctl.snapshot import snapshot_etag

    return snapshot_etag(env, change_id)


def _lines(response: http.client.HTTPResponse) -> Iterator[str]:
    """The response's lines, decoded, without their line ending, until it ends.

    Reads what has arrived (``read1``: one call per event the server sent, where
    ``readline`` on a chunked response costs a peek and a chunk-size check per line, about
    a fifth of the follower's CPU per change); a line of ``MAX_EVENT_LINE`` bytes or more is
    refused rather than buffered."""
    pending = b""
    while True:
        data = response.read1(MAX_EVENT_LINE)
        if not data:
            return  # an unfinished last line is dropped, as an unfinished event is
        *lines, pending = (pending + data).split(b"\n")
        for line in (*lines, pending):
            if len(line) >= MAX_EVENT_LINE:
                raise ValueError(f"event stream line longer than {MAX_EVENT_LINE} bytes")
        for line in lines:
            yield line.decode("utf-8", "replace").rstrip("\r")


def _events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """Parse Server-Sent Events into ``(event, data)`` pairs."""
    event, data = "message", list[str]()
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
