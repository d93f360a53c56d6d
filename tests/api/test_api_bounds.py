"""What a stranger cannot make the server hold: metric series, slow connections, sockets.

Every test talks to a real ``promptctl serve`` over real sockets on 127.0.0.1, with the
timeouts shortened through ``PROMPTCTL_*`` variables. Waits are bounded loops, and the
time bounds asserted are generous (many times the configured timeout).
"""

from __future__ import annotations

import random
import shutil
import socket
import string
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import EXAMPLE_PROMPTS, Cli, commit_all, make_repo
from tests.rollout_fixtures import Server, free_port

pytestmark = pytest.mark.slow

TIMEOUT = 1.0  # header, body and idle timeout of the test server (seconds)
GENEROUS = 10.0  # the most a test waits for the server to act on a 1-second timeout
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def start_server(tmp: pytest.TempPathFactory, toml: str = "", **env: str) -> Server:
    """A server over a fresh repository (with ``toml`` as its promptctl.toml) and SQLite
    file, with ``env`` (PROMPTCTL_...) set."""
    root = tmp.mktemp("bounds") / "repo"
    repo = make_repo(root)
    shutil.copytree(EXAMPLE_PROMPTS, root / "prompts")
    if toml:
        (root / "promptctl.toml").write_text(toml)
    commit_all(repo, "example prompts")
    server = Server(Cli(root, f"sqlite:///{root.parent / 'registry.db'}"), free_port(),
                    extra_env=env)
    server.start()
    return server


