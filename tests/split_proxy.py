"""A real HTTP reverse proxy on loopback that sends event streams to one upstream and every
other request to another: what a round-robin load balancer may do to one SDK's requests."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import uvicorn

from tests.rollout_fixtures import free_port

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


class SplitProxy:
    def __init__(self, stream_upstream: str, other_upstream: str) -> None:
        self.stream_upstream = stream_upstream
        self.other_upstream = other_upstream
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[str] = []  # "upstream path" of each forwarded request
        self._client: httpx.AsyncClient | None = None
        config = uvicorn.Config(self, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("proxy did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._server.force_exit = True  # do not wait for streams still open upstream
        self._thread.join(10)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(10, read=60))
        path = scope["path"]
        upstream = self.stream_upstream if path.endswith("/events") else self.other_upstream
        self.requests.append(f"{upstream} {path}")
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        query = scope.get("query_string", b"").decode()
        headers = [(k, v) for k, v in scope["headers"] if k.decode().lower() not in HOP_BY_HOP]
        request = self._client.build_request(
            scope["method"], f"{upstream}{path}" + (f"?{query}" if query else ""),
            headers=headers, content=body)
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError:
            await send({"type": "http.response.start", "status": 502, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        try:
            await send({"type": "http.response.start", "status": response.status_code,
                        "headers": [(k, v) for k, v in response.headers.raw
                                    if k.decode().lower() not in HOP_BY_HOP]})
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        except (httpx.HTTPError, OSError):
            pass  # an upstream stopped mid-stream (the test is stopping a server)
        finally:
            await response.aclose()
