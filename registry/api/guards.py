"""What guarded rollouts add to one API process: the outcome intake's caches and metrics,
and the plan evaluator that runs beside the server (:mod:`promptctl.plan_runner`).

:func:`install_guards` is the one call :func:`promptctl.api.app.create_app` makes: it adds
the routes (:mod:`promptctl.api.guard_routes`) and keeps their ``GuardState`` on
``app.state.guards``; the app's lifespan starts and stops the evaluator.
"""

from __future__ import annotations

from fastapi import FastAPI

from promptctl.api.guard_routes import GuardState, router
from promptctl.api.outcome_metrics import OutcomeMetrics
from promptctl.api.state import ApiState
from promptctl.outcomes import ReleasedVersions


def install_guards(app: FastAPI, state: ApiState) -> GuardState:
    guards = GuardState(api=state, released=ReleasedVersions(state.store),
                        metrics=OutcomeMetrics(state.metrics.registry))
    app.state.guards = guards
    app.include_router(router)
    return guards
