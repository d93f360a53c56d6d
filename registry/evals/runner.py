"""Running a suite on one bundle: concurrent calls, retries, timeouts, a budget, a cache.

Before any call the suite is checked against the prompt it runs on (every case's vars must
fit the declared variables) and every case is rendered, so a bad suite is one error and
costs nothing. Then cases run on ``jobs`` threads:

- a call that fails with a retryable :class:`~promptctl.errors.ProviderError` (429, 5xx, no
  answer) is retried ``retries`` times, waiting ``backoff * 2**attempt`` seconds (or the
  provider's ``Retry-After``); a call that takes longer than ``timeout`` is abandoned and
  counts as no answer;
- a call that still fails, and any malformed answer, fails its case; the run goes on;
- once what the run spent reaches ``max_cost``, no further case starts (the run is marked
  ``stopped: budget`` and cannot pass a gate);
- answers come from, and go to, the :class:`~promptctl.evals.cache.ResponseCache`.

A replayed case without a recording fails the whole run
(:class:`~promptctl.errors.MissingRecording`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from promptctl.bundle import Bundle
from promptctl.canonical import sha256_hex
from promptctl.errors import MissingRecording, ProviderError, ValidationError
from promptctl.evals.assertions import Context, case_score, check
from promptctl.evals.cache import ResponseCache, cache_key
from promptctl.evals.checks import suite_problems
from promptctl.evals.providers.base import Provider, ProviderRequest, ProviderResponse
from promptctl.evals.providers.python_provider import load_function
from promptctl.evals.providers.replay import Recorder
from promptctl.evals.results import CaseResult, RunResult, Summary
from promptctl.evals.suite import Assertion, EvalSuite, NamedCase
from promptctl.model import ModelConfig
from promptctl.templating import render_prompt

JUDGE_SYSTEM = (
    "You grade an AI assistant's output against a rubric. Answer with one JSON object only: "
    '{"pass": true|false, "score": a number from 0 to 1, "reason": "one sentence"}.')
MAX_OUTPUT_CHARS = 20_000
"""Longest output kept per case in a result (the rest is cut, with a marker)."""


@dataclass
class RunOptions:
    jobs: int = 4
    retries: int = 3
    backoff_seconds: float = 0.5
    timeout_seconds: float | None = 60.0
    max_cost: float | None = None
    cache: ResponseCache | None = None
    recorder: Recorder | None = None
    progress: Callable[[int, int], None] | None = None
    search: tuple[Path, ...] = ()
    """Folders ``python`` assertion modules are imported from."""
    sleep: Callable[[float], None] = field(default=time.sleep)


class _Run:
    """The shared state of one run: the budget, the progress count, loaded functions."""

    def __init__(self, suite: EvalSuite, bundle: Bundle, provider: Provider,
                 judges: dict[str, ModelConfig], options: RunOptions, total: int) -> None:
        self.suite, self.bundle, self.provider = suite, bundle, provider
        self.judges, self.options, self.total = judges, options, total
        self.identity = provider.identity()
        self.lock = threading.Lock()
        self.spent = 0.0
        self.done = 0
        self.stopped: str | None = None
        self.missing: list[str] = []
        self.functions: dict[str, Callable[..., Any]] = {}
        self.tool_schemas = {t.name: t.parameters for t in bundle.tools}

    # -- calls ----------------------------------------------------------------------------

    def call(self, request: ProviderRequest) -> tuple[ProviderResponse, bool]:
        """The answer to ``request`` and whether it came from the cache."""
        cache = self.options.cache if self.provider.cacheable else None
        key = cache_key(request.fingerprint, request.case_hash, self.identity)
        if cache is not None:
            hit = cache.get(key)
            if hit is not None:
                return hit, True
        response = self._with_retries(request)
        if cache is not None:
            cache.put(key, response)
        if self.options.recorder is not None and request.purpose == "case":
            self.options.recorder.add(request, response)
        return response, False

    def _with_retries(self, request: ProviderRequest) -> ProviderResponse:
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                response = _with_timeout(lambda: self.provider.complete(request),
                                         self.options.timeout_seconds)
            except ProviderError as exc:
                if not exc.retryable or attempt >= self.options.retries:
                    raise
                wait = exc.retry_after if exc.retry_after is not None else \
                    self.options.backoff_seconds * 2 ** attempt
                self.options.sleep(wait)
                attempt += 1
                continue
            measured = (time.perf_counter() - started) * 1000
            latency = response.latency_ms if response.latency_ms is not None else measured
            cost = response.cost if response.cost is not None else _priced(request.model,
                                                                              response)
            return replace(response, latency_ms=round(latency, 3), cost=cost)

    def charge(self, cost: float | None) -> None:
        with self.lock:
            self.spent += cost or 0.0

    def may_start(self) -> bool:
        with self.lock:
            budget = self.options.max_cost
            if budget is not None and self.spent >= budget:
                self.stopped = "budget"
            return self.stopped is None

    # -- one case -------------------------------------------------------------------------

    def run_case(self, case: NamedCase, messages: list[dict[str, str]]) -> CaseResult | None:
        if not self.may_start():
            return None
        request = ProviderRequest(
            model=self.bundle.model, messages=messages, vars=case.vars,
            settings=dict(self.identity.get("settings") or {}), case=case.name,
            case_hash=case.case_hash, fingerprint=self.bundle.fingerprint, bundle=self.bundle,
            timeout=self.options.timeout_seconds)
        try:
            response, cached = self.call(request)
        except MissingRecording as exc:
            with self.lock:
                self.missing.append(exc.message)
            return None
        except ProviderError as exc:
            return self._finish(CaseResult(
                name=case.name, case_hash=case.case_hash, passed=False, score=0.0, output="",
                latency_ms=0.0, error=exc.message[:500]))
        if not cached:
            self.charge(response.cost)
        ctx = Context(response=response, latency_ms=response.latency_ms or 0.0,
                      cost=response.cost, vars=case.vars, case=case.name,
                      output_schema=self.bundle.prompt.output_schema,
                      tool_schemas=self.tool_schemas, functions=self.function,
                      judge=lambda a, out: self.judge(a, out, case.name))
        results = [check(a, ctx) for a in case.assertions]
        passed, score = case_score(results, case.threshold)
        output = response.output
        if len(output) > MAX_OUTPUT_CHARS:
            output = output[:MAX_OUTPUT_CHARS] + f"… ({len(response.output)} characters)"
        return self._finish(CaseResult(
            name=case.name, case_hash=case.case_hash, passed=passed, score=score, output=output,
            latency_ms=response.latency_ms or 0.0, input_tokens=response.input_tokens,
            output_tokens=response.output_tokens, cost=response.cost, cached=cached,
            tool_calls=[c.to_dict() for c in response.tool_calls], assertions=results))

    def _finish(self, result: CaseResult) -> CaseResult:
        with self.lock:
            self.done += 1
            done = self.done
        if self.options.progress is not None:
            self.options.progress(done, self.total)
        return result

    def function(self, target: str) -> Callable[..., Any]:
        with self.lock:
            if target not in self.functions:
                self.functions[target] = load_function(target, self.options.search)[0]
            return self.functions[target]

    def judge(self, assertion: Assertion, output: str, case: str) -> dict[str, Any]:
        import json

        model = self.judges[str(assertion.provider)]
        messages = [{"role": "system", "content": JUDGE_SYSTEM},
                    {"role": "user", "content": f"Rubric:\n{assertion.value}\n\nOutput:\n{output}"}]
        request = ProviderRequest(
            model=model, messages=messages, vars={}, settings=dict(
                self.identity.get("settings") or {}), case=case,
            case_hash=sha256_hex({"rubric": assertion.value, "output": output}),
            fingerprint=model.content_hash(), timeout=self.options.timeout_seconds,
            purpose="judge")
        response, cached = self.call(request)
        if not cached:
            self.charge(response.cost)
        verdict = json.loads(response.output)
        if not isinstance(verdict, dict):
            raise ValueError("the judge did not answer with a JSON object")
        return verdict


def run_suite(suite: EvalSuite, bundle: Bundle, provider: Provider,
              judges: dict[str, ModelConfig] | None = None,
              options: RunOptions | None = None) -> RunResult:
    """Run every case of ``suite`` on ``bundle`` (see the module docstring)."""
    options = options or RunOptions()
    judges = judges or {}
    problems = suite_problems(suite, bundle.prompt)
    if problems:
        more = f" ({len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ValidationError(f"{suite.key} does not fit {bundle.prompt.key}: {problems[0]}"
                              f"{more}", detail=problems)
    missing_judges = [str(r) for r in suite.judges() if str(r) not in judges]
    if missing_judges:
        raise ValidationError(f"judge model {missing_judges[0]} is not in the registry")
    cases = suite.all_cases()
    rendered = [_render(bundle, case) for case in cases]
    run = _Run(suite, bundle, provider, judges, options, len(cases))
    with ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        results = list(pool.map(run.run_case, cases, rendered))
    if run.missing:
        more = f" ({len(run.missing) - 1} more)" if len(run.missing) > 1 else ""
        raise MissingRecording(run.missing[0] + more, detail=run.missing)
    done = [r for r in results if r is not None]
    return RunResult(
        suite=suite.name, suite_version=suite.version, suite_hash=suite.content_hash(),
        prompt=bundle.prompt.name, version=bundle.prompt.version,
        fingerprint=bundle.fingerprint, provider=run.identity,
        judges=[{"ref": str(r), "fingerprint": judges[str(r)].content_hash()}
                for r in suite.judges()],
        cases=done, summary=Summary.of(done), stopped=run.stopped,
        spent=round(run.spent, 10))


def _render(bundle: Bundle, case: NamedCase) -> list[dict[str, str]]:
    from promptctl.errors import RenderError

    try:
        return render_prompt(bundle.prompt, case.vars)
    except RenderError as exc:
        raise ValidationError(f"case {case.name!r} does not render: {exc.message}") from None


def _priced(model: ModelConfig, response: ProviderResponse) -> float | None:
    """Cost from the model's ``metadata.pricing`` (USD per million tokens), if it has one."""
    pricing = model.metadata.get("pricing")
    if not isinstance(pricing, dict) or (response.input_tokens is None
                                         and response.output_tokens is None):
        return None
    per_in = float(pricing.get("input_per_mtok", 0))
    per_out = float(pricing.get("output_per_mtok", 0))
    return round(((response.input_tokens or 0) * per_in
                  + (response.output_tokens or 0) * per_out) / 1_000_000, 10)


def _with_timeout(call: Callable[[], ProviderResponse], timeout: float | None
                  ) -> ProviderResponse:
    """``call()``, abandoned after ``timeout`` seconds (its thread is left to finish)."""
    if timeout is None:
        return call()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise ProviderError(f"no answer within {timeout:g} s", status=None)
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]
