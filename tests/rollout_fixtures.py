"""Fixtures for rollout, API and SDK tests: released versions and a real uvicorn server.

Import the fixtures a test module needs from here (``from rollout_fixtures import ...``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from promptctl.errors import BackendUnavailable
from promptctl.remote import wait_until_healthy
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def create_token(cli: Cli, role: str, env: str | None = None) -> str:
    args = ["token", "create", "--role", role, "--json"]
    if env:
        args += ["--env", env]
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return str(json.loads(result.output)["token"])


@dataclass
class Server:
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

    def client(self, role: str | None = "deployer") -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10)


@pytest.fixture
def server(released: Cli) -> Iterator[Server]:
    """A real uvicorn server over the released repository, with support 1.0.0 stable in
    production and staging, and tokens: reader (production), reader_staging, deployer, admin."""
    for env in ("production", "staging"):
        result = released("promote", "support", "1.0.0", "--env", env)
        assert result.exit_code == 0, result.output
    srv = Server(released, free_port())
    srv.tokens = {"reader": create_token(released, "reader", "production"),
                  "reader_staging": create_token(released, "reader", "staging"),
                  "deployer": create_token(released, "deployer"),
                  "admin": create_token(released, "admin")}
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
