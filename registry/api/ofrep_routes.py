"""OFREP, the OpenFeature Remote Evaluation Protocol (v0.3.0 of open-feature/protocol's
``service/openapi.yaml``): apps in any language resolve prompts with their OpenFeature SDK's
OFREP provider.

- ``POST /ofrep/v1/evaluate/flags/{key}`` — one flag, ``{"context": {"targetingKey": ...}}``
  in, ``{key, value, reason, variant, metadata}`` out: the value is the bundle the resolve
  endpoint sends for that key, the reason ``STATIC`` or ``SPLIT``, the metadata its version,
  fingerprint, environment and change id (:mod:`promptctl.prompt_flags`).
- ``POST /ofrep/v1/evaluate/flags`` — every prompt of the environment for one context,
  ``{"flags": [...], "metadata": {"env", "changeId"}}``, with an ``ETag`` (the environment's
  change id and the context) so ``If-None-Match`` answers 304 until something changes.

Flags are keyed ``prompt.<name>``. The environment is the one the reader token is scoped to;
a token scoped to none (deployer, admin) names it with the context attribute ``env`` (a
reader token may too, if it names its own). Errors carry OFREP's ``errorCode`` and
``errorDetails`` beside the project's ``error`` and ``detail``: 404 ``FLAG_NOT_FOUND``,
400 ``PARSE_ERROR`` / ``INVALID_CONTEXT`` / ``TARGETING_KEY_MISSING``, 403 for another
environment than the token's. Evaluation runs on the same in-memory state as the resolve
endpoint and the SDK (:mod:`promptctl.api.states`), so every key gets the same answer.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request, Response

from promptctl.api.params import Caller, State
from promptctl.api.state import ApiState
from promptctl.api.state_routes import current_state
from promptctl.env_names import env_name_problem
from promptctl.errors import (
    NotFoundError,
    PermissionDenied,
    PromptctlError,
    UsageError,
    ValidationError,
)
from promptctl.prompt_flags import FlagEvaluation, evaluate, flag_key, openfeature_code
from promptctl.state import State as EnvState
from promptctl.tokens import Principal

router = APIRouter(tags=["ofrep"])

_CONTEXT_SCHEMA = {"type": "object", "required": ["targetingKey"], "additionalProperties": True,
                   "properties": {"targetingKey": {"type": "string"},
                                  "env": {"type": "string",
                                          "description": "The environment, for a token "
                                                         "scoped to none."}}}
_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "properties": {"context": _CONTEXT_SCHEMA}}}}}}
FlagKey = Annotated[str, Path(max_length=256, description="prompt.<name>")]


class OfrepError(Exception):
    """An error to answer in OFREP's shape (``errorCode``, ``errorDetails``)."""

    def __init__(self, status: int, code: str, error: PromptctlError,
                 key: str | None = None) -> None:
        super().__init__(error.message)
        self.status, self.code, self.error, self.key = status, code, error, key

    def response(self) -> Response:
        body: dict[str, Any] = {"errorCode": self.code, "errorDetails": self.error.message,
                                "error": self.error.code, "detail": self.error.message}
        if self.key is not None:
            body["key"] = self.key
        return Response(json.dumps(body), status_code=self.status,
                        media_type="application/json")


@router.post("/ofrep/v1/evaluate/flags/{key}", openapi_extra=_BODY)
async def evaluate_flag(state: State, caller: Caller, key: FlagKey, request: Request
                        ) -> Response:
    """Evaluate one prompt flag for the request's context."""
    try:
        context = _context(await request.body(), key)
        env_state = await _state(state, caller, context, key)
        targeting, attributes = _targeting(context)
        try:
            found = evaluate(env_state, key, targeting, attributes)
        except PromptctlError as exc:
            code = openfeature_code(exc)
            raise OfrepError(404 if code == "FLAG_NOT_FOUND" else 400, code, exc, key) from None
    except OfrepError as exc:
        return exc.response()
    bundle = found.bundle
    state.metrics.resolves.labels(bundle.env, bundle.name, bundle.version, bundle.variant).inc()
    return Response(_success(found), media_type="application/json")


