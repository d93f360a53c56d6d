"""The runner: assertions, retries on 429/5xx, timeouts, malformed output, the cache, the
budget and replays. The providers here are stand-ins for a model (the real ones need a
network); everything else is the real runner on the example registry's bundle."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from promptctl.bundle import Bundle, resolve_bundle
from promptctl.catalog import Catalog, Entry
from promptctl.errors import MissingRecording, ProviderError, ValidationError
from promptctl.evals.cache import ResponseCache
from promptctl.evals.providers.base import ProviderRequest, ProviderResponse, ToolCall
from promptctl.evals.providers.replay import Recorder, ReplayProvider
from promptctl.evals.runner import RunOptions, run_suite
from promptctl.evals.suite import EvalSuite
from promptctl.loader import load_directory
from promptctl.model import Prompt
from tests.conftest import EXAMPLE_REGISTRY

VARS = {"customer": "Ann", "question": "Where is my parcel?"}


@pytest.fixture(scope="module")
def bundle() -> Bundle:
    tree = load_directory(EXAMPLE_REGISTRY)
    catalog = Catalog(Entry(item.artifact, item.path) for item in tree.artifacts)
    prompt = next(e.artifact for e in catalog if e.artifact.key.name == "support"
                  and e.artifact.kind == "prompt")
    assert isinstance(prompt, Prompt)
    return resolve_bundle(prompt, catalog)


def suite(*cases: dict[str, Any], **extra: Any) -> EvalSuite:
    return EvalSuite.model_validate({"kind": "eval", "name": "s", "version": "1.0.0",
                                     "description": "d", "prompt": "support",
                                     "cases": list(cases), **extra})


def case(name: str, *assertions: dict[str, Any], **vars_: Any) -> dict[str, Any]:
    return {"name": name, "vars": VARS | vars_, "assert": list(assertions)}


class Scripted:
    """A stand-in model: answers from a function of the request, counting calls."""

    type = "scripted"
    cacheable = True

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.calls = 0
        self.lock = threading.Lock()

    def identity(self) -> dict[str, Any]:
        return {"type": self.type}

    def complete(self, request: ProviderRequest) -> ProviderResponse:
        with self.lock:
            self.calls += 1
            n = self.calls
        value = self.answer(request, n)
        return ProviderResponse.coerce(value)


def fast(**kw: Any) -> RunOptions:
    return RunOptions(**({"jobs": 4, "backoff_seconds": 0.0, "sleep": lambda s: None} | kw))


def test_assertions_score_each_case_and_the_summary_adds_up(bundle: Bundle) -> None:
    answer = json.dumps({"answer": "Your parcel ships today", "sources": ["Shipping"]})
    model = Scripted(lambda r, n: ProviderResponse(answer, input_tokens=100, output_tokens=20,
                                                   cost=0.001, latency_ms=float(10 * n)))
    result = run_suite(suite(
        case("ok", {"type": "icontains", "value": "PARCEL"}, {"type": "json-schema"},
             {"type": "is-json"}, {"type": "max-tokens", "value": 50}),
        case("fails", {"type": "contains", "value": "refund"},
             {"type": "not-contains", "value": "sorry"}),
        case("weighted", {"type": "contains", "value": "refund", "weight": 1},
             {"type": "icontains", "value": "parcel", "weight": 3}) | {"threshold": 0.7},
    ), bundle, model, options=fast())
    by = result.by_name()
    assert by["ok"].passed and not by["fails"].passed and by["weighted"].passed
    assert by["weighted"].score == 0.75
    assert "does not contain 'refund'" in by["fails"].assertions[0].reason
    s = result.summary
    assert (s.cases, s.passed, round(s.pass_rate, 3)) == (3, 2, 0.667)
    assert s.per_assertion["contains"] == 0.0 and s.per_assertion["not-contains"] == 1.0
    assert s.p95_tokens == 120 and s.cost_per_case == 0.001
    assert result.fingerprint == bundle.fingerprint and result.suite_hash


def test_429_and_5xx_are_retried_with_backoff_and_a_lasting_error_fails_only_its_case(
        bundle: Bundle) -> None:
    waits: list[float] = []

    def flaky(request: ProviderRequest, n: int) -> str:
        if request.case == "down":
            raise ProviderError("503 from upstream", status=503)
        if request.case == "busy" and n <= 2:
            raise ProviderError("rate limited", status=429)
        if request.case == "bad-request":
            raise ProviderError("400: invalid", status=400)
        return "your parcel"

    model = Scripted(flaky)
    options = RunOptions(jobs=1, retries=3, backoff_seconds=0.25, sleep=waits.append)
    result = run_suite(suite(case("busy", {"type": "icontains", "value": "parcel"}),
                             case("down", {"type": "icontains", "value": "parcel"}),
                             case("bad-request", {"type": "icontains", "value": "parcel"})),
                       bundle, model, options=options)
    by = result.by_name()
    assert by["busy"].passed and by["busy"].error is None
    assert not by["down"].passed and "503 from upstream" in (by["down"].error or "")
    assert not by["bad-request"].passed  # 400 is not retried
    assert waits == [0.25, 0.5, 0.25, 0.5, 1.0]  # busy: 2 waits; down: 3 waits, then gives up
    assert model.calls == 3 + 4 + 1
    assert result.summary.errors == 2


def test_a_call_over_the_timeout_is_abandoned_and_fails_its_case(bundle: Bundle) -> None:
    model = Scripted(lambda r, n: time.sleep(2) or "late" if r.case == "slow" else "parcel")
    started = time.monotonic()
    result = run_suite(suite(case("slow", {"type": "icontains", "value": "parcel"}),
                             case("quick", {"type": "icontains", "value": "parcel"})),
                       bundle, model, options=fast(timeout_seconds=0.2, retries=1))
    assert time.monotonic() - started < 1.5
    by = result.by_name()
    assert by["quick"].passed
    assert not by["slow"].passed and "no answer within 0.2 s" in (by["slow"].error or "")


def test_malformed_output_and_invalid_tool_calls_fail_cases_not_the_run(bundle: Bundle) -> None:
    def answer(request: ProviderRequest, n: int) -> ProviderResponse:
        if request.case == "tool-ok":
            return ProviderResponse("", (ToolCall("create-ticket", {"summary": "s",
                                                                    "priority": "high"}),))
        if request.case == "tool-bad":
            return ProviderResponse("", (ToolCall("create-ticket", {"priority": "urgent"}),))
        if request.case == "tool-text":
            return ProviderResponse("", (ToolCall("create-ticket", "{not json"),))
        return ProviderResponse("{'answer': 'not JSON'")

    result = run_suite(suite(
        case("json", {"type": "json-schema"}),
        case("tool-ok", {"type": "tool-call", "value": {"name": "create-ticket",
                                                        "arguments": {"priority": "high"}}}),
        case("tool-bad", {"type": "tool-call", "value": "create-ticket"}),
        case("tool-text", {"type": "is-valid-openai-tools-call"}),
    ), bundle, Scripted(answer), options=fast())
    by = result.by_name()
    assert "output is not JSON" in by["json"].assertions[0].reason
    assert by["tool-ok"].passed
    assert "create-ticket arguments are invalid" in by["tool-bad"].assertions[0].reason
    assert "not a JSON object" in by["tool-text"].assertions[0].reason
    assert result.summary.passed == 1


def test_the_cache_makes_a_rerun_free(bundle: Bundle, tmp_path: Path) -> None:
    model = Scripted(lambda r, n: ProviderResponse("parcel", cost=0.01, latency_ms=40.0))
    cases = [case(f"c{i}", {"type": "icontains", "value": "parcel"}, question=f"q{i}")
             for i in range(10)]
    cache = ResponseCache(tmp_path / "cache")
    first = run_suite(suite(*cases), bundle, model, options=fast(cache=cache))
    second = run_suite(suite(*cases), bundle, model, options=fast(cache=cache))
    assert model.calls == 10 and first.spent == pytest.approx(0.1) and second.spent == 0
    assert second.summary.cached == 10
    assert second.summary.p95_latency_ms == first.summary.p95_latency_ms == 40.0
    assert second.summary.cost_per_case == first.summary.cost_per_case


def test_the_budget_stops_starting_cases(bundle: Bundle) -> None:
    model = Scripted(lambda r, n: ProviderResponse("parcel", cost=0.05))
    cases = [case(f"c{i}", {"type": "icontains", "value": "parcel"}) for i in range(10)]
    result = run_suite(suite(*cases), bundle, model, options=fast(jobs=1, max_cost=0.12))
    assert result.stopped == "budget" and model.calls == 3 and result.summary.cases == 3


def test_a_replay_answers_from_recordings_and_a_missing_one_fails_the_run(
        bundle: Bundle, tmp_path: Path) -> None:
    recordings = tmp_path / "rec.jsonl"
    recorder = Recorder(recordings)
    live = Scripted(lambda r, n: "parcel on its way")
    cases = [case("a", {"type": "icontains", "value": "parcel"}),
             case("b", {"type": "icontains", "value": "parcel"}, question="other")]
    run_suite(suite(*cases), bundle, live, options=fast(recorder=recorder))
    recorder.save()
    replayed = run_suite(suite(*cases), bundle, ReplayProvider(str(recordings)), options=fast())
    assert replayed.summary.passed == 2
    with pytest.raises(MissingRecording, match="no recording of case 'new'"):
        run_suite(suite(*cases, case("new", {"type": "icontains", "value": "x"},
                                     question="never recorded")),
                  bundle, ReplayProvider(str(recordings)), options=fast())


def test_vars_that_do_not_fit_the_prompt_are_refused_before_any_call(bundle: Bundle) -> None:
    model = Scripted(lambda r, n: "x")
    with pytest.raises(ValidationError, match="sets `colour`"):
        run_suite(suite(case("a", {"type": "icontains", "value": "x"}, colour="red")),
                  bundle, model, options=fast())
    assert model.calls == 0


def test_an_llm_rubric_asks_the_pinned_judge_and_records_its_fingerprint(
        bundle: Bundle) -> None:
    def answer(request: ProviderRequest, n: int) -> str:
        if request.purpose == "judge":
            assert request.model.name == "support-chat"
            return json.dumps({"pass": "polite" in request.messages[1]["content"],
                               "score": 0.9, "reason": "fine"})
        return "a polite answer"

    result = run_suite(suite(case("a", {"type": "llm-rubric", "value": "is it polite?",
                                        "provider": "support-chat@1.0.0"})),
                       bundle, Scripted(answer), judges={"support-chat@1.0.0": bundle.model},
                       options=fast())
    assert result.cases[0].passed
    assert result.judges == [{"ref": "support-chat@1.0.0",
                              "fingerprint": bundle.model.content_hash()}]
