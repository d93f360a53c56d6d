"""The application layer through a promptctl server (``PROMPTCTL_URL`` + ``PROMPTCTL_TOKEN``).

:class:`RemoteService` is the :class:`promptctl.service.RegistryService` of a server: each
call is one HTTP request, and it returns the same objects as the local service, so the CLI
prints the same output and exits with the same codes in both modes. The server's
``{error, detail}`` comes back as the matching exception class. Nothing here touches a
database or GitPython, which keeps ``promptctl rollback`` through a server quick to start.
"""

from __future__ import annotations

import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from promptctl.actors import current_actor
from promptctl.errors import AuthError, BackendUnavailable, UsageError
from promptctl.guard_types import FleetEntry, PlanStatus
from promptctl.http_errors import error_from_response
from promptctl.plans import PlanSpec
from promptctl.rollout_state import Change, RolloutState
from promptctl.service import (
    CreatedToken,
    EvalResult,
    RevokedToken,
    TokenInfo,
    check_score,
)
from promptctl.urls import redact_url

__all__ = ["RemoteService", "wait_until_healthy"]


class RemoteService:
    """A promptctl server's rollout, environment, eval and token endpoints.

    ``acting_in``: the folder whose git identity is sent as the claimed actor when a call
    names none (the server records it beside the token's own name)."""

    def __init__(self, url: str, token: str | None, *, acting_in: Path | None = None,
                 timeout: float = 10.0) -> None:
        if not token:
            raise UsageError("PROMPTCTL_URL is set but PROMPTCTL_TOKEN is not: a deployer "
                             "(or, for tokens and environments, an admin) token is needed "
                             "to talk to the server")
        if not token.isascii() or not token.isprintable():
            raise AuthError("PROMPTCTL_TOKEN must be printable ASCII (a token like pct_...)")
        self.url = url.rstrip("/")
        self.acting_in = acting_in
        self._http = httpx.Client(base_url=self.url, timeout=timeout,
                                  headers={"Authorization": f"Bearer {token}"})

    # -- rollout ----------------------------------------------------------------------------

    def promote(self, env: str, prompt: str, version: str, *, percent: int = 100,
                reason: str | None = None, actor: str | None = None) -> Change:
        body = {"version": version, "percent": percent, "reason": reason,
                "actor": self._actor(actor)}
        return _change(self._call("POST", _prompt_path(env, prompt, "promote"), body))

    def rollback(self, env: str, prompt: str, *, reason: str | None = None,
                 actor: str | None = None) -> Change:
        body = {"reason": reason, "actor": self._actor(actor)}
        return _change(self._call("POST", _prompt_path(env, prompt, "rollback"), body))

    def status(self, env: str | None = None) -> list[RolloutState]:
        params = {"env": env} if env else {}
        rows = self._call("GET", "/v1/status", params=params)
        return [RolloutState(**row) for row in rows]

    def history(self, env: str, prompt: str) -> list[Change]:
        return [_change(c) for c in self._call("GET", _prompt_path(env, prompt, "history"))]

    # -- environments and evals -------------------------------------------------------------

    def environments(self) -> list[str]:
        return [str(name) for name in self._call("GET", "/v1/envs")]

    def add_environment(self, name: str) -> str:
        return str(self._call("POST", "/v1/envs", {"name": name})["env"])

    def record_eval(self, env: str, prompt: str, version: str, *, passed: bool, suite: str,
                    score: float | None = None, actor: str | None = None) -> EvalResult:
        body = {"version": version, "passed": passed, "suite": suite, "score": check_score(score),
                "actor": self._actor(actor)}
        return EvalResult.from_dict(self._call("POST", _prompt_path(env, prompt, "evals"), body))

    # -- tokens -----------------------------------------------------------------------------

    def create_token(self, role: str, env: str | None = None, *, name: str | None = None,
                     actor: str | None = None) -> CreatedToken:
        body = {"role": role, "env": env, "name": name, "actor": self._actor(actor)}
        return CreatedToken.from_dict(self._call("POST", "/v1/tokens", body))

    def list_tokens(self) -> list[TokenInfo]:
        return [TokenInfo.from_dict(row) for row in self._call("GET", "/v1/tokens")]

    def revoke_token(self, token_id: int) -> RevokedToken:
        return RevokedToken.from_dict(self._call("DELETE", f"/v1/tokens/{int(token_id)}"))

    # --- guarded rollouts ---

    def fleet(self, env: str | None = None) -> list[FleetEntry]:
        params = {"env": env} if env else {}
        return [FleetEntry.from_dict(e) for e in self._call("GET", "/v1/fleet", params=params)]

    def start_plan(self, env: str, prompt: str, version: str, spec: PlanSpec, *,
                   reason: str | None = None, actor: str | None = None) -> PlanStatus:
        body = {"version": version, "plan": spec.to_dict(), "reason": reason,
                "actor": self._actor(actor)}
        return PlanStatus.from_dict(self._call("POST", _prompt_path(env, prompt, "plan"), body))

    def plans(self, env: str | None = None) -> list[PlanStatus]:
        params = {"env": env} if env else {}
        return [PlanStatus.from_dict(p) for p in self._call("GET", "/v1/plans", params=params)]

    def control_plan(self, env: str, prompt: str, action: str, *,
                     actor: str | None = None) -> PlanStatus:
        if action not in ("pause", "resume", "abort"):
            raise UsageError(f"plan action must be pause, resume or abort, got {action!r}")
        path = _prompt_path(env, prompt, f"plan/{action}")
        return PlanStatus.from_dict(self._call("POST", path, {"actor": self._actor(actor)}))

    # -- internals --------------------------------------------------------------------------

    def _actor(self, actor: str | None) -> str:
        return actor or current_actor(self.acting_in)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              params: dict[str, str] | None = None) -> Any:
        try:
            response = self._http.request(method, path, json=body, params=params)
        except httpx.HTTPError as exc:
            raise BackendUnavailable(redact_url(f"cannot reach {self.url}: {exc}")) from None
        if response.status_code >= 400:
            raise error_from_response(response)
        return response.json()


def _prompt_path(env: str, prompt: str, action: str) -> str:
    """``/v1/envs/{env}/prompts/{prompt}/{action}``, each name quoted: a name with a ``/``
    or ``?`` is refused by the server's name check, never sent to another route."""
    return f"/v1/envs/{quote(env, safe='')}/prompts/{quote(prompt, safe='')}/{action}"


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
