"""The application layer through a promptctl server (``PROMPTCTL_URL`` + ``PROMPTCTL_TOKEN``).

:class:`RemoteService` is the :class:`promptctl.service.RegistryService` of a server: each
call is one HTTP request, and it returns the same objects as the local service, so the CLI
prints the same output and exits with the same codes in both modes. The server's
``{error, detail}`` comes back as the matching exception class. Requests go through the
SDK's plain ``http.client`` transport (:mod:`promptctl.http_transport`); nothing here
touches a database, GitPython or an HTTP library, which keeps ``promptctl rollback``
through a server quick to start.
"""

from __future__ import annotations

import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from promptctl.actors import current_actor
from promptctl.errors import AuthError, BackendUnavailable, PromptctlError, UsageError
from promptctl.guard_types import FleetEntry, PlanStatus
from promptctl.http_transport import HttpTransport
from promptctl.plans import PlanSpec
from promptctl.rollout_state import Change, RolloutState
from promptctl.service import (
    CreatedToken,
    EvalResult,
    EvalRunInfo,
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
        self._http = HttpTransport(url, token, timeout)
        self.url = self._http.url
        self.acting_in = acting_in

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
                    score: float | None = None, actor: str | None = None,
                    fingerprint: str | None = None) -> EvalResult:
        body = {"version": version, "passed": passed, "suite": suite, "score": check_score(score),
                "actor": self._actor(actor)}
        if fingerprint is not None:
            body["fingerprint"] = fingerprint
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

    # --- evals ---

    def record_eval_run(self, payload: dict[str, Any], *,
                        actor: str | None = None) -> EvalRunInfo:
        """The run first, then its cases in batches that fit the server's body limit."""
        cases = list(payload.get("run", {}).get("cases") or [])
        batches = _batches(cases, EVAL_BATCH_BYTES)
        first = dict(payload) | {"run": dict(payload["run"]) | {"cases": batches[0]},
                                 "cases_expected": len(cases), "actor": self._actor(actor)}
        info = EvalRunInfo.from_dict(self._call("POST", "/v1/evals/runs", first))
        for batch in batches[1:]:
            info = EvalRunInfo.from_dict(
                self._call("POST", f"/v1/evals/runs/{info.id}/cases", {"cases": batch}))
        return info

    def eval_runs(self, *, prompt: str | None = None, suite: str | None = None,
                  limit: int = 20) -> list[EvalRunInfo]:
        params = {k: v for k, v in (("prompt", prompt), ("suite", suite)) if v}
        params["limit"] = str(limit)
        return [EvalRunInfo.from_dict(r)
                for r in self._call("GET", "/v1/evals/runs", params=params)]

    def eval_run(self, run_id: int) -> EvalRunInfo:
        return EvalRunInfo.from_dict(self._call("GET", f"/v1/evals/runs/{int(run_id)}"))

    def released_bundle(self, prompt: str, version: str) -> dict[str, Any]:
        path = f"/v1/evals/bundles/{quote(prompt, safe='')}/{quote(version, safe='')}"
        return dict(self._call("GET", path))

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
        return self._http.call(method, path, body, params)


EVAL_BATCH_BYTES = 40_000
"""Largest batch of case results sent at once (the server takes 64 KiB bodies)."""


def _batches(items: list[Any], budget: int) -> list[list[Any]]:
    """``items`` in order, split so each batch's JSON stays under ``budget`` bytes."""
    import json

    batches: list[list[Any]] = [[]]
    size = 0
    for item in items:
        length = len(json.dumps(item))
        if batches[-1] and size + length > budget:
            batches.append([])
            size = 0
        batches[-1].append(item)
        size += length
    return batches


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
    server = HttpTransport(url, None, timeout=1)
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            raise BackendUnavailable(redact_url(f"server exited with {process.returncode}: "
                                                f"{err}"))
        try:
            if server.send("GET", "/healthz")[0] == 200:
                return
        except PromptctlError:
            pass
        time.sleep(0.1)
    raise BackendUnavailable(f"{redact_url(url)} did not become healthy within {timeout:g} s")