@router.post("/ofrep/v1/evaluate/flags", openapi_extra=_BODY)
async def evaluate_flags(state: State, caller: Caller, request: Request,
                         if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """Evaluate every prompt flag of the environment for one context; conditional on the
    ``ETag`` (the environment's change id and the context)."""
    try:
        context = _context(await request.body(), None)
        env_state = await _state(state, caller, context, None)
        limit = state.settings.limits.max_ofrep_bulk_flags
        if len(env_state) > limit:
            raise OfrepError(400, "GENERAL", UsageError(
                f"{env_state.env} has {len(env_state)} prompts, more than "
                f"max_ofrep_bulk_flags ({limit}) evaluated at once: evaluate them one by "
                "one (POST /ofrep/v1/evaluate/flags/{key})"))
    except OfrepError as exc:
        return exc.response()
    etag = _etag(env_state, context)
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if if_none_match and etag in (t.strip() for t in if_none_match.split(",")):
        return Response(status_code=304, headers=headers)
    targeting, attributes = _targeting(context)
    items = []
    for name in env_state.names():
        key = flag_key(name)
        try:
            items.append(_success(evaluate(env_state, key, targeting, attributes)))
        except PromptctlError as exc:
            items.append(json.dumps({"key": key, "errorCode": openfeature_code(exc),
                                     "errorDetails": exc.message}).encode())
    meta = json.dumps({"env": env_state.env, "changeId": env_state.change_id}).encode()
    body = b'{"flags":[' + b",".join(items) + b'],"metadata":' + meta + b"}"
    return Response(body, media_type="application/json", headers=headers)


def _success(found: FlagEvaluation) -> bytes:
    head = {"key": found.key, "reason": found.reason, "variant": found.variant,
            "metadata": found.metadata}
    return json.dumps(head, separators=(",", ":")).encode()[:-1] + b',"value":' + \
        found.bundle.json + b"}"


def _context(body: bytes, key: str | None) -> dict[str, Any]:
    """The request's evaluation context (an empty one when the body has none: a provider
    evaluating without context sends ``{}``)."""
    try:
        doc = json.loads(body) if body.strip() else {}
    except ValueError as exc:
        raise OfrepError(400, "PARSE_ERROR", UsageError(f"the body is not JSON: {exc}"),
                         key) from None
    context = doc.get("context", {}) if isinstance(doc, dict) else None
    if not isinstance(context, dict):
        raise OfrepError(400, "INVALID_CONTEXT",
                         UsageError("the body must be {\"context\": {...}}"), key)
    targeting = context.get("targetingKey")
    if targeting is not None and not isinstance(targeting, str):
        raise OfrepError(400, "INVALID_CONTEXT",
                         UsageError("context.targetingKey must be a string"), key)
    return context


def _targeting(context: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    return context.get("targetingKey"), {k: v for k, v in context.items() if k != "targetingKey"}


async def _state(api: ApiState, caller: Principal, context: dict[str, Any], key: str | None
                 ) -> EnvState:
    """The state of the environment the request reads, after checking that it may."""
    env = context.get("env", caller.env)
    if env is None:
        raise OfrepError(400, "INVALID_CONTEXT", UsageError(
            "this token is scoped to no environment: name one in the context attribute "
            "'env'"), key)
    problem = env_name_problem(env)
    if problem:  # checked before any lookup: the database never sees a malformed name
        raise OfrepError(400, "INVALID_CONTEXT", UsageError(f"context.env: {problem}"), key)
    try:
        caller.require("reader", env)
    except PermissionDenied as exc:
        raise OfrepError(403, "GENERAL", exc, key) from None
    fresh = api.snapshots.states.fresh(env, api.feed.current(env))
    if fresh is not None:
        return fresh
    try:
        return await asyncio.to_thread(current_state, api, env)
    except (NotFoundError, UsageError, ValidationError) as exc:  # no such (or no valid) env
        raise OfrepError(400, "INVALID_CONTEXT", exc, key) from None


def _etag(state: EnvState, context: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(context, sort_keys=True, default=str).encode())
    return f'"ofrep-{state.env}-{state.change_id}-{digest.hexdigest()[:16]}"'
