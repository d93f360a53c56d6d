"""Eval runs over HTTP, so CI needs no database access: a deployer token writes a run (in
parts, within the body limit) and reads runs back; the CLI's remote mode uses these.

- ``POST /v1/evals/runs``: a run with its first cases (``cases_expected`` in all);
- ``POST /v1/evals/runs/{id}/cases``: more of its cases;
- ``GET /v1/evals/runs?prompt=&suite=&limit=``, ``GET /v1/evals/runs/{id}``;
- ``GET /v1/evals/bundles/{prompt}/{version}``: a released bundle, to evaluate it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from promptctl.api.params import ENV_NAME, MAX_ID, NAME, Caller, NamePath, State

router = APIRouter()
RunId = Annotated[int, Path(ge=1, le=MAX_ID)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunBody(_Body):
    run: dict[str, Any] = Field(description="The run: identity, summary and (some) cases.")
    cases_expected: StrictInt = Field(ge=0, le=1_000_000,
                                      description="How many cases the run has in all.")
    env: StrictStr | None = Field(None, pattern=ENV_NAME,
                                  description="The environment whose stable was the baseline.")
    baseline: dict[str, Any] | None = Field(None, description="{version, fingerprint}")
    comparison: dict[str, Any] | None = None
    gate: dict[str, Any] = Field(description="{passed, checks}")
    actor: StrictStr | None = Field(None, max_length=100, pattern="^[^\\x00-\\x1f\\x7f-\\x9f]*$")


class CasesBody(_Body):
    cases: list[dict[str, Any]] = Field(max_length=10_000)


def _actor(caller: Any, claimed: str | None) -> str:
    return f"{caller.actor} ({claimed})" if claimed else str(caller.actor)


@router.post("/v1/evals/runs", tags=["evals"], status_code=201)
def run_create(state: State, caller: Caller, body: RunBody) -> dict[str, Any]:
    """Store an eval run (its first cases with it; the rest with ``.../cases``)."""
    caller.require("deployer", body.env)
    payload = body.model_dump(exclude={"actor"})
    return state.service.record_eval_run(payload, actor=_actor(caller, body.actor)).to_dict()


@router.post("/v1/evals/runs/{run_id}/cases", tags=["evals"])
def run_add_cases(state: State, caller: Caller, run_id: RunId, body: CasesBody
                  ) -> dict[str, Any]:
    run = state.service.eval_run(run_id)
    caller.require("deployer", run.env)
    return state.service.add_eval_cases(run_id, body.cases).to_dict()


@router.get("/v1/evals/runs", tags=["evals"])
def run_list(state: State, caller: Caller,
             prompt: Annotated[str | None, Query(pattern=NAME)] = None,
             suite: Annotated[str | None, Query(pattern=NAME)] = None,
             limit: Annotated[int, Query(ge=1, le=500)] = 20) -> list[dict[str, Any]]:
    caller.require("deployer")
    return [r.to_dict() for r in state.service.eval_runs(prompt=prompt, suite=suite,
                                                         limit=limit)]


@router.get("/v1/evals/runs/{run_id}", tags=["evals"])
def run_show(state: State, caller: Caller, run_id: RunId) -> dict[str, Any]:
    caller.require("deployer")
    return state.service.eval_run(run_id).to_dict()


@router.get("/v1/evals/bundles/{name}/{version}", tags=["evals"])
def bundle_of(state: State, caller: Caller, name: NamePath,
              version: Annotated[str, Path(max_length=128)]) -> dict[str, Any]:
    caller.require("deployer")
    return state.service.released_bundle(name, version)