@pytest.fixture(scope="module")
def timed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server whose header, body and idle timeouts are all ``TIMEOUT``."""
    server = start_server(tmp_path_factory,
                          PROMPTCTL_HEADER_TIMEOUT_SECONDS=str(TIMEOUT),
                          PROMPTCTL_BODY_TIMEOUT_SECONDS=str(TIMEOUT),
                          PROMPTCTL_IDLE_TIMEOUT_SECONDS=str(TIMEOUT))
    yield server
    server.stop()


def connect(server: Server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=GENEROUS)
    sock.settimeout(GENEROUS)
    return sock


def read_until_closed(sock: socket.socket, deadline: float = GENEROUS) -> bytes:
    """Everything the server sends until it closes; fails if it is still open at ``deadline``."""
    received = b""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        sock.settimeout(max(end - time.monotonic(), 0.01))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk
    pytest.fail(f"the server kept the connection open for {deadline}s")


def trickle(sock: socket.socket, data: bytes, pause: float = 0.2) -> bool:
    """Send ``data`` a byte at a time; True if the server closed the connection meanwhile."""
    sock.settimeout(pause)
    try:
        for byte in data:
            sock.sendall(bytes([byte]))
            try:
                if sock.recv(65536) == b"":
                    return True
            except TimeoutError:
                pass
    except (BrokenPipeError, ConnectionResetError):
        return True
    finally:
        sock.settimeout(GENEROUS)
    return False


# -- metric labels ------------------------------------------------------------------------


def invented_requests(http: httpx.Client, count: int, rng: random.Random) -> None:
    """``count`` requests, mostly with made-up methods and random paths."""
    for _ in range(count):
        method = "".join(rng.choices(string.ascii_uppercase, k=rng.randint(3, 12)))
        if rng.random() < 0.2:
            method = rng.choice(["GET", "POST", "DELETE"])
        path = rng.choice(["/healthz", "/v1/envs", "/v1/envs/production/snapshot",
                           "/" + "".join(rng.choices(string.ascii_lowercase, k=12))])
        http.request(method, path)


def metric_series(text: str) -> set[str]:
    return {line.rsplit(" ", 1)[0] for line in text.splitlines()
            if line.startswith("promptctl_http_")}


def test_invented_methods_and_paths_do_not_grow_metrics(timed: Server) -> None:
    """2,000 requests with made-up methods and paths: the second 1,000 add no series at all,
    and /metrics stays small (it grew by megabytes when each method was a label)."""
    rng = random.Random(7)
    with httpx.Client(base_url=timed.url, timeout=10) as http:
        http.get("/metrics")
        invented_requests(http, 1000, rng)
        halfway = http.get("/metrics").text
        invented_requests(http, 1000, rng)
        after = http.get("/metrics").text
    assert metric_series(after) == metric_series(halfway)
    assert len(after.encode()) < 64 * 1024, f"/metrics is {len(after)} bytes"
    assert label_values(after, "method") <= {"GET", "POST", "DELETE", "other"}
    assert label_values(after, "route") == {  # templates, never a raw path
        "/healthz", "/v1/envs", "/v1/envs/{env}/snapshot", "/metrics", "unmatched"}


def label_values(text: str, label: str) -> set[str]:
    return {line.split(f'{label}="')[1].split('"')[0] for line in metric_series(text)}


# -- timeouts ------------------------------------------------------------------------------


def test_a_client_that_sends_half_a_header_line_is_disconnected(timed: Server) -> None:
    with connect(timed) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 12")
        started = time.monotonic()
        assert read_until_closed(sock) == b""
    assert time.monotonic() - started < GENEROUS


def test_a_client_that_sends_nothing_is_disconnected(timed: Server) -> None:
    with connect(timed) as sock:
        assert read_until_closed(sock) == b""


def test_hundreds_of_stalled_clients_are_all_dropped_and_others_still_served(timed: Server
                                                                             ) -> None:
    """The file descriptors a slow-loris attack takes come back within the header timeout."""
    stalled = [connect(timed) for _ in range(200)]
    try:
        for sock in stalled:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 1")
        with httpx.Client(base_url=timed.url, timeout=10) as http:
            assert http.get("/healthz").status_code == 200
        end = time.monotonic() + GENEROUS
        for sock in stalled:
            assert read_until_closed(sock, deadline=max(end - time.monotonic(), 0.1)) == b""
    finally:
        for sock in stalled:
            sock.close()


def test_headers_trickled_a_byte_at_a_time_are_cut_off(timed: Server) -> None:
    """Each byte arriving does not restart the clock: the whole head has the timeout."""
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
    with connect(timed) as sock:
        started = time.monotonic()
        assert trickle(sock, head), "the server read a 40-second header to the end"
    assert time.monotonic() - started < GENEROUS


def test_a_slow_body_gets_408_and_a_close(timed: Server) -> None:
    head = (b"POST /v1/envs/production/prompts/support/promote HTTP/1.1\r\n"
            b"Host: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n")
    with connect(timed) as sock:
        sock.sendall(head + b'{"version": ')
        reply = read_until_closed(sock)
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert b'"error":"request_timeout"' in reply.replace(b" ", b"")


def test_a_refused_body_cannot_be_trickled_for_ever(timed: Server) -> None:
    """After a 413 the server discards the rest of the body only within the body timeout."""
    head = (b"POST /v1/envs/production/prompts/support/promote HTTP/1.1\r\n"
            b"Host: 127.0.0.1\r\nContent-Length: 100000000\r\n\r\n")
    with connect(timed) as sock:
        sock.sendall(head)
        reply = sock.recv(65536)
        assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
        started = time.monotonic()
        assert trickle(sock, b"x" * 200), "the server kept reading a refused body"
    assert time.monotonic() - started < GENEROUS


def test_an_idle_keep_alive_connection_is_closed(timed: Server) -> None:
    """Closed after the configured idle timeout (1 s here; well before uvicorn's own 5 s)."""
    with connect(timed) as sock:
        sock.sendall(HEALTHZ)
        reply = read_until_closed(sock, deadline=4 * TIMEOUT)
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    assert b"connection: close" not in reply.lower()  # kept alive, then closed when idle


def test_a_prompt_client_is_served_on_a_kept_alive_connection(timed: Server) -> None:
    """The timeouts do not get in the way of ordinary clients: requests on one
    connection, each well within the timeouts, all succeed."""
    with httpx.Client(base_url=timed.url, timeout=10) as http:
        for _ in range(5):
            assert http.get("/healthz").status_code == 200
            time.sleep(TIMEOUT / 4)


# -- connection cap -------------------------------------------------------------------------


def test_connections_beyond_max_connections_are_closed_at_once(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    server = start_server(tmp_path_factory, PROMPTCTL_MAX_CONNECTIONS="3",
                          PROMPTCTL_HEADER_TIMEOUT_SECONDS="60")
    held: list[socket.socket] = []
    try:
        held = [connect(server) for _ in range(3)]
        time.sleep(0.5)  # let the server see the health check's connection go
        with connect(server) as extra:
            assert read_until_closed(extra, deadline=5) == b""
        held.pop().close()
        for _ in range(50):  # once one closes, a new connection is served
            with connect(server) as sock:
                sock.sendall(HEALTHZ)
                try:
                    if sock.recv(65536).startswith(b"HTTP/1.1 200"):
                        break
                except ConnectionResetError:
                    pass
            time.sleep(0.1)
        else:
            pytest.fail("no connection was served after one of the held ones closed")
    finally:
        for sock in held:
            sock.close()
        server.stop()


def test_limits_in_promptctl_toml_apply_to_the_server(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    server = start_server(tmp_path_factory, toml="[limits]\nheader_timeout_seconds = 1\n")
    try:
        with connect(server) as sock:  # the default (10 s) would outlast the deadline
            assert read_until_closed(sock, deadline=5) == b""
    finally:
        server.stop()
