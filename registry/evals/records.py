"""Eval runs in the registry: record, list and show them, and the promotion gate.

The application layer (:mod:`promptctl.local_service`) calls these; the API and the CLI's
remote mode reach them through it. A run is stored as its summary, comparison and gate
outcome, bound to the bundle fingerprint, the suite's content hash and the provider and
judge identity, with one row per case.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC
from typing import TYPE_CHECKING, Any

from promptctl.bundle import Bundle
from promptctl.catalog import Catalog
from promptctl.errors import CheckFailed, NotFoundError, UsageError
from promptctl.evals.results import CaseResult, RunResult
from promptctl.model import ArtifactKey, Prompt
from promptctl.store import evals as rows
from promptctl.store.releases import get_release, load_released, record_artifact
from promptctl.store.tables import EvalCaseRecord, EvalRunRecord

if TYPE_CHECKING:
    from promptctl.store.evals import Session

MAX_STORED_OUTPUT = 4000
"""Characters of each case's output kept in the store (and sent over the API)."""


# -- released bundles -----------------------------------------------------------------------


def released_bundle(session: Session, prompt: str, version: str) -> Bundle:
    """The bundle of the released ``prompt@version`` (``NotFoundError`` if not released)."""
    record = get_release(session, ArtifactKey("prompt", prompt, version))
    if record is None:
        raise NotFoundError(f"prompt {prompt}@{version} is not released")
    artifact = record_artifact(record)
    assert isinstance(artifact, Prompt)
    from promptctl.bundle import resolve_bundle

    keys = [ArtifactKey(kind, ref.name, ref.version) for kind, ref in artifact.refs()]
    return resolve_bundle(artifact, load_released(Catalog(), session, keys))


def released_fingerprint(session: Session, prompt: str, version: str) -> str:
    return released_bundle(session, prompt, version).fingerprint


# -- recording ------------------------------------------------------------------------------


def parse_upload(payload: Mapping[str, Any]) -> tuple[RunResult, int]:
    """The run an upload describes and how many cases it has in all."""
    try:
        run = RunResult.from_dict(dict(payload["run"]))
        expected = int(payload.get("cases_expected", len(run.cases)))
        gate = payload["gate"]
        if not isinstance(gate, dict) or not isinstance(gate.get("passed"), bool):
            raise ValueError("gate.passed must be true or false")
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"not an eval run upload: {exc}") from None
    if expected < len(run.cases) or expected < 0:
        raise UsageError(f"cases_expected {expected} is fewer than the {len(run.cases)} sent")
    return run, expected


def run_record(payload: Mapping[str, Any], run: RunResult, expected: int,
               actor: str) -> EvalRunRecord:
    baseline = payload.get("baseline") or {}
    return EvalRunRecord(
        suite=run.suite, suite_version=run.suite_version, suite_hash=run.suite_hash,
        prompt=run.prompt, version=run.version, fingerprint=run.fingerprint,
        env=payload.get("env"), baseline_version=baseline.get("version"),
        baseline_fingerprint=baseline.get("fingerprint"),
        passed=bool(payload["gate"]["passed"]), stopped=run.stopped, cases_expected=expected,
        summary=json.dumps(run.summary.to_dict() | {"spent": run.spent}),
        comparison=json.dumps(payload["comparison"]) if payload.get("comparison") else None,
        gate=json.dumps(payload["gate"]),
        identity=json.dumps({"provider": run.provider, "judges": run.judges}), actor=actor)


def case_records(cases: list[CaseResult]) -> list[EvalCaseRecord]:
    out = []
    for case in cases:
        data = case.to_dict()
        data["output"] = data["output"][:MAX_STORED_OUTPUT]
        out.append(EvalCaseRecord(
            run_id=0, name=case.name[:256], case_hash=case.case_hash, passed=case.passed,
            score=case.score, latency_ms=case.latency_ms, input_tokens=case.input_tokens,
            output_tokens=case.output_tokens, cost=case.cost, data=json.dumps(data)))
    return out


def parse_cases(items: Any) -> list[CaseResult]:
    if not isinstance(items, list):
        raise UsageError("cases must be a list")
    try:
        return [CaseResult.from_dict(dict(item)) for item in items]
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"not a case result: {exc}") from None


