"""Shared set-up for the benchmarks: a temp repository with released versions and a
real ``promptctl serve`` on a free loopback port."""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from promptctl.errors import BackendUnavailable
from promptctl.remote import wait_until_healthy

if TYPE_CHECKING:
    from UnleashClient import UnleashClient

ROOT = Path(__file__).resolve().parents[1]
PROMPTCTL = str(Path(sys.executable).with_name("promptctl"))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(values: list[float]) -> str:
    return (f"p50 {statistics.median(values):8.3f}  p99 {percentile(values, 99):8.3f}  "
            f"max {max(values):8.3f}  (n={len(values)})")


class Workspace:
    """A throwaway git repo holding this project's prompts, released once per version of
    support in ``versions``, in order: 1.0.0 as the project has it, any other version with
    that version written into its template (a minor bump, so a new template each time)."""

    def __init__(self, versions: Sequence[str] = ("1.0.0", "1.1.0")) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="promptctl-bench-"))
        self.db = f"sqlite:///{self.dir / 'registry.db'}"
        shutil.copytree(ROOT / "prompts", self.dir / "prompts")
        self._git("init", "-q")
        self._git("config", "user.name", "Bench")
        self._git("config", "user.email", "bench@example.com")
        path = self.dir / "prompts" / "support.prompt.yaml"
        original = path.read_text()
        for version in versions:
            if version != "1.0.0":
                text = original.replace("version: 1.0.0", f"version: {version}", 1)
                path.write_text(text.replace("You are the support agent for Acme.",
                                             f"You are the support agent for Acme (v{version}).",
                                             1))
            self._commit(f"support {version}")
            self.run("release")

    def run(self, *args: str, env: dict[str, str] | None = None) -> dict | list | None:
        """Run the real CLI; returns its --json output when asked for."""
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTCTL_")}
        full_env.update(env or {})
        out = subprocess.run([PROMPTCTL, "--repo", str(self.dir), "--db", self.db, *args],
                             check=True, capture_output=True, text=True, env=full_env).stdout
        return json.loads(out) if "--json" in args else None

    def token(self, role: str, env: str | None = None) -> str:
        args = ["token", "create", "--role", role, "--json"] + (["--env", env] if env else [])
        return str(self.run(*args)["token"])  # type: ignore[index]

    def _git(self, *args: str) -> None:
        subprocess.run(["git", *args], cwd=self.dir, check=True, capture_output=True)

    def _commit(self, message: str) -> None:
        self._git("add", "-A")
        self._git("commit", "-qm", message)

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def bootstrapped_unleash(features: list[dict], cache_dir: str,
                         app_name: str = "promptctl-bench") -> UnleashClient:
    """An UnleashClient serving ``features`` (Unleash's client API shape) bootstrapped from a
    dict: no server behind it, no fetch, no metrics, no registration."""
    from UnleashClient import UnleashClient
    from UnleashClient.cache import FileCache
    from UnleashClient.utils import InstanceAllowType

    cache = FileCache(app_name, directory=cache_dir)
    cache.bootstrap_from_dict({"version": 1, "features": features})
    client = UnleashClient("http://127.0.0.1:9/api", app_name, cache=cache,
                           disable_metrics=True, disable_registration=True,
                           multiple_instance_mode=InstanceAllowType.SILENTLY_ALLOW)
    client.initialize_client(fetch_toggles=False)
    return client


class Server:
    def __init__(self, ws: Workspace) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTCTL_")}
        self.process = subprocess.Popen(
            [PROMPTCTL, "--repo", str(ws.dir), "--db", ws.db, "serve", "--port",
             str(self.port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_until_healthy(self.url, 30, self.process)
        except BackendUnavailable:
            self.stop()
            raise

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
