"""The application layer: one interface for everything that reads or changes rollout state,
environments, evals and tokens.

Every adapter calls a :class:`RegistryService`: the CLI (which only parses arguments and
formats what comes back) and the API routes (which call the local implementation). There
are two implementations, and :func:`promptctl.service_factory.service_for` picks one from
the settings:

- :class:`promptctl.local_service.LocalService`: the store (and git, for who is acting);
- :class:`promptctl.remote.RemoteService`: a promptctl server over HTTP (``PROMPTCTL_URL``
  + ``PROMPTCTL_TOKEN``). It never falls back to a local database.

Both return the value types below (and :class:`RolloutState` / :class:`Change`), and raise
the same :mod:`promptctl.errors` classes for the same mistakes: ``tests/test_service.py``
runs one behavioural suite over both.

This module imports only the standard library and other light modules, so the remote path
(``promptctl rollback`` with ``PROMPTCTL_URL``) starts without SQLAlchemy or GitPython.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from promptctl.errors import UsageError
from promptctl.guard_types import FleetEntry, PlanStatus
from promptctl.plans import PlanSpec
from promptctl.rollout_state import Change, RolloutState, as_utc

__all__ = ["Change", "CreatedToken", "EvalResult", "EvalRunInfo", "RegistryService",
           "RevokedToken", "RolloutState", "TokenInfo", "check_score"]


@dataclass(frozen=True)
class TokenInfo:
    """An API token as listed: never its secret."""

    id: int
    name: str
    role: str
    env: str | None
    created_by: str
    created_at: datetime
    revoked: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"created_at": self.created_at.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TokenInfo:
        return cls(id=int(data["id"]), name=str(data["name"]), role=str(data["role"]),
                   env=data.get("env"), created_by=str(data["created_by"]),
                   created_at=as_utc(datetime.fromisoformat(str(data["created_at"]))),
                   revoked=bool(data["revoked"]))


@dataclass(frozen=True)
class CreatedToken:
    """A token just created, with its secret: shown once, stored only as a hash."""

    id: int
    name: str
    role: str
    env: str | None
    secret: str

    def to_dict(self) -> dict[str, Any]:
        """The wire and ``--json`` form: the secret is the ``token`` field."""
        return {"id": self.id, "name": self.name, "role": self.role, "env": self.env,
                "token": self.secret}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CreatedToken:
        return cls(id=int(data["id"]), name=str(data["name"]), role=str(data["role"]),
                   env=data.get("env"), secret=str(data["token"]))


@dataclass(frozen=True)
class RevokedToken:
    """A revoked token: since when (revoking twice keeps the first time)."""

    id: int
    revoked_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "revoked": True, "revoked_at": self.revoked_at.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RevokedToken:
        return cls(id=int(data["id"]),
                   revoked_at=as_utc(datetime.fromisoformat(str(data["revoked_at"]))))


@dataclass(frozen=True)
class EvalResult:
    """One recorded eval outcome of a prompt version in an environment (gates promotion
    where the environment has ``require_eval``)."""

    id: int
    env: str
    prompt: str
    version: str
    suite: str
    passed: bool
    score: float | None
    actor: str
    created_at: datetime
    fingerprint: str | None = None
    """The bundle evaluated (None on records written before promptctl knew it)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"created_at": self.created_at.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalResult:
        score = data.get("score")
        return cls(id=int(data["id"]), env=str(data["env"]), prompt=str(data["prompt"]),
                   version=str(data["version"]), suite=str(data["suite"]),
                   passed=bool(data["passed"]), score=None if score is None else float(score),
                   actor=str(data["actor"]),
                   created_at=datetime.fromisoformat(str(data["created_at"])),
                   fingerprint=data.get("fingerprint"))


@dataclass(frozen=True)
class EvalRunInfo:
    """A stored eval run: its evidence (fingerprint, suite hash, provider and judges), its
    summary, its comparison with the baseline and the gate's checks; ``cases`` when shown."""

    id: int
    suite: str
    suite_version: str
    suite_hash: str
    prompt: str
    version: str
    fingerprint: str
    env: str | None
    baseline_version: str | None
    baseline_fingerprint: str | None
    passed: bool
    stopped: str | None
    complete: bool
    cases_expected: int
    summary: dict[str, Any]
    comparison: dict[str, Any] | None
    gate: dict[str, Any]
    provider: dict[str, Any] | None
    judges: list[dict[str, Any]] | None
    actor: str
    created_at: datetime
    cases: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"created_at": self.created_at.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalRunInfo:
        values: dict[str, Any] = {k: data.get(k) for k in cls.__dataclass_fields__}
        values["created_at"] = as_utc(datetime.fromisoformat(str(data["created_at"])))
        return cls(**values)


