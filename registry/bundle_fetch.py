"""Bundle batches fetched from a server while the last one is being checked.

A first start fetches every bundle of the state (20,000 of them for 10,000 prompts with
canaries, 100 requests of 200). One request at a time leaves the server idle while the SDK
hashes what it got, and the SDK idle while the server reads the next batch; with
``CONNECTIONS`` requests in flight, each on its own connection in a thread of its own, the
two overlap (socket reads and SHA-256 release the GIL): a 10,000-prompt first start took
a fifth less, 0.53-0.58 s against 0.67-0.68 s (medians of 5, bench/README.md). Small
fetches, such as a delta's new bundles, stay on one connection in the calling thread.

Pure standard library: the SDK imports it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from promptctl.errors import PromptctlError

if TYPE_CHECKING:
    import http.client

    from promptctl.http_transport import HttpTransport

__all__ = ["CONNECTIONS", "fetch_batches"]

CONNECTIONS = 2  # requests in flight during a large fetch (3 gained nothing, 4 lost)

GetBatch = Callable[[list[str], "http.client.HTTPConnection"], bytes]


def fetch_batches(server: HttpTransport, batches: list[list[str]], get: GetBatch,
                  stop: threading.Event) -> Iterator[tuple[list[str], bytes]]:
    """``(batch, body)`` for each of ``batches``, as they arrive (not in order).

    ``get(batch, conn)`` makes one request. The first error it raises is raised here once
    the requests in flight have ended; once ``stop`` is set, no new request starts.
    """
    if len(batches) < 2 * CONNECTIONS:
        conn = server.connection(server.timeout)
        try:
            for batch in batches:
                if stop.is_set():
                    return
                yield batch, get(batch, conn)
        finally:
            conn.close()
        return
    yield from _in_flight(server, batches, get, stop)


def _in_flight(server: HttpTransport, batches: list[list[str]], get: GetBatch,
               stop: threading.Event) -> Iterator[tuple[list[str], bytes]]:
    todo = iter(batches)
    take = threading.Lock()
    halt = threading.Event()
    results: queue.SimpleQueue[tuple[list[str], bytes] | PromptctlError | None] = \
        queue.SimpleQueue()

    def work() -> None:
        conn = server.connection(server.timeout)
        try:
            while not (halt.is_set() or stop.is_set()):
                with take:
                    batch = next(todo, None)
                if batch is None:
                    break
                results.put((batch, get(batch, conn)))
        except PromptctlError as exc:
            halt.set()  # the other workers start no new request
            results.put(exc)
        finally:
            conn.close()
            results.put(None)  # this worker has ended

    workers = [threading.Thread(target=work, daemon=True, name="promptctl-bundle-fetch")
               for _ in range(CONNECTIONS)]
    for worker in workers:
        worker.start()
    error: PromptctlError | None = None
    try:
        running = len(workers)
        while running:
            item = results.get()
            if item is None:
                running -= 1
            elif isinstance(item, PromptctlError):
                error = error or item
                halt.set()
            elif error is None:
                yield item
    finally:
        halt.set()
        for worker in workers:
            worker.join(server.timeout + 1)
    if error is not None:
        raise error
