"""State, deltas and content-addressed bundles over HTTP (see docs/rollout.md).

- ``GET /v1/envs/{env}/state`` — the environment's state document (``ETag`` / 304);
  ``?since=<change id>`` — the delta since then (304 when nothing is newer here), or the
  full state when a delta cannot be had (``since`` too old, or most prompts changed).
- ``GET /v1/bundles?fp=<fingerprint>,<fingerprint>...`` — those bundles' canonical bytes,
  one per line (NDJSON), in the order asked; immutable, so cacheable for a year.
- The event stream with ``?since=<change id>`` (``GET /v1/envs/{env}/events``) sends each
  change as a delta (:func:`delta_events`); ``GET /v1/envs/{env}/snapshot`` with
  ``Accept: application/vnd.promptctl.state+json`` answers with the state (:func:`state_response`).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from promptctl.api.params import MAX_ID, Caller, EnvPath, State
from promptctl.api.state import ApiState
from promptctl.errors import ValidationError
from promptctl.state import STATE_MEDIA_TYPE, state_etag
from promptctl.state import State as EnvState

router = APIRouter()

FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")
IMMUTABLE = "public, max-age=31536000, immutable"
MAX_EVENT_DELTA_BYTES = 32 * 1024  # larger deltas: the event says only that a change came
SinceQuery = Annotated[int | None, Query(ge=0, le=MAX_ID,
                                         description="A change id the caller has.")]


def current_state(api: ApiState, env: str, at_least: int = 0) -> EnvState:
    """``env``'s state, caught up to ``at_least`` (or to what the change feed knows)."""
    states = api.snapshots.states
    if not states.has(env):  # checked once per environment, then cached
        api.rollouts.require_environment(env)
    return states.get(env, max(at_least, api.feed.current(env)))


def _matches(if_none_match: str | None, etag: str) -> bool:
    return bool(if_none_match) and etag in (t.strip() for t in (if_none_match or "").split(","))


def state_response(api: ApiState, env: str, if_none_match: str | None) -> Response:
    """The full state document of ``env``, conditional on its ``ETag``."""
    state = current_state(api, env)
    change, body = api.snapshots.states.full_json(env, state)
    headers = {"ETag": state_etag(env, change), "Cache-Control": "no-cache",
               "Vary": "Accept"}
    if _matches(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=STATE_MEDIA_TYPE, headers=headers)


@router.get("/v1/envs/{env}/state", tags=["lookup"])
def env_state(state: State, caller: Caller, env: EnvPath, since: SinceQuery = None,
              if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """The state of ``env`` (about 200 bytes per prompt: no bundles), or with ``since``
    the entries changed after that change id (``changes``; ``null`` for a prompt whose
    rollout is gone)."""
    caller.require("reader", env)
    if since is None:
        return state_response(state, env, if_none_match)
    current = current_state(state, env, since)
    etag = current.etag
    if since >= current.change_id:
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": "no-cache"})
    delta = state.snapshots.states.delta(env, since)
    if delta is None:
        return state_response(state, env, None)
    body = state.snapshots.states.delta_json(delta, MAX_EVENT_DELTA_BYTES // 2)
    return Response(body, media_type="application/json",
                    headers={"ETag": state_etag(env, delta["change_id"]),
                             "Cache-Control": "no-cache"})


@router.get("/v1/bundles", tags=["lookup"])
def bundles(state: State, caller: Caller,
            fp: Annotated[list[str], Query(description="Fingerprints (repeat the parameter "
                                                       "or separate them with commas).")],
            if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """The canonical JSON of each bundle named, one per line, in the order asked; bundles
    unknown here are left out. The bytes of a fingerprint never change, so a complete
    answer may be cached for a year, and its ETag (named by the fingerprints asked for)
    answers a revalidation with 304 without touching a bundle."""
    caller.require("reader")
    wanted = _fingerprints(fp, state.snapshots.states.limits.max_bundles_per_request)
    import hashlib

    etag = '"b-' + hashlib.sha256(",".join(wanted).encode()).hexdigest()[:32] + '"'
    if _matches(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag, "Cache-Control": IMMUTABLE})
    raws = state.snapshots.states.bundle_raws(wanted)
    complete = len(raws) == len(wanted)
    headers = {"Cache-Control": IMMUTABLE if complete else "no-store",
               "X-Promptctl-Missing": str(len(wanted) - len(raws))}
    if complete:
        headers["ETag"] = etag
    return Response(b"".join(raw + b"\n" for raw in raws), media_type="application/x-ndjson",
                    headers=headers)


def _fingerprints(values: list[str], most: int) -> list[str]:
    wanted: dict[str, None] = {}
    for value in values:
        for fp in value.split(","):
            if not FINGERPRINT.match(fp):
                raise ValidationError(f"fp: {fp[:80]!r} is not a bundle fingerprint "
                                      "(64 lowercase hex digits)")
            wanted[fp] = None
    if not wanted or len(wanted) > most:
        raise ValidationError(f"fp: name 1 to {most} fingerprints (max_bundles_per_request), "
                              f"got {len(wanted)}")
    return list(wanted)


# -- the event stream, as deltas ----------------------------------------------------------------


async def delta_events(api: ApiState, env: str, since: int) -> AsyncIterator[bytes]:
    """``hello`` with the current change id, then a ``change`` event per change holding the
    delta from the previous one (``since``, ``change_id``, ``changes``, and ``bundles``: the
    bundles of versions new to the environment, so that a release reaches an SDK without a
    second request), starting from the caller's ``since``. A delta too large for an event
    is announced without its ``changes``: the SDK then asks ``state?since=``."""
    state = await asyncio.to_thread(current_state, api, env, since)
    yield _event("hello", state.change_id, {"env": env, "change_id": state.change_id})
    yield b"retry: 1000\n\n"
    last = since
    while True:
        known = api.feed.current(env)
        fresh = api.snapshots.states.fresh(env, known)
        state = fresh or await asyncio.to_thread(current_state, api, env, known)  # type: ignore[assignment]
        if state.change_id > last:
            delta = await asyncio.to_thread(api.snapshots.states.delta, env, last)
            yield _change(api, env, state.change_id, delta)
            last = delta["change_id"] if delta is not None else state.change_id
            continue
        current = await api.feed.wait(env, last, api.keepalive)
        if current <= last:
            yield b": keepalive\n\n"


def _change(api: ApiState, env: str, change_id: int, delta: dict[str, Any] | None) -> bytes:
    if delta is not None:
        data = api.snapshots.states.delta_json(delta, MAX_EVENT_DELTA_BYTES // 2)
        if len(data) <= MAX_EVENT_DELTA_BYTES:
            return _event("change", int(delta["change_id"]), data)
    return _event("change", change_id, {"env": env, "change_id": change_id})


def _event(name: str, change_id: int, data: dict[str, Any] | bytes) -> bytes:
    body = data if isinstance(data, bytes) else _dumps(data)
    return f"event: {name}\nid: {change_id}\ndata: ".encode() + body + b"\n\n"


def _dumps(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()
