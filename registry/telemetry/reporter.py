"""The SDK's reporting thread: flushes closed windows every ``flush_interval`` seconds and
tells the server which change this instance serves, within ~0.2 s of every swap.

One ``POST /v1/envs/{env}/outcomes`` carries the instance's fleet record (id, app, SDK
version, host, applied change id, source, last swap) and up to :data:`WINDOWS_PER_REPORT`
windows, oldest first. Windows leave memory only once the server accepted them (2xx) or
refused them (4xx: resending would be refused again, so they are dropped and counted);
while the server cannot be reached they wait, for ``keep_seconds`` at most.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any, Protocol

from promptctl.telemetry.recorder import Recorder
from promptctl.version import __version__

WINDOWS_PER_REPORT = 100  # about 40 KB: under the server's 64 KB body limit
TICK = 0.2  # seconds between drains of the call queue (and checks for a swap)
POST_TIMEOUT = 2.0


class Followed(Protocol):
    """What the reporter reads of the :class:`promptctl.client.Registry` it reports for."""

    env: str
    source: str

    @property
    def change_id(self) -> int: ...

    def wait_for_change(self, after: int, timeout: float) -> bool: ...


class Reporter:
    def __init__(self, registry: Followed, recorder: Recorder, server: Any, *,
                 flush_interval: float = 10.0, app: str = "", instance_id: str | None = None
                 ) -> None:
        self.registry = registry
        self.recorder = recorder
        self.server = server  # promptctl.client._Server: connection(), path(), headers
        self.flush_interval = flush_interval
        self.instance = {"id": instance_id or uuid.uuid4().hex[:16], "app": app[:128],
                         "sdk_version": "", "host": "", "started_at": time.time()}
        self.swapped_at = time.time()
        self.refused_windows = 0
        self.reports = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        import socket

        self.instance["host"] = socket.gethostname()[:128]
        self.instance["sdk_version"] = __version__
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"promptctl-telemetry-{self.registry.env}")
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread, then send what is left (every window, the open ones too)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is None:
            return
        thread.join(timeout)
        if thread.is_alive():  # stuck in a request: leave the rest to it, never race it
            return
        try:
            self.recorder.drain()
            self._send(everything=True)
        except Exception:  # closing the app must not fail on telemetry
            return

    def _run(self) -> None:
        last = self._change_id()
        next_flush = time.monotonic() + self.flush_interval
        self._send()  # announce this instance at once
        while not self._stop.is_set():
            wait = max(0.0, min(TICK, next_flush - time.monotonic()))
            try:
                self.registry.wait_for_change(last, wait)
                self.recorder.drain()
                current = self._change_id()
                if current > last:
                    last, self.swapped_at = current, time.time()
                    self._send(windows=False)
                if time.monotonic() >= next_flush:
                    next_flush = time.monotonic() + self.flush_interval
                    self._send()
            except Exception:
                self._stop.wait(TICK)

    def _change_id(self) -> int:
        try:
            return self.registry.change_id
        except Exception:
            return 0

    def body(self, windows: list[dict[str, Any]]) -> dict[str, Any]:
        rec = self.recorder
        return {"instance": {**self.instance, "change_id": self._change_id(),
                             "source": self.registry.source, "swapped_at": self.swapped_at},
                "window_seconds": rec.window_seconds, "windows": windows,
                "dropped": {"calls": rec.dropped_calls, "windows": rec.dropped_windows,
                            "rejected": rec.rejected_calls, "refused": self.refused_windows}}

    def _send(self, *, windows: bool = True, everything: bool = False) -> None:
        """One report at a time, until the closed windows are sent (or the server fails)."""
        while True:
            batch = self.recorder.closed(time.time(), everything=everything,
                                         limit=WINDOWS_PER_REPORT) if windows else []
            status = self._post(self.body([doc for _, doc in batch]))
            if status is None or status >= 500:
                return  # kept for the next flush
            if status >= 400:
                self.refused_windows += len(batch)
            self.recorder.sent([key for key, _ in batch])
            self.reports += 1
            if len(batch) < WINDOWS_PER_REPORT:
                return

    def _post(self, body: dict[str, Any]) -> int | None:
        server = self.server
        data = json.dumps(body, separators=(",", ":")).encode()
        conn = server.connection(POST_TIMEOUT)
        try:
            conn.request("POST", server.path(f"/v1/envs/{self.registry.env}/outcomes"), data,
                         {**server.headers, "Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            return int(response.status)
        except server.errors:
            return None
        finally:
            conn.close()
