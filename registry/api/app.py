"""The FastAPI application: state, error handling and middleware.

Every error leaves as JSON ``{error, detail}`` (``error`` is the code) with the HTTP status of
``promptctl.errors.ERROR_TABLE``; invalid requests are 422, oversized bodies
413. A 500 means a bug, never bad input.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from promptctl.api.auth import Authenticator
from promptctl.api.eval_routes import router as eval_router
from promptctl.api.feed import ChangeFeed, LocalChangeFeed
from promptctl.api.guards import install_guards
from promptctl.api.middleware import MAX_BODY_BYTES, Metrics, ObservabilityMiddleware
from promptctl.api.ofrep_routes import router as ofrep_router
from promptctl.api.routes import router
from promptctl.api.snapshots import SnapshotCache
from promptctl.api.state import ApiState
from promptctl.api.state_routes import router as state_router
from promptctl.api.ui import router as ui_router
from promptctl.config import Settings
from promptctl.errors import (
    InternalError,
    PromptctlError,
    ValidationError,
    error_class,
)
from promptctl.flags.factory import make_backend
from promptctl.limits import Limits
from promptctl.local_service import LocalService
from promptctl.rollout import Rollouts
from promptctl.store import Store

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, store: Store | None = None, feed: ChangeFeed | None = None,
               keepalive: float = 10.0, max_body: int = MAX_BODY_BYTES,
               limits: Limits | None = None) -> FastAPI:
    """Build the lookup API over ``settings``' database (``promptctl serve`` runs it).

    ``limits`` (default: ``promptctl.toml``'s ``[limits]`` and the environment) gives the
    body read timeout; the header and idle timeouts belong to the server (``api.server``)."""
    limits = limits or server_limits(settings)
    store = store or Store.open(settings.db_url)
    feed = feed or default_feed(store)
    rollouts = Rollouts(store, settings.environments, backend=make_backend(settings),
                        on_change=lambda change: feed.publish(change.env, change.id))
    state = ApiState(settings=settings, store=store, rollouts=rollouts,
                     service=LocalService(rollouts, limits=limits), feed=feed,
                     snapshots=SnapshotCache(store, limits), authenticate=Authenticator(store),
                     metrics=Metrics(), keepalive=keepalive)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await feed.start()
        guards.start()  # the plan evaluator (guarded rollouts)
        try:
            yield
        finally:
            guards.stop()
            await feed.stop()

    app = FastAPI(title="promptctl", version="1", lifespan=lifespan,
                  description="Runtime lookup and rollout control for versioned LLM prompts.")
    app.state.api = state
    _install_error_handlers(app)
    app.include_router(router)
    app.include_router(state_router)
    app.include_router(ofrep_router)
    app.include_router(eval_router)
    app.include_router(ui_router)
    guards = install_guards(app, state)
    app.add_middleware(ObservabilityMiddleware, metrics=state.metrics, max_body=max_body,
                       body_timeout=limits.body_timeout_seconds)
    return app


def default_feed(store: Store) -> ChangeFeed:
    """The feed for ``store``: LISTEN/NOTIFY on PostgreSQL, polling on SQLite."""
    if store.is_sqlite:
        return LocalChangeFeed(store)
    from promptctl.api.pg_feed import PgChangeFeed  # psycopg loads only for PostgreSQL

    return PgChangeFeed(store)


def server_limits(settings: Settings) -> Limits:
    """The bounds for ``settings``' project (validated with the configuration: ``[limits]``
    of promptctl.toml, then ``PROMPTCTL_<NAME>`` environment variables)."""
    return settings.limits


def error_body(error: str, detail: Any, **extra: Any) -> dict[str, Any]:
    return {"error": error, "detail": detail, **extra}


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(PromptctlError)
    async def _promptctl_error(_: Request, exc: PromptctlError) -> JSONResponse:
        extra = {"items": exc.detail} if exc.detail is not None else {}
        return JSONResponse(error_body(exc.code, exc.message, **extra),
                            status_code=exc.http_status)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}"
                    for e in exc.errors()]
        return JSONResponse(error_body(ValidationError.code, "; ".join(problems) or "invalid"),
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = error_class("", exc.status_code).code  # 404 not_found, 405 method_not_allowed
        return JSONResponse(error_body(code, exc.detail), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _bug(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(error_body(InternalError.code, "internal server error"),
                            status_code=500)
