"""ASGI middleware: request-body size and time limits, and Prometheus request metrics.

Written as plain ASGI (not ``BaseHTTPMiddleware``) so the event stream is not
buffered and the hot path pays for one wrapper only.

Metric labels come from bounded sets only, so no client can grow ``/metrics``
(or the server's memory) by inventing methods or paths: methods outside
:data:`METHODS` count as ``other``, unmatched paths as ``unmatched``, and a
route is its template (``/v1/envs/{env}/...``), never the raw path.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from promptctl.errors import PayloadTooLarge, RequestTimeout
from promptctl.limits import DEFAULT_LIMITS

MAX_BODY_BYTES = 64 * 1024
STREAM_ROUTES = frozenset({"/v1/envs/{env}/events"})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

Scope = dict[str, Any]


class Metrics:
    """The server's Prometheus collectors, on a registry of its own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("promptctl_http_requests", "HTTP requests by route and status",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram(
            "promptctl_http_request_duration_seconds", "HTTP request latency by route",
            ["method", "route"], registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.resolves = Counter("promptctl_resolves", "Resolves by prompt, version and variant",
                                ["env", "prompt", "version", "variant"], registry=self.registry)


class ObservabilityMiddleware:
    def __init__(self, app: Any, metrics: Metrics, max_body: int = MAX_BODY_BYTES,
                 body_timeout: float = DEFAULT_LIMITS.body_timeout_seconds) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}
        declared = _content_length(scope)
        body = None  # a declared length over the limit is refused without reading the body
        if declared is None or declared <= self.max_body:
            try:
                body = await asyncio.wait_for(_read_body(receive, self.max_body),
                                              self.body_timeout)
            except TimeoutError:
                await _refuse(send, 408, RequestTimeout.code,
                              f"request body not received within {self.body_timeout:g}s")
                self._observe(scope, 408, started)
                return
        if body is None:  # too large (or the client went away while sending it)
            await _refuse(send, 413, PayloadTooLarge.code,
                          f"request body larger than {self.max_body} bytes")
            self._observe(scope, 413, started)
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def tracking_send(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, replay, tracking_send)
        finally:
            self._observe(scope, int(status["code"]), started)

    def _observe(self, scope: Scope, status: int, started: float) -> None:
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        method = method_label(scope.get("method", ""))
        self.metrics.requests.labels(method, path, str(status)).inc()
        if path not in STREAM_ROUTES:
            self.metrics.latency.labels(method, path).observe(time.perf_counter() - started)


def method_label(method: str) -> str:
    """``method`` if it is a standard one, else ``other``: a bounded label set."""
    return method if method in METHODS else "other"


async def _read_body(receive: Any, limit: int) -> bytes | None:
    """The whole request body, or None once it exceeds ``limit`` bytes.

    Read up front (bodies here are small JSON documents), so the limit holds
    for chunked uploads too and the app never sees a partial body.
    """
    chunks: list[bytes] = []
    total = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunk = message.get("body", b"")
        total += len(chunk)
        if total > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Any, status: int, error: str, detail: str) -> None:
    """Answer ``status`` before the body is read. A 408 also closes the connection (the
    client is too slow to wait for); after a 413 the server discards what is still sent,
    within the body timeout (``api.server``)."""
    body = json.dumps({"error": error, "detail": detail}).encode()
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    if status == 408:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
