"""Fixtures for rollout, API and SDK tests: released versions and the real app, served three ways.

- ``api`` (:class:`Api`): the app driven through its ASGI interface, no socket. For tests that
  only speak HTTP through httpx: status codes, JSON bodies, the event stream.
- ``live_server`` (:class:`LiveServer`): the app behind the same uvicorn server ``promptctl
  serve`` builds, on a thread of the test process, on a real loopback port. For the SDK (it
  uses ``http.client``), the CLI with ``PROMPTCTL_URL`` and raw-socket tests.
- ``server`` (:class:`Server`): a ``promptctl serve`` subprocess. Only for what needs a real
  process: kill -9, several replicas, load, the server's own socket timeouts.

Each starts over its own released repository and database, so tests stay independent; the
in-process ones cost milliseconds to start where a new interpreter costs seconds.

Import the fixtures a test module needs from here (``from rollout_fixtures import ...``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from promptctl.api import create_app
from promptctl.api.app import server_limits
from promptctl.api.server import bind_socket, make_server
from promptctl.config import load_settings
from promptctl.errors import BackendUnavailable
from promptctl.remote import wait_until_healthy
from promptctl.store import Store
from tests.conftest import Cli, commit_all

PROMPTCTL = Path(sys.executable).with_name("promptctl")


def bump_prompt(root: Path, name: str, version: str) -> None:
    """Give prompt ``name`` a new version with changed template text (a minor change)."""
    path = root / "prompts" / f"{name}.prompt.yaml"
    text = path.read_text()
    text = re.sub(r"(?m)^version: .*$", f"version: {version}", text, count=1)
    text = text.replace("You are the support agent for Acme.",
                        f"You are the support agent for Acme (v{version}).")
    path.write_text(text)


def release_versions(cli: Cli, *versions: str, name: str = "support") -> None:
    """Release the example prompts, then each of ``versions`` of ``name`` in turn."""
    import git

    repo = git.Repo(cli.root)
    result = cli("release")
    assert result.exit_code == 0, result.output
    for version in versions:
        bump_prompt(cli.root, name, version)
        commit_all(repo, f"{name} {version}")
        result = cli("release")
        assert result.exit_code == 0, result.output


@pytest.fixture
def released(cli: Cli) -> Cli:
    """The CLI on a repository where support 1.0.0, 1.1.0 and 1.2.0 are released."""
    release_versions(cli, "1.1.0", "1.2.0")
    return cli


_config: pytest.Config | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _config
    _config = config


def _ports_dir() -> Path | None:
    """A folder all workers of this run share (the run's base temp dir), to reserve ports in."""
    if _config is None:
        return None
    basetemp = _config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    shared = basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp
    folder = Path(shared) / "ports"
    folder.mkdir(exist_ok=True)
    return folder


def free_port() -> int:
    """A loopback port that nothing listens on and that no other test of this run (on any
    xdist worker) was given: the kernel's pick, reserved by creating ``ports/<port>``
    exclusively, so two tests starting servers at once never get the same port."""
    folder = _ports_dir()
    for _ in range(100):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if folder is None:
            return port
        try:
            (folder / str(port)).touch(exist_ok=False)
        except FileExistsError:
            continue
        return port
    raise RuntimeError("no free loopback port after 100 tries")


def create_token(cli: Cli, role: str, env: str | None = None) -> str:
    args = ["token", "create", "--role", role, "--json"]
    if env:
        args += ["--env", env]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return str(json.loads(result.output)["token"])


class Endpoint:
    """What the server fixtures share: a base URL and tokens by role."""

    tokens: dict[str, str]

    @property
    def url(self) -> str:
        raise NotImplementedError

    def client(self, role: str | None = "deployer") -> httpx.Client:
        """An httpx client on the server, with the bearer token of ``role`` (None: none)."""
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)


