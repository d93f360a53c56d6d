"""The dashboard's HTTP routes under ``/ui``: translate the request, call the service, render.

Pages are plain HTML that reads without JavaScript; htmx (vendored under ``static/``) only
refreshes the overview when the event stream says something changed. Every POST passes the
CSRF checks (:mod:`promptctl.api.ui.csrf`) before anything else, then the role check of the
signed-in token, then calls the same service methods as the CLI and the REST API, with the
token as the actor, so the audit trail cannot tell a dashboard action from an API call.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse

from promptctl.api.params import ENV_NAME, NAME
from promptctl.api.state import ApiState
from promptctl.api.ui import csrf, panels
from promptctl.api.ui.pages import page, secured
from promptctl.api.ui.session import COOKIE, Session, Sessions
from promptctl.dashboard import compare_released, overview, released_versions, served
from promptctl.errors import AuthError, PromptctlError, UsageError
from promptctl.tokens import ROLES, Principal

router = APIRouter(prefix="/ui", include_in_schema=False)

EnvPath = Annotated[str, Path(pattern=ENV_NAME)]
NamePath = Annotated[str, Path(pattern=NAME)]
MAX_FORM_FIELDS = 20
MAX_REASON = 2000  # as the REST API's rollback/promote body
EVENT_TICK = 0.1  # seconds between looks at the in-memory change ids
_lock = threading.Lock()


@dataclass(frozen=True)
class Viewer:
    """The signed-in visitor: the session and the token behind it."""

    session: Session
    principal: Principal

    @property
    def envs_scope(self) -> str | None:
        return self.principal.env

    def can_deploy(self, env: str) -> bool:
        return ROLES.index(self.principal.role) >= ROLES.index("deployer") and (
            self.principal.env in (None, env))

    def context(self) -> dict[str, Any]:
        flash, self.session.flash[:] = list(self.session.flash), []
        return {"viewer": self.principal, "csrf": self.session.csrf, "flash": flash,
                "can_deploy": self.can_deploy}


def _api(request: Request) -> ApiState:
    return request.app.state.api  # type: ignore[no-any-return]


def sessions(request: Request) -> Sessions:
    """This app's sessions (made on first use, bounded by the project's limits)."""
    app_state = request.app.state
    with _lock:
        if not hasattr(app_state, "ui_sessions"):
            limits = _api(request).settings.limits
            app_state.ui_sessions = Sessions(limits.max_ui_sessions, limits.ui_session_seconds)
    return app_state.ui_sessions  # type: ignore[no-any-return]


def _viewer(request: Request) -> Viewer | None:
    session = sessions(request).get(request.cookies.get(COOKIE))
    if session is None or session.secret is None:
        return None
    try:
        principal = _api(request).authenticate(f"Bearer {session.secret}")
    except AuthError:  # revoked since sign-in
        sessions(request).end(session.id)
        return None
    return Viewer(session, principal)


def _to_login() -> Response:
    return secured(RedirectResponse("/ui/login", status_code=303))


def _set_cookie(request: Request, response: Response, session: Session) -> Response:
    response.set_cookie(COOKIE, session.id, max_age=int(sessions(request).ttl), path="/ui",
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _error(request: Request, exc: PromptctlError, viewer: Viewer | None = None) -> Response:
    """A refused or failed action: JSON for API-style callers, a page for browsers."""
    if _wants_json(request):
        return secured(JSONResponse({"error": exc.code, "detail": exc.message},
                                    status_code=exc.http_status))
    context = viewer.context() if viewer else {"viewer": None, "csrf": "", "flash": [],
                                               "can_deploy": lambda env: False}
    return page(request, "error.html", exc.http_status, error=exc, **context)


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded form (first value of each field; at most ``MAX_FORM_FIELDS``)."""
    body = (await request.body()).decode("utf-8", "replace")
    try:
        fields = parse_qs(body, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        raise UsageError("too many form fields") from None
    return {key: values[0] for key, values in fields.items()}


def _visible_envs(api: ApiState, viewer: Viewer) -> list[str]:
    envs = api.service.environments()
    return [e for e in envs if viewer.principal.env in (None, e)]


# -- sign-in ------------------------------------------------------------------------------------


@router.get("/login")
def login_form(request: Request) -> Response:
    if _viewer(request) is not None:
        return secured(RedirectResponse("/ui", status_code=303))
    store = sessions(request)
    session = store.get(request.cookies.get(COOKIE)) or store.start()
    response = page(request, "login.html", viewer=None, csrf=session.csrf, flash=[],
                    problem=None)
    return _set_cookie(request, response, session)


@router.post("/login")
async def login(request: Request) -> Response:
    store = sessions(request)
    anonymous = store.get(request.cookies.get(COOKIE))
    form = await _form(request)
    try:
        csrf.check(request, anonymous, form.get("csrf"))
        secret = form.get("token", "").strip()
        await asyncio.to_thread(_api(request).authenticate, f"Bearer {secret}")
    except AuthError as exc:
        session = anonymous or store.start()
        return _set_cookie(request, page(request, "login.html", 401, viewer=None,
                                         csrf=session.csrf, flash=[], problem=exc.message),
                           session)
    except PromptctlError as exc:
        return _error(request, exc)
    store.end(anonymous.id if anonymous else None)
    session = store.start(secret)
    return _set_cookie(request, secured(RedirectResponse("/ui", status_code=303)), session)


@router.post("/logout")
async def logout(request: Request) -> Response:
    store = sessions(request)
    session = store.get(request.cookies.get(COOKIE))
    form = await _form(request)
    try:
        csrf.check(request, session, form.get("csrf"))
    except PromptctlError as exc:
        return _error(request, exc)
    store.end(session.id if session else None)
    response = secured(RedirectResponse("/ui/login", status_code=303))
    response.delete_cookie(COOKIE, path="/ui", httponly=True, samesite="strict")
    return response


# -- pages --------------------------------------------------------------------------------------


SearchQuery = Annotated[str, Query(max_length=64, description="Part of a prompt name.")]


def _overview_context(request: Request, viewer: Viewer, q: str) -> dict[str, Any]:
    api = _api(request)
    grid = overview(api.store, _visible_envs(api, viewer), q.strip())
    plans = panels.overview_plans(api, grid.envs, tuple(r.prompt for r in grid.rows))
    return {"grid": grid, "plans": plans or {}, "q": q.strip()}


@router.get("")
def overview_page(request: Request, q: SearchQuery = "") -> Response:
    viewer = _viewer(request)
    if viewer is None:
        return _to_login()
    return page(request, "overview.html", **viewer.context(),
                **_overview_context(request, viewer, q))


@router.get("/fragments/overview")
def overview_fragment(request: Request, q: SearchQuery = "") -> Response:
    """The grid alone: what the live update swaps in when a change event arrives."""
    viewer = _viewer(request)
    if viewer is None:
        return secured(Response(status_code=401))
    return page(request, "_grid.html", **viewer.context(),
                **_overview_context(request, viewer, q))


@router.get("/prompts/{name}")
def prompt_page(request: Request, name: NamePath) -> Response:
    viewer = _viewer(request)
    if viewer is None:
        return _to_login()
    api = _api(request)
    try:
        description, versions = released_versions(api.store, name)
    except PromptctlError as exc:
        return _error(request, exc, viewer)
    states = served(api.store, name)
    envs = []
    for env in _visible_envs(api, viewer):
        history = api.service.history(env, name) if viewer.can_deploy(env) else None
        envs.append({"name": env, "state": states.get(env), "history": history,
                     "outcomes": panels.outcomes(api, env, name),
                     "plan": panels.plan(api, env, name),
                     "fleet": panels.fleet(api, env, name)})
    return page(request, "prompt.html", **viewer.context(), name=name,
                description=description, versions=versions, envs=envs,
                evals=panels.eval_results(api, name))


@router.get("/prompts/{name}/compare")
def compare_page(request: Request, name: NamePath,
                 old: Annotated[str | None, Query(max_length=128)] = None,
                 new: Annotated[str | None, Query(max_length=128)] = None) -> Response:
    viewer = _viewer(request)
    if viewer is None:
        return _to_login()
    api = _api(request)
    try:
        _, versions = released_versions(api.store, name)
        numbers = [v.version for v in versions]
        old = old or (numbers[1] if len(numbers) > 1 else numbers[0])
        new = new or numbers[0]
        diff = compare_released(api.store, name, old, new)
    except PromptctlError as exc:
        return _error(request, exc, viewer)
    return page(request, "compare.html", **viewer.context(), name=name, versions=numbers,
                old=old, new=new, diff=diff)


# -- actions ------------------------------------------------------------------------------------


ACTIONS = ("rollback", "promote", *panels.PLAN_ACTIONS)


@router.get("/envs/{env}/prompts/{name}/{action}")
def confirm_page(request: Request, env: EnvPath, name: NamePath, action: str,
                 version: Annotated[str | None, Query(max_length=128)] = None,
                 percent: Annotated[int | None, Query(ge=1, le=100)] = None) -> Response:
    """The confirmation step of an action: what will change, a reason, and the button."""
    viewer = _viewer(request)
    if viewer is None:
        return _to_login()
    api = _api(request)
    try:
        if action not in ACTIONS:
            raise UsageError(f"unknown action {action[:40]!r}; use one of: {', '.join(ACTIONS)}")
        api.rollouts.require_environment(env)
        viewer.principal.require("deployer", env)
        _, versions = released_versions(api.store, name)
    except PromptctlError as exc:
        return _error(request, exc, viewer)
    return page(request, "confirm.html", **viewer.context(), env=env, name=name,
                action=action, state=served(api.store, name).get(env),
                versions=[v.version for v in versions], version=version,
                percent=percent or 100)


@router.post("/envs/{env}/prompts/{name}/{action}")
async def act(request: Request, env: EnvPath, name: NamePath, action: str) -> Response:
    store = sessions(request)
    form = await _form(request)
    viewer = await asyncio.to_thread(_viewer, request)
    try:
        csrf.check(request, store.get(request.cookies.get(COOKIE)), form.get("csrf"))
        if viewer is None:
            raise AuthError("sign in first: this session has no token")
        viewer.principal.require("deployer", env)
        done = await asyncio.to_thread(_run_action, _api(request), viewer.principal, env,
                                       name, action, form)
    except PromptctlError as exc:
        return _error(request, exc, viewer)
    viewer.session.flash.append(done)
    return secured(RedirectResponse(f"/ui/prompts/{quote(name)}#env-{quote(env)}",
                                    status_code=303))


def _run_action(api: ApiState, caller: Principal, env: str, name: str, action: str,
                form: dict[str, str]) -> str:
    """Do ``action`` through the service (as the REST API does); returns what happened."""
    reason = form.get("reason", "").strip() or None
    if reason is not None and (len(reason) > MAX_REASON or any(
            ord(c) < 32 or 127 <= ord(c) < 160 for c in reason)):
        raise UsageError(f"reason: at most {MAX_REASON} printable characters, on one line")
    if action == "rollback":
        change = api.service.rollback(env, name, reason=reason, actor=caller.actor)
    elif action == "promote":
        try:
            percent = int(form.get("percent", "100"))
        except ValueError:
            raise UsageError("percent: a whole number from 1 to 100") from None
        change = api.service.promote(env, name, form.get("version", ""), percent=percent,
                                     reason=reason, actor=caller.actor)
    elif action in panels.PLAN_ACTIONS:
        return panels.plan_control(api, env, name, action, actor=caller.actor, reason=reason)
    else:
        raise UsageError(f"unknown action {action[:40]!r}; use one of: {', '.join(ACTIONS)}")
    after = change.after
    served = f"stable {after.get('stable') or '—'}"
    if after.get("canary"):
        served += f", canary {after['canary']} at {after.get('percent')}%"
    return f"{change.action} of {name} in {env} done: now {served}."


# -- live updates and static files --------------------------------------------------------------


@router.get("/events")
async def events(request: Request) -> Response:
    """Server-sent ``change`` events whenever an environment the viewer sees changes (the
    overview then fetches its grid again). Reads the change feed's ids in memory."""
    viewer = await asyncio.to_thread(_viewer, request)
    if viewer is None:
        return secured(Response(status_code=401))
    api = _api(request)
    envs = await asyncio.to_thread(_visible_envs, api, viewer)
    live = _signed_in(sessions(request), viewer.session.id)
    stream = _changes(api.feed.current, envs, live, api.keepalive)
    return secured(StreamingResponse(stream, media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache",
                                              "X-Accel-Buffering": "no"}))