def run_info(session: Session, record: EvalRunRecord, *, with_cases: bool) -> dict[str, Any]:
    """The stored run as the service returns it (``EvalRunInfo.from_dict`` reads it)."""
    identity = json.loads(record.identity)
    count = rows.case_count(session, record.id or 0)
    data: dict[str, Any] = {
        "id": record.id, "suite": record.suite, "suite_version": record.suite_version,
        "suite_hash": record.suite_hash, "prompt": record.prompt, "version": record.version,
        "fingerprint": record.fingerprint, "env": record.env,
        "baseline_version": record.baseline_version,
        "baseline_fingerprint": record.baseline_fingerprint, "passed": record.passed,
        "stopped": record.stopped, "complete": count >= record.cases_expected,
        "cases_expected": record.cases_expected,
        "summary": json.loads(record.summary),
        "comparison": json.loads(record.comparison) if record.comparison else None,
        "gate": json.loads(record.gate), "provider": identity.get("provider"),
        "judges": identity.get("judges"), "actor": record.actor,
        "created_at": record.created_at.replace(tzinfo=record.created_at.tzinfo or UTC)
        .isoformat(), "cases": None}
    if with_cases:
        data["cases"] = [json.loads(c.data) for c in rows.cases_of(session, record.id or 0)]
    return data


# -- the gate -------------------------------------------------------------------------------


def check_gate(session: Session, env: str, prompt: str, version: str, required: bool | str,
               stable: str | None) -> None:
    """Refuse (``CheckFailed``) a promote of ``prompt@version`` to ``env`` without evidence.

    Evidence is a passing run of this exact bundle fingerprint, of the configured suite
    (``required`` names it, or ``true``: any suite), whose suite version is released
    unchanged, compared against the bundle live as ``env``'s stable now (with no stable
    yet: a run on the suite's absolute thresholds). The newest such run decides. Without
    one, the newest ``eval record`` of this bundle decides (results of external tools).
    """
    fingerprint = released_fingerprint(session, prompt, version)
    suite = required if isinstance(required, str) else None
    stable_fp = released_fingerprint(session, prompt, stable) if stable else None
    what = f"{prompt}@{version} ({fingerprint[:12]})"
    of_suite = f" of suite {suite!r}" if suite else ""
    stale: EvalRunRecord | None = None
    for run in rows.runs_for_fingerprint(session, fingerprint, env, suite):
        if run.baseline_fingerprint != stable_fp:
            stale = stale or run
            continue
        if rows.case_count(session, run.id or 0) < run.cases_expected or \
                not _suite_released(session, run):
            continue
        if run.passed:
            return
        failed = [c["detail"] for c in json.loads(run.gate).get("checks", [])
                  if not c.get("passed")]
        reasons = "; ".join(failed) or f"see `promptctl eval show {run.id}`"
        raise CheckFailed(f"{env} requires a passing eval{of_suite}: the latest run (#{run.id}, "
                          f"{run.suite}@{run.suite_version}) of {what} failed: {reasons}")
    record = rows.latest_record(session, env, prompt, version, fingerprint, suite)
    if record is not None:
        if record.passed:
            return
        raise CheckFailed(f"{env} requires a passing eval{of_suite}: the latest eval of "
                          f"{prompt}@{version} ({record.suite}) failed")
    against = f"{env}'s stable {stable}" if stable else f"{env} (no stable yet)"
    if stale is not None:
        raise CheckFailed(
            f"{env} requires a passing eval{of_suite} against {against}: run #{stale.id} of "
            f"{what} was compared with {stale.baseline_version or 'no baseline'}, which is not "
            f"live there now: run the suite on it again, against {env}")
    raise CheckFailed(f"{env} requires a passing eval{of_suite} before promoting: no passing "
                      f"run of {what} against {against}: run the suite on it against {env} "
                      "(`promptctl eval run`), or record a result (`promptctl eval record`)")


def _suite_released(session: Session, run: EvalRunRecord) -> bool:
    record = get_release(session, ArtifactKey("eval", run.suite, run.suite_version))
    return record is not None and record.content_hash == run.suite_hash
