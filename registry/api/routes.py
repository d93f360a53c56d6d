"""HTTP endpoints (DESIGN §5): thin translations to the application layer
(``promptctl.local_service``) and the snapshot cache."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response
from fastapi.responses import StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    WithJsonSchema,
)

from promptctl.api.params import (
    CONTROL,
    ENV_NAME,
    MAX_ID,
    PRINTABLE,
    Caller,
    EnvPath,
    NamePath,
    State,
)
from promptctl.api.snapshots import CachedSnapshot
from promptctl.api.state import ApiState
from promptctl.tokens import ROLES, Principal

router = APIRouter()


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _printable(value: str) -> str:
    """Refuse C0 and C1 control characters and DEL: recorded text is shown in operators'
    terminals (``history``, ``token list``), where an escape sequence would act."""
    for index, char in enumerate(value):
        if CONTROL.match(char):
            raise ValueError(f"must be printable text: control character U+{ord(char):04X} "
                             f"at position {index}")
    return value


def _text_constraints(max_length: int) -> tuple[Any, ...]:
    """A JSON string of at most ``max_length`` printable characters (no control
    characters, so no NUL either: PostgreSQL text cannot hold one)."""
    return (StringConstraints(max_length=max_length), AfterValidator(_printable),
            WithJsonSchema({"type": "string", "maxLength": max_length, "pattern": PRINTABLE}))


# The audit actor is ``token:<name> (<claimed actor>)`` in a 256-character column:
# 6 + 128 + 3 + 100 = 237 always fits.
TokenName = Annotated[StrictStr, *_text_constraints(128)]
ClaimedActor = Annotated[StrictStr, *_text_constraints(100)]
Reason = Annotated[StrictStr, *_text_constraints(2000)]
Version = Annotated[StrictStr, *_text_constraints(128)]


class PromoteBody(_Body):
    version: Version = Field(description="A released version.")
    percent: StrictInt = Field(100, description="1-99 sets a canary; 100 makes it stable.")
    reason: Reason | None = None
    actor: ClaimedActor | None = Field(None, description="Who asked (recorded beside the token).")


class RollbackBody(_Body):
    reason: Reason | None = None
    actor: ClaimedActor | None = None


class TokenBody(_Body):
    role: StrictStr = Field(description=" | ".join(ROLES))
    env: StrictStr | None = Field(None, pattern=ENV_NAME)
    name: TokenName | None = None
    actor: ClaimedActor | None = Field(None, description="Who asked (recorded beside the token).")


class EnvBody(_Body):
    # Not pattern-checked here: the core's one rule (promptctl.env_names) answers, so a bad
    # name gets the same message and code through the API as from `promptctl env add`.
    name: StrictStr = Field(max_length=256, description="A new environment's name.")


class EvalBody(_Body):
    version: Version = Field(description="A released version.")
    passed: StrictBool = Field(description="The suite's outcome.")
    suite: Reason = Field(description="The eval suite's name (1-128 characters).")
    score: float | None = Field(None, description="The suite's score.")
    actor: ClaimedActor | None = Field(None, description="Who asked (recorded beside the token).")
    fingerprint: Annotated[StrictStr, StringConstraints(pattern="^[0-9a-f]{64}$")] | None = Field(
        None, description="The bundle evaluated (must be the released version's).")


# -- service ------------------------------------------------------------------------------------


@router.get("/healthz", tags=["service"])
def healthz(state: State) -> dict[str, Any]:
    with state.store.session() as session:
        session.connection().exec_driver_sql("SELECT 1")
    return {"status": "ok"}


@router.get("/metrics", tags=["service"])
def metrics(state: State) -> Response:
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


# -- lookup (reader) ----------------------------------------------------------------------------


def _snapshot(state: ApiState, env: str) -> CachedSnapshot:
    if not state.snapshots.has(env):  # checked once per environment, then cached
        state.rollouts.require_environment(env)
    return state.snapshots.get(env, state.feed.current(env))


@router.get("/v1/envs/{env}/prompts/{name}/resolve", tags=["lookup"])
async def resolve(state: State, caller: Caller, env: EnvPath, name: NamePath,
                  key: Annotated[str | None, Query(max_length=256,
                                                   description="The userId.")] = None,
                  session_id: Annotated[str | None,
                                        Query(alias="sessionId", max_length=256)] = None,
                  ) -> Response:
    """The bundle a key gets: name, version, variant, fingerprint, templates, model, tools,
    index, output_schema. Served from memory; the database is read only after a change."""
    caller.require("reader", env)
    cached = state.snapshots.fresh(env, state.feed.current(env))
    if cached is None:
        cached = await asyncio.to_thread(_snapshot, state, env)
    context = {"sessionId": session_id} if session_id else None
    resolved = cached.compiled.resolve(name, key, context)
    state.metrics.resolves.labels(env, name, resolved.version, resolved.variant).inc()
    return Response(resolved.json, media_type="application/json")


@router.get("/v1/envs/{env}/snapshot", tags=["lookup"])
def snapshot(state: State, caller: Caller, env: EnvPath,
             if_none_match: Annotated[str | None, Header()] = None,
             accept: Annotated[str | None, Header()] = None) -> Response:
    """Everything an SDK needs to evaluate ``env`` locally; conditional on ``ETag``. With
    ``Accept: application/vnd.promptctl.state+json``, the state document instead (bundles
    by fingerprint, from ``/v1/bundles``)."""
    caller.require("reader", env)
    if accept and "vnd.promptctl.state" in accept:
        from promptctl.api.state_routes import state_response

        return state_response(state, env, if_none_match)
    cached = _snapshot(state, env)
    headers = {"ETag": cached.etag, "Cache-Control": "no-cache"}
    if if_none_match and cached.etag in (t.strip() for t in if_none_match.split(",")):
        return Response(status_code=304, headers=headers)
    return Response(cached.body, media_type="application/json", headers=headers)


@router.get("/v1/envs/{env}/events", tags=["lookup"])
async def events(state: State, caller: Caller, env: EnvPath,
                 since: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None
                 ) -> StreamingResponse:
    """Server-Sent Events: a ``change`` event with the new change id on each change; with
    ``since`` (a change id the caller has), each event carries the delta since the last."""
    caller.require("reader", env)
    await asyncio.to_thread(state.rollouts.require_environment, env)
    stream = _event_stream(state, env)
    if since is not None:
        from promptctl.api.state_routes import delta_events

        stream = delta_events(state, env, since)
    return StreamingResponse(stream, media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _event_stream(state: ApiState, env: str) -> AsyncIterator[bytes]:
    last = state.feed.current(env)
    yield _sse("hello", last, env) + b"retry: 1000\n\n"
    while True:
        current = await state.feed.wait(env, last, state.keepalive)
        if current > last:
            last = current
            yield _sse("change", last, env)
        else:
            yield b": keepalive\n\n"


def _sse(event: str, change_id: int, env: str) -> bytes:
    data = json.dumps({"env": env, "change_id": change_id})
    return f"event: {event}\nid: {change_id}\ndata: {data}\n\n".encode()


# -- rollout control (deployer) -----------------------------------------------------------------
# Each route checks the caller's role and calls the application layer (``state.service``,
# the same :class:`promptctl.local_service.LocalService` use cases the CLI runs locally).


def _actor(caller: Principal, claimed: str | None) -> str:
    return f"{caller.actor} ({claimed})" if claimed else caller.actor


@router.post("/v1/envs/{env}/prompts/{name}/promote", tags=["rollout"])
def promote(state: State, caller: Caller, env: EnvPath, name: NamePath, body: PromoteBody
            ) -> dict[str, Any]:
    caller.require("deployer", env)
    change = state.service.promote(env, name, body.version, percent=body.percent,
                                   reason=body.reason, actor=_actor(caller, body.actor))
    return change.to_dict()


@router.post("/v1/envs/{env}/prompts/{name}/rollback", tags=["rollout"])
def rollback(state: State, caller: Caller, env: EnvPath, name: NamePath,
             body: RollbackBody | None = None) -> dict[str, Any]:
    caller.require("deployer", env)
    body = body or RollbackBody()
    change = state.service.rollback(env, name, reason=body.reason,
                                    actor=_actor(caller, body.actor))
    return change.to_dict()


@router.get("/v1/envs/{env}/prompts/{name}/history", tags=["rollout"])
def history(state: State, caller: Caller, env: EnvPath, name: NamePath) -> list[dict[str, Any]]:
    caller.require("deployer", env)
    return [c.to_dict() for c in state.service.history(env, name)]


@router.get("/v1/status", tags=["rollout"])
def status(state: State, caller: Caller,
           env: Annotated[str | None, Query(pattern=ENV_NAME)] = None) -> list[dict[str, Any]]:
    caller.require("deployer", env)
    states = state.service.status(env)
    if caller.env is not None:
        states = [s for s in states if s.env == caller.env]
    return [s.to_dict() for s in states]


@router.get("/v1/envs", tags=["rollout"])
def environments(state: State, caller: Caller) -> list[str]:
    caller.require("deployer")
    return state.service.environments()


@router.post("/v1/envs/{env}/prompts/{name}/evals", tags=["rollout"], status_code=201)
def eval_record(state: State, caller: Caller, env: EnvPath, name: NamePath, body: EvalBody
                ) -> dict[str, Any]:
    """Record an eval outcome of a released version (checked where ``require_eval`` is set)."""
    caller.require("deployer", env)
    result = state.service.record_eval(env, name, body.version, passed=body.passed,
                                       suite=body.suite, score=body.score,
                                       actor=_actor(caller, body.actor),
                                       fingerprint=body.fingerprint)
    return result.to_dict()


# -- environments and tokens (admin) ------------------------------------------------------------


@router.post("/v1/envs", tags=["admin"], status_code=201)
def environment_add(state: State, caller: Caller, body: EnvBody) -> dict[str, Any]:
    """Add an environment (the name is checked by the same rule as ``promptctl env add``)."""
    caller.require("admin")
    return {"env": state.service.add_environment(body.name)}


@router.post("/v1/tokens", tags=["admin"], status_code=201)
def token_create(state: State, caller: Caller, body: TokenBody) -> dict[str, Any]:
    """Create a token; its secret is in this response only."""
    caller.require("admin")
    created = state.service.create_token(body.role, body.env, name=body.name,
                                         actor=_actor(caller, body.actor))
    return created.to_dict()


@router.get("/v1/tokens", tags=["admin"])
def token_list(state: State, caller: Caller) -> list[dict[str, Any]]:
    caller.require("admin")
    return [t.to_dict() for t in state.service.list_tokens()]


@router.delete("/v1/tokens/{token_id}", tags=["admin"])
def token_revoke(state: State, caller: Caller,
                 token_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> dict[str, Any]:
    caller.require("admin")
    return state.service.revoke_token(token_id).to_dict()
