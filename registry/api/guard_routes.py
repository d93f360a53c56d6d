"""Guarded rollouts over HTTP: outcome reports from SDKs, the fleet, rollout plans.

- ``POST /v1/envs/{env}/outcomes`` (reader of ``env``): an SDK instance's report, its
  fleet record and closed outcome windows; 202, or a 4xx ``{error, detail}`` and nothing
  counted.
- ``GET /v1/fleet?env=`` (deployer): every instance seen, with what it serves.
- ``GET /v1/plans?env=`` (deployer): each prompt's latest plan, with its figures.
- ``POST /v1/envs/{env}/prompts/{name}/plan`` (deployer): start a plan.
- ``POST /v1/envs/{env}/prompts/{name}/plan/{action}`` (deployer): pause, resume, abort.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from promptctl.api.outcome_metrics import OutcomeMetrics
from promptctl.api.params import ENV_NAME, NAME, Caller, EnvPath, NamePath, State
from promptctl.api.state import ApiState
from promptctl.outcomes import ReleasedVersions, ingest
from promptctl.plans import PlanSpec
from promptctl.tokens import Principal

router = APIRouter()


@dataclass
class GuardState:
    api: ApiState
    released: ReleasedVersions
    metrics: OutcomeMetrics
    runner: Any = None  # promptctl.plan_runner.PlanRunner, once started
    extra: dict[str, Any] = field(default_factory=dict)

    def start(self) -> None:
        from promptctl.plan_runner import PlanRunner

        self.runner = PlanRunner.for_api(self.api)
        self.runner.start()

    def stop(self) -> None:
        if self.runner is not None:
            self.runner.stop()
            self.runner = None


async def guard_state(request: Request) -> GuardState:
    return request.app.state.guards  # type: ignore[no-any-return]


Guards = Annotated[GuardState, Depends(guard_state)]

Count = Annotated[StrictInt, Field(ge=0, le=2**62)]
Amount = Annotated[float, Field(ge=0, le=1e15, allow_inf_nan=False)]
Label = Annotated[StrictStr, Field(max_length=128, pattern=r"^[^\x00-\x1f\x7f-\x9f]*$")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class InstanceIn(_Body):
    id: Annotated[StrictStr, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
    app: Label = ""
    sdk_version: Annotated[StrictStr, Field(max_length=64)] = ""
    host: Label = ""
    change_id: Count
    source: StrictStr
    swapped_at: Amount = 0.0
    started_at: Amount = 0.0


class LatencyIn(_Body):
    count: Count
    sum: Amount
    buckets: dict[Annotated[str, Field(max_length=4)], Count] = Field(max_length=200)


class FeedbackIn(_Body):
    up: Count
    down: Count


class CheckedIn(_Body):
    checked: Count
    valid: Count


class WindowIn(_Body):
    prompt: Annotated[StrictStr, Field(pattern=NAME)]
    version: Annotated[StrictStr, Field(max_length=128)]
    variant: StrictStr
    start: Annotated[StrictFloat | StrictInt, Field(ge=0, le=1e11)]
    calls: Annotated[StrictInt, Field(ge=1, le=2**62)]
    errors: dict[Annotated[str, Field(max_length=64)], Count] = Field(max_length=32)
    latency: LatencyIn
    input_tokens: Count
    output_tokens: Count
    cost: Amount
    feedback: FeedbackIn
    schema_: CheckedIn = Field(alias="schema")
    tool_args: CheckedIn


class ReportIn(_Body):
    instance: InstanceIn
    window_seconds: Annotated[StrictFloat | StrictInt, Field(gt=0, le=3600)]
    windows: list[WindowIn] = Field(default_factory=list)
    dropped: dict[Annotated[str, Field(max_length=32)], Count] = Field(default_factory=dict,
                                                                      max_length=8)


@router.post("/v1/envs/{env}/outcomes", tags=["guards"], status_code=202)
async def report_outcomes(state: State, guards: Guards, caller: Caller, env: EnvPath,
                          body: ReportIn) -> dict[str, Any]:
    """An SDK instance's outcome windows and fleet record (a reader token of ``env``)."""
    caller.require("reader", env)
    report = body.model_dump(by_alias=True)

    def store() -> Any:
        if not state.snapshots.has(env):
            state.rollouts.require_environment(env)
        return ingest(state.store, guards.released, env, report,
                      limits=state.settings.limits)

    result = await asyncio.to_thread(store)
    guards.metrics.observe(env, result.fresh)
    return {"instance": result.instance, "windows": result.windows,
            "duplicates": result.duplicates}


# -- fleet and plans (deployer) -----------------------------------------------------------------

EnvQuery = Annotated[str | None, Query(pattern=ENV_NAME)]


class PlanIn(_Body):
    version: Annotated[StrictStr, Field(max_length=128)]
    plan: dict[str, Any] = Field(description="The plan (promptctl.toml [plans.NAME] + name).")
    reason: Annotated[StrictStr, Field(max_length=2000)] | None = None
    actor: Annotated[StrictStr, Field(max_length=100)] | None = None


class ActorIn(_Body):
    actor: Annotated[StrictStr, Field(max_length=100)] | None = None


def _actor(caller: Principal, claimed: str | None) -> str:
    return f"{caller.actor} ({claimed})" if claimed else caller.actor


@router.get("/v1/fleet", tags=["guards"])
def fleet(state: State, caller: Caller, env: EnvQuery = None) -> list[dict[str, Any]]:
    """Every SDK instance seen lately, with the change it applied and its lag."""
    caller.require("deployer", env)
    entries = state.service.fleet(env or caller.env)
    return [e.to_dict() for e in entries]


@router.get("/v1/plans", tags=["guards"])
def plans(state: State, caller: Caller, env: EnvQuery = None) -> list[dict[str, Any]]:
    """Each prompt's latest rollout plan: step, time to the next, canary vs stable figures."""
    caller.require("deployer", env)
    return [p.to_dict() for p in state.service.plans(env or caller.env)]


@router.post("/v1/envs/{env}/prompts/{name}/plan", tags=["guards"], status_code=201)
def plan_start(state: State, caller: Caller, env: EnvPath, name: NamePath, body: PlanIn
               ) -> dict[str, Any]:
    """Start a rollout plan: the version goes to the plan's first step at once."""
    caller.require("deployer", env)
    spec = PlanSpec.from_dict(body.plan)
    return state.service.start_plan(env, name, body.version, spec, reason=body.reason,
                                    actor=_actor(caller, body.actor)).to_dict()


@router.post("/v1/envs/{env}/prompts/{name}/plan/{action}", tags=["guards"])
def plan_control(state: State, caller: Caller, env: EnvPath, name: NamePath,
                 action: Literal["pause", "resume", "abort"], body: ActorIn | None = None
                 ) -> dict[str, Any]:
    caller.require("deployer", env)
    claimed = body.actor if body else None
    return state.service.control_plan(env, name, action,
                                      actor=_actor(caller, claimed)).to_dict()
