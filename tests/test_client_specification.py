"""Unleash's official client specification (npm ``@unleash/client-specification``) run against
promptctl's built-in evaluator, :func:`promptctl.bucketing.in_rollout`.

Every case whose toggle uses a percentage rollout (``flexibleRollout`` or the older
``gradualRollout*`` strategies), and every variant case, is collected. A case runs when its toggle
is made only of what promptctl's rollouts are made of: rollout strategies (and ``default``, which
is a 100 % rollout) with no constraints, segments or dependencies. The others are skipped with
the reason; `docs/backends.md` lists them. The package is installed by `.ci/services.sh` and found
through ``PROMPTCTL_TEST_CLIENT_SPEC`` (or in `.ci/unleash/node_modules`); without it the cases are
skipped locally and fail in CI.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from promptctl.bucketing import in_rollout
from tests.conftest import REPO_ROOT, require_service

DEFAULT_SPEC_DIR = (REPO_ROOT / ".ci" / "unleash" / "node_modules" / "@unleash"
                    / "client-specification" / "specifications")
ROLLOUTS = {"flexibleRollout", "gradualRolloutUserId", "gradualRolloutSessionId",
            "gradualRolloutRandom"}
SUPPORTED = ROLLOUTS | {"default"}
MIN_APPLICABLE = 30  # the 6.1 package has 32; far fewer means the cases were not found


@dataclass(frozen=True)
class Case:
    file: str
    description: str
    toggle: Mapping[str, Any] | None
    context: Mapping[str, Any]
    expected: Any
    is_variant_case: bool

    @property
    def id(self) -> str:
        return f"{self.file.removesuffix('.json')}: {self.description}"


def spec_dir() -> Path | None:
    path = Path(os.environ.get("PROMPTCTL_TEST_CLIENT_SPEC") or DEFAULT_SPEC_DIR)
    return path if (path / "index.json").is_file() else None


def load_cases(folder: Path) -> list[Case]:
    cases = []
    for file in json.loads((folder / "index.json").read_text()):
        spec = json.loads((folder / file).read_text())
        toggles = {t["name"]: t for t in spec.get("state", {}).get("features", [])}
        for key, is_variant in (("tests", False), ("variantTests", True)):
            for test in spec.get(key, []):
                cases.append(Case(file, test["description"], toggles.get(test["toggleName"]),
                                  test.get("context") or {}, test["expectedResult"], is_variant))
    return cases


def concerns_rollouts(case: Case) -> bool:
    strategies = (case.toggle or {}).get("strategies") or []
    return case.is_variant_case or any(s["name"] in ROLLOUTS for s in strategies)


def skip_reason(case: Case) -> str | None:
    """Why promptctl's evaluator cannot answer this case, or None when it can."""
    if case.is_variant_case:
        return ("variants: promptctl picks canary/stable by the rollout bucket; Unleash's "
                "weighted variant assignment is not part of its evaluator")
    toggle = case.toggle or {}
    if toggle.get("dependencies"):
        return "dependent features: promptctl rollouts do not depend on other flags"
    for strategy in toggle.get("strategies") or []:
        if strategy["name"] not in SUPPORTED:
            return f"strategy {strategy['name']!r}: not a percentage rollout"
        if strategy.get("constraints"):
            return "strategy constraints: promptctl rollouts have none"
        if strategy.get("segments"):
            return "segments: promptctl rollouts have none"
    return None


def strategy_on(strategy: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    """One strategy through ``in_rollout``: the legacy ones are flexibleRollout with a fixed
    stickiness (their ``percentage`` is the rollout)."""
    params = strategy.get("parameters") or {}
    name = strategy["name"]
    if name == "default":
        return True
    stickiness = {"flexibleRollout": params.get("stickiness", "default"),
                  "gradualRolloutUserId": "userId",
                  "gradualRolloutSessionId": "sessionId",
                  "gradualRolloutRandom": "random"}[name]
    percent = int(params.get("rollout", params.get("percentage", 0)))
    return in_rollout(percent, params.get("groupId", ""), context, stickiness)


def evaluate(toggle: Mapping[str, Any], context: Mapping[str, Any]) -> bool:
    return bool(toggle.get("enabled")) and any(
        strategy_on(s, context) for s in toggle.get("strategies") or [])


FOLDER = spec_dir()
CASES = [c for c in load_cases(FOLDER) if concerns_rollouts(c)] if FOLDER else []


def test_client_specification_is_installed() -> None:
    require_service(FOLDER is not None,
                    "@unleash/client-specification (PROMPTCTL_TEST_CLIENT_SPEC; "
                    "run: bash .ci/services.sh start)")
    assert sum(skip_reason(c) is None for c in CASES) >= MIN_APPLICABLE


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_client_specification_case(case: Case) -> None:
    reason = skip_reason(case)
    if reason:
        pytest.skip(reason)
    assert case.toggle is not None
    assert evaluate(case.toggle, case.context) is case.expected