def _signed_in(store: Sessions, session_id: str) -> Callable[[], bool]:
    return lambda: (found := store.get(session_id)) is not None and found.secret is not None


async def _changes(current: Callable[[str], int], envs: list[str], live: Callable[[], bool],
                   keepalive: float) -> AsyncIterator[bytes]:
    """A ping when ``current`` (the change feed's latest id of an environment) moves for any
    of ``envs``, while the session lasts (signing out ends the stream)."""
    seen = {env: current(env) for env in envs}
    yield b"retry: 1000\n\n"
    idle = 0.0
    while live():
        await asyncio.sleep(EVENT_TICK)
        now = {env: current(env) for env in envs}
        if now != seen:
            seen, idle = now, 0.0
            yield f"event: change\ndata: {max(now.values(), default=0)}\n\n".encode()
        elif (idle := idle + EVENT_TICK) >= keepalive:
            idle = 0.0
            yield b": keepalive\n\n"


_STATIC = resources.files("promptctl.api.ui").joinpath("static")
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".txt": "text/plain; charset=utf-8", ".png": "image/png", ".svg": "image/svg+xml"}


@router.get("/static/{filename}")
def static(filename: Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,80}$")]
           ) -> Response:
    target = _STATIC.joinpath(filename)
    suffix = "." + filename.rsplit(".", 1)[-1] if "." in filename else ""
    if suffix not in _TYPES or not target.is_file():
        return secured(JSONResponse({"error": "not_found", "detail": "no such file"},
                                    status_code=404))
    return secured(Response(target.read_bytes(), media_type=_TYPES[suffix],
                            headers={"Cache-Control": "public, max-age=3600"}))