@dataclass
class Server(Endpoint):
    """A ``promptctl serve`` subprocess on a free loopback port."""

    cli: Cli
    port: int
    process: subprocess.Popen[bytes] | None = None
    tokens: dict[str, str] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. PROMPTCTL_FAILPOINTS

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTCTL_")}
        env |= self.extra_env
        self.process = subprocess.Popen(
            [str(PROMPTCTL), "--repo", str(self.cli.root), "--db", self.cli.db, "serve",
             "--port", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        try:
            wait_until_healthy(self.url, timeout, self.process)
        except BackendUnavailable:
            self.stop()
            raise

    def kill(self) -> None:
        """Kill the server without letting it clean up (a crash)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.process and self.process.stderr:
            self.process.stderr.close()


@dataclass
class LiveServer(Endpoint):
    """The app ``promptctl serve`` runs (same ``create_app``, same uvicorn server and limits),
    on a thread of the test process and a loopback port: real sockets, no new interpreter.

    ``stop()`` shuts down gracefully as SIGTERM does; ``kill()`` drops every connection and
    skips the shutdown, as a crash would. ``start()`` again serves on the same port."""

    cli: Cli
    tokens: dict[str, str] = field(default_factory=dict)
    port: int = 0  # 0: any free port, kept across restarts
    _server: uvicorn.Server | None = None
    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _store: Store | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        settings = load_settings(self.cli.root, db=self.cli.db)
        limits = server_limits(settings)
        sock = bind_socket("127.0.0.1", self.port)
        self.port = sock.getsockname()[1]
        self._store = Store.open(self.cli.db)
        self._server = make_server(create_app(settings, store=self._store, limits=limits),
                                   limits)
        self._thread = threading.Thread(target=self._run, args=(self._server, sock),
                                        name=f"live-server-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started and self._thread.is_alive() \
                and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self._server.started:
            self.kill()
            raise BackendUnavailable(f"in-process server did not start within {timeout}s")

    def _run(self, server: uvicorn.Server, sock: socket.socket) -> None:
        with sock, asyncio.Runner(loop_factory=server.config.get_loop_factory()) as runner:
            self._loop = runner.get_loop()
            runner.run(server.serve(sockets=[sock]))

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._finish()

    def kill(self) -> None:
        """Reset every open connection and exit without a graceful shutdown (a crash)."""
        server, loop = self._server, self._loop
        if server is not None and loop is not None and not loop.is_closed():
            def abort_all() -> None:
                for connection in list(server.server_state.connections):
                    connection.transport.abort()
                server.force_exit = server.should_exit = True
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(abort_all)
        elif server is not None:
            server.force_exit = server.should_exit = True
        self._finish()

    def _finish(self) -> None:
        if self._thread is not None:
            self._thread.join(10)
            assert not self._thread.is_alive(), "the in-process server did not stop"
        if self._store is not None:
            self._store.dispose()
        self._server = self._thread = self._loop = self._store = None


class _SharedLoopClient(TestClient):
    """A TestClient that sends its requests on an event loop another TestClient owns, where
    the app's lifespan (its change feed) is already running; entering it starts nothing."""

    def __init__(self, app: FastAPI, portal: object, headers: dict[str, str]) -> None:
        super().__init__(app, headers=headers)
        self.portal = portal  # type: ignore[assignment]

    def __enter__(self) -> _SharedLoopClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Api:
    """The real app (``create_app`` over the repository and database of ``cli``) driven
    through its ASGI interface by Starlette's TestClient: no socket, no server process.

    ``client(role)`` has the interface of :meth:`Endpoint.client`, so a test reads the same
    against any of the three. Everything below the HTTP parser runs: middleware (body limit,
    metrics), authentication, routes, error handlers, the store, the change feed."""

    def __init__(self, cli: Cli, tokens: dict[str, str]) -> None:
        self.cli = cli
        self.tokens = tokens
        self._store = Store.open(cli.db)
        self.app = create_app(load_settings(cli.root, db=cli.db), store=self._store)
        self._lifespan = TestClient(self.app)

    def __enter__(self) -> Api:
        self._lifespan.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._lifespan.__exit__(*exc)
        self._store.dispose()

    def client(self, role: str | None = "deployer") -> TestClient:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return _SharedLoopClient(self.app, self._lifespan.portal, headers)


def deploy_support(released: Cli) -> dict[str, str]:
    """Make support 1.0.0 stable in production and staging; return tokens by role: reader
    (production), reader_staging, deployer, admin."""
    for env in ("production", "staging"):
        result = released("promote", "support", "1.0.0", "--env", env)
        assert result.exit_code == 0, result.output
    return {"reader": create_token(released, "reader", "production"),
            "reader_staging": create_token(released, "reader", "staging"),
            "deployer": create_token(released, "deployer"),
            "admin": create_token(released, "admin")}


@pytest.fixture
def api(released: Cli) -> Iterator[Api]:
    """The app in-process through ASGI over the released repository, deployed as
    :func:`deploy_support` says."""
    with Api(released, deploy_support(released)) as app:
        yield app


@pytest.fixture
def live_server(released: Cli) -> Iterator[LiveServer]:
    """The app behind uvicorn on a thread, on a loopback port, over the released repository,
    deployed as :func:`deploy_support` says."""
    srv = LiveServer(released, deploy_support(released))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def server(released: Cli) -> Iterator[Server]:
    """A ``promptctl serve`` subprocess over the released repository, deployed as
    :func:`deploy_support` says. Seconds to start: only for fault and load tests, which need
    a process to kill or to load; use ``api`` or ``live_server`` otherwise."""
    srv = Server(released, free_port(), tokens=deploy_support(released))
    srv.start()
    yield srv
    srv.stop()


def unleash_client(features: dict[str, int], group_id: str, cache_dir: Path):  # type: ignore[no-untyped-def]
    """A real ``UnleashClient`` bootstrapped from a dict: no server, no metrics, no
    registration. ``features`` maps a toggle name to its flexibleRollout percent."""
    from UnleashClient import UnleashClient
    from UnleashClient.cache import FileCache
    from UnleashClient.utils import InstanceAllowType

    cache = FileCache("promptctl-test", directory=str(cache_dir))
    cache.bootstrap_from_dict({"version": 1, "features": [
        {"name": name, "enabled": True, "strategies": [{
            "name": "flexibleRollout",
            "parameters": {"rollout": str(percent), "stickiness": "default",
                           "groupId": group_id}}]}
        for name, percent in features.items()]})
    client = UnleashClient("http://127.0.0.1:9/api", "promptctl-test", cache=cache,
                           disable_metrics=True, disable_registration=True,
                           multiple_instance_mode=InstanceAllowType.SILENTLY_ALLOW)
    client.initialize_client(fetch_toggles=False)
    return client
