"""Rollout control through a promptctl server (``PROMPTCTL_URL`` + ``PROMPTCTL_TOKEN``).

:class:`RemoteRollouts` has the reading and changing methods of
:class:`promptctl.rollout.Rollouts` and returns the same objects, so the CLI
prints the same output and exits with the same codes in both modes. The
server's ``{error, detail}`` comes back as the matching exception class.
"""

from __future__ import annotations

import subprocess
import time
from datetime import datetime
from typing import Any

import httpx

from promptctl.errors import AuthError, BackendUnavailable, UsageError
from promptctl.http_errors import error_from_response
from promptctl.rollout_state import Change, RolloutState
from promptctl.urls import redact_url

__all__ = ["RemoteRollouts", "error_from_response", "wait_until_healthy"]

class RemoteRollouts:
    def __init__(self, url: str, token: str | None, timeout: float = 10.0) -> None:
        if not token:
            raise UsageError("PROMPTCTL_URL is set but PROMPTCTL_TOKEN is not: a deployer "
                             "token is needed to talk to the server")
        if not token.isascii() or not token.isprintable():
            raise AuthError("PROMPTCTL_TOKEN must be printable ASCII (a token like pct_...)")
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout,
                                  headers={"Authorization": f"Bearer {token}"})

    def promote(self, env: str, prompt: str, version: str, *, percent: int = 100,
                reason: str | None = None, actor: str | None = None) -> Change:
        body = {"version": version, "percent": percent, "reason": reason, "actor": actor}
        return _change(self._call("POST", f"/v1/envs/{env}/prompts/{prompt}/promote", body))

    def rollback(self, env: str, prompt: str, *, reason: str | None = None,
                 actor: str | None = None) -> Change:
        body = {"reason": reason, "actor": actor}
        return _change(self._call("POST", f"/v1/envs/{env}/prompts/{prompt}/rollback", body))

    def status(self, env: str | None = None) -> list[RolloutState]:
        params = {"env": env} if env else {}
        rows = self._call("GET", "/v1/status", params=params)
        return [RolloutState(**row) for row in rows]

    def history(self, env: str, prompt: str) -> list[Change]:
        return [_change(c) for c in self._call("GET", f"/v1/envs/{env}/prompts/{prompt}/history")]

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              params: dict[str, str] | None = None) -> Any:
        try:
            response = self._http.request(method, path, json=body, params=params)
        except httpx.HTTPError as exc:
            raise BackendUnavailable(redact_url(f"cannot reach {self.url}: {exc}")) from None
        if response.status_code >= 400:
            raise error_from_response(response)
        return response.json()


def _change(data: dict[str, Any]) -> Change:
    return Change(**(data | {"created_at": datetime.fromisoformat(data["created_at"])}))


def wait_until_healthy(url: str, timeout: float = 30.0,
                       process: subprocess.Popen[bytes] | None = None) -> None:
    """Block until ``GET {url}/healthz`` answers 200, for scripts that start a server.

    When the server's ``process`` is given, its early exit is reported at once
    (with its stderr) instead of after the whole timeout.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            raise BackendUnavailable(redact_url(f"server exited with {process.returncode}: "
                                                f"{err}"))
        try:
            if httpx.get(f"{url.rstrip('/')}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise BackendUnavailable(f"{redact_url(url)} did not become healthy within {timeout:g} s")
