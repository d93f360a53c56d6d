"""A large first fetch keeps two bundle requests in flight (``promptctl.bundle_fetch``):
every batch arrives exactly once, whatever the order; the first error any request raises
is the caller's; once the Registry is closing, no new request starts. Against a real
server, see ``test_client_state``; here ``get`` stands for one request."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from promptctl import bundle_fetch
from promptctl.bundle_fetch import fetch_batches
from promptctl.errors import BackendUnavailable
from promptctl.http_transport import HttpTransport

SERVER = HttpTransport("http://127.0.0.1:9", None, 1.0)  # connections are never opened here


def answer(batch: list[str], conn: Any) -> bytes:
    time.sleep(0.0005)  # a request takes a while, so requests overlap
    return ",".join(batch).encode()


@settings(max_examples=25, deadline=None)
@given(count=st.integers(0, 40))
def test_every_batch_arrives_once(count: int) -> None:
    batches = [[f"fp{i}a", f"fp{i}b"] for i in range(count)]
    got = list(fetch_batches(SERVER, batches, answer, threading.Event()))
    assert sorted(map(tuple, (b for b, _ in got))) == sorted(map(tuple, batches))
    assert all(body == ",".join(batch).encode() for batch, body in got)


def test_two_requests_are_in_flight_during_a_large_fetch() -> None:
    in_flight, most = 0, 0
    lock = threading.Lock()

    def get(batch: list[str], conn: Any) -> bytes:
        nonlocal in_flight, most
        with lock:
            in_flight += 1
            most = max(most, in_flight)
        time.sleep(0.01)
        with lock:
            in_flight -= 1
        return b""

    list(fetch_batches(SERVER, [[str(i)] for i in range(8)], get, threading.Event()))
    assert most == bundle_fetch.CONNECTIONS == 2


def test_the_first_error_is_raised_once_the_requests_in_flight_end() -> None:
    asked: list[str] = []

    def get(batch: list[str], conn: Any) -> bytes:
        asked.append(batch[0])
        if batch[0] == "3":
            raise BackendUnavailable("cannot reach the server")
        return b"ok"

    with pytest.raises(BackendUnavailable, match="cannot reach"):
        list(fetch_batches(SERVER, [[str(i)] for i in range(50)], get, threading.Event()))
    assert len(asked) < 50  # no request starts after the error


def test_no_request_starts_once_the_registry_is_closing() -> None:
    stop = threading.Event()
    asked: list[str] = []

    def get(batch: list[str], conn: Any) -> bytes:
        asked.append(batch[0])
        stop.set()
        return b""

    list(fetch_batches(SERVER, [[str(i)] for i in range(50)], get, stop))
    assert len(asked) <= bundle_fetch.CONNECTIONS
