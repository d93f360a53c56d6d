"""One promptctl server reached over plain ``http.client``: the SDK's and the CLI's transport.

Both the SDK (:mod:`promptctl.client`) and the CLI's remote mode (:mod:`promptctl.remote`)
talk to a server through :class:`HttpTransport`, so the URL check, the bearer header, the
timeouts, https, the one-line "cannot reach" error (its URL's password masked) and the
mapping of ``{error, detail}`` bodies back to exceptions are written once.

Standard library only: ``http.client`` (and the ``email`` and ``ssl`` modules under it)
loads when a transport is made, not when this module is imported, so an app that only
reads a snapshot file never pays for it. An https URL verifies the server's certificate
with the system's CA bundle (``ssl.create_default_context``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from promptctl.errors import BackendUnavailable, UsageError
from promptctl.http_errors import error_from_body
from promptctl.urls import http_url_problem, redact_url

if TYPE_CHECKING:
    import http.client

__all__ = ["HttpTransport", "describe_error"]


class HttpTransport:
    """Where the server is: one URL (with an optional path prefix), a token, a timeout.

    A connection per request unless the caller passes one: requests are seconds apart,
    and a fresh connection never trips over a socket the server (or a proxy) closed
    meanwhile.
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
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._https = parts.scheme == "https"
        self._host, self._port = parts.hostname, parts.port
        self._prefix = parts.path.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def connection(self, timeout: float) -> http.client.HTTPConnection:
        client = self._client
        cls = client.HTTPSConnection if self._https else client.HTTPConnection
        conn: http.client.HTTPConnection = cls(self._host, self._port, timeout=timeout)
        return conn

    def path(self, path: str) -> str:
        return self._prefix + path

    def get(self, path: str, headers: Mapping[str, str],
            conn: http.client.HTTPConnection | None = None
            ) -> tuple[int, bytes, http.client.HTTPResponse]:
        """``(status, body, response)`` of ``GET path`` (200 or 304); the server's error as
        its exception, BackendUnavailable when it cannot be reached. With ``conn``, on that
        kept-alive connection (the caller closes it)."""
        status, body, response = self.send("GET", path, headers=headers, conn=conn)
        if status not in (200, 304):
            raise error_from_body(status, body, response.reason)
        return status, body, response

    def call(self, method: str, path: str, body: Mapping[str, Any] | None = None,
             params: Mapping[str, str] | None = None) -> Any:
        """The JSON answer of one request with a JSON ``body``; the server's error (4xx,
        5xx) as the exception class its code names."""
        headers = {"Accept": "application/json"}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if params:
            path = f"{path}?{urlencode(params)}"
        status, data, response = self.send(method, path, payload, headers)
        if status >= 400:
            raise error_from_body(status, data, response.reason)
        try:
            return json.loads(data)
        except ValueError:
            raise BackendUnavailable(redact_url(f"{self.url} answered {method} {path} with "
                                                f"HTTP {status} but not JSON")) from None

    def send(self, method: str, path: str, payload: bytes | None = None,
             headers: Mapping[str, str] | None = None,
             conn: http.client.HTTPConnection | None = None
             ) -> tuple[int, bytes, http.client.HTTPResponse]:
        """``(status, body, response)`` of any request, whatever its status."""
        own = conn is None
        conn = conn or self.connection(self.timeout)
        try:
            conn.request(method, self.path(path), body=payload,
                         headers={**self.headers, **(headers or {})})
            response = conn.getresponse()
            data = response.read()
        except self.errors as exc:
            conn.close()
            raise BackendUnavailable(redact_url(f"cannot reach {self.url}: "
                                                f"{describe_error(exc)}")) from None
        finally:
            if own:
                conn.close()
        return response.status, data, response


def describe_error(exc: BaseException) -> str:
    """An exception as one line of text (some socket errors have an empty message)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