@runtime_checkable
class RegistryService(Protocol):
    """Rollout state, environments, evals and tokens, wherever they live.

    ``actor`` names who acts, for the audit trail; ``None`` means whoever runs this process
    (:func:`promptctl.actors.current_actor`). Through a server, the server records the token
    and the actor as claimed (``token:deployer-2 (Ann <ann@example.com>)``).
    """

    def promote(self, env: str, prompt: str, version: str, *, percent: int = 100,
                reason: str | None = None, actor: str | None = None) -> Change:
        """Serve ``version`` to ``percent`` of keys (a canary) or, at 100, to everyone."""
        ...

    def rollback(self, env: str, prompt: str, *, reason: str | None = None,
                 actor: str | None = None) -> Change:
        """Clear the canary if there is one, else restore the previous stable version."""
        ...

    def status(self, env: str | None = None) -> list[RolloutState]:
        """Every (environment, prompt)'s rollout state, or only ``env``'s."""
        ...

    def history(self, env: str, prompt: str) -> list[Change]:
        """Every rollout change of ``prompt`` in ``env``, oldest first."""
        ...

    def environments(self) -> list[str]:
        """Every environment's name, sorted."""
        ...

    def add_environment(self, name: str) -> str:
        """Add an environment; ``ConflictError`` when it exists."""
        ...

    def record_eval(self, env: str, prompt: str, version: str, *, passed: bool, suite: str,
                    score: float | None = None, actor: str | None = None,
                    fingerprint: str | None = None) -> EvalResult:
        """Record an eval outcome of a released version (of its bundle: ``fingerprint``, if
        given, must be the released one's)."""
        ...

    def create_token(self, role: str, env: str | None = None, *, name: str | None = None,
                     actor: str | None = None) -> CreatedToken:
        """Create an API token; its secret is in the result only."""
        ...

    def list_tokens(self) -> list[TokenInfo]:
        """Every token, oldest first (never their secrets)."""
        ...

    def revoke_token(self, token_id: int) -> RevokedToken:
        """Revoke a token by id; ``NotFoundError`` when there is none."""
        ...

    # --- evals ---

    def record_eval_run(self, payload: dict[str, Any], *,
                        actor: str | None = None) -> EvalRunInfo:
        """Store an eval run (``run``, ``env``, ``baseline``, ``comparison``, ``gate``)."""
        ...

    def eval_runs(self, *, prompt: str | None = None, suite: str | None = None,
                  limit: int = 20) -> list[EvalRunInfo]:
        """Stored runs, newest first (without their cases)."""
        ...

    def eval_run(self, run_id: int) -> EvalRunInfo:
        """One stored run with its cases; ``NotFoundError`` when there is none."""
        ...

    def released_bundle(self, prompt: str, version: str) -> dict[str, Any]:
        """The released bundle of ``prompt@version`` (``Bundle.to_dict``), to evaluate."""

    # --- guarded rollouts ---

    def fleet(self, env: str | None = None) -> list[FleetEntry]:
        """The SDK instances seen lately (of ``env`` only, if given), each with its lag."""
        ...

    def start_plan(self, env: str, prompt: str, version: str, spec: PlanSpec, *,
                   reason: str | None = None, actor: str | None = None) -> PlanStatus:
        """Promote ``version`` to the plan's first step; the evaluator does the rest."""
        ...

    def plans(self, env: str | None = None) -> list[PlanStatus]:
        """Each prompt's latest plan (of ``env`` only, if given), with its last figures."""
        ...

    def control_plan(self, env: str, prompt: str, action: str, *,
                     actor: str | None = None) -> PlanStatus:
        """``pause``, ``resume`` or ``abort`` the running plan of ``prompt`` in ``env``."""
        ...


def check_score(score: float | None) -> float | None:
    """An eval score is a finite number (JSON has no NaN or infinity to send it as)."""
    if score is not None and not math.isfinite(score):
        raise UsageError(f"an eval score must be a finite number, got {score!r}")
    return score
