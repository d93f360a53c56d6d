"""Checking one output against one assertion.

Every check returns an :class:`AssertionResult` (pass/fail, a score from 0 to 1, a reason);
none raises for bad model output: malformed JSON, a tool call with invalid arguments or a
``python`` function that fails is a failed assertion, so a run never stops on a bad answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from promptctl.evals.providers.base import ProviderResponse, ToolCall
from promptctl.evals.suite import Assertion

PYTHON_DEFAULT_THRESHOLD = 0.5
"""A ``python`` or ``llm-rubric`` score passes at this when the assertion sets none."""


@dataclass(frozen=True)
class AssertionResult:
    type: str
    label: str
    passed: bool
    score: float
    weight: float
    reason: str = ""
    judge: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AssertionResult:
        values: dict[str, Any] = {k: data.get(k) for k in ("type", "label", "passed", "score",
                                                           "weight", "reason", "judge")}
        return cls(**values)


Judge = Callable[[Assertion, str], dict[str, Any]]
"""Grades ``output`` against an ``llm-rubric`` assertion: ``{pass, score, reason}``."""


@dataclass
class Context:
    """What a check may look at beside the output."""

    response: ProviderResponse
    latency_ms: float
    cost: float | None
    vars: dict[str, Any]
    case: str
    output_schema: dict[str, Any] | None = None
    tool_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    functions: Callable[[str], Callable[..., Any]] | None = None
    judge: Judge | None = None


def check(assertion: Assertion, ctx: Context) -> AssertionResult:
    base, negated = assertion.base, assertion.negated
    try:
        passed, score, reason = _CHECKS[base](assertion, ctx)
    except Exception as exc:  # a user function or a judge failing is a failed check
        passed, score, reason = False, 0.0, f"{type(exc).__name__}: {exc}"
        negated = False
    if negated:
        passed, score = not passed, 1.0 - score
        reason = f"not ({reason})" if reason else ""
    judge = assertion.provider if base == "llm-rubric" else None
    return AssertionResult(assertion.type, assertion.label, passed, round(score, 6),
                           assertion.weight, reason[:500], judge)


def _flag(ok: bool, reason: str) -> tuple[bool, float, str]:
    return ok, 1.0 if ok else 0.0, "" if ok else reason


def _equals(a: Assertion, ctx: Context) -> tuple[bool, float, str]:
    out = ctx.response.output
    return _flag(out == a.value, f"output {_short(out)} is not {_short(a.value)}")


def _contains(a: Assertion, ctx: Context) -> tuple[bool, float, str]:
    out = ctx.response.output
    return _flag(a.value in out, f"output does not contain {a.value!r}")


def _icontains(a: Assertion, ctx: Context) -> tuple[bool, float, str]:
    out = ctx.response.output.lower()
    return _flag(a.value.lower() in out, f"output does not contain {a.value!r} (any case)")


def _starts_with(a: Assertion, ctx: Context) -> tuple[bool, float, str]:
    out = ctx.response.output
    return _flag(out.startswith(a.value), f"output does not start with {a.value!r}")


def _regex(a: Assertion, ctx: Context) -> tuple[bool, float, str]:
    return _flag(re.search(a.value, ctx.response.output) is not None,
                 f"output does not match /{a.value}/")


def _list_check(any_of: bool, fold: bool) -> Callable[[Assertion, Context],
                                                      tuple[bool, float, str]]:
    def run(a: Assertion, ctx: Context) -> tuple[bool, float, str]:
        out = ctx.response.output.lower() if fold else ctx.response.output
        found = [v for v in a.value if (v.lower() if fold else v) in out]
        if any_of:
            return _flag(bool(found), f"output contains none of {a.value!r}")
        missing = [v for v in a.value if v not in found]
        return len(found) == len(a.value), len(found) / len(a.value), \
            "" if not missing else f"output lacks {missing!r}"
    return run


def _limit(measure: Callable[[Context], float | None], unit: str
           ) -> Callable[[Assertion, Context], tuple[bool, float, str]]:
    def run(a: Assertion, ctx: Context) -> tuple[bool, float, str]:
        bound = float(a.value if a.value is not None else a.threshold)  # type: ignore[arg-type]
        value = measure(ctx)
        if value is None:
            return False, 0.0, f"the provider reported no {unit}"
        return _flag(value <= bound, f"{value:g} {unit} is more than {bound:g}")
    return run


def _parse_json(text: str) -> tuple[Any, str | None]:
    try:
        return json.loads(text), None
    except ValueError as exc:
        return None, f"output is not JSON: {exc}"


def _validate(schema: dict[str, Any], value: Any) -> str | None:
    import jsonschema

    validator = jsonschema.validators.validator_for(schema)(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"at {where}: {error.message}"


def _is_json(a: Assertion, ctx: Context) -> tuple[bool, float, str]:
    value, problem = _parse_json(ctx.response.output)
    if problem:
        return False, 0.0, problem
    if a.value:
        invalid = _validate(a.value, value)
        if invalid:
            return False, 0.0, f"output does not match the schema {invalid}"
    return True, 1.0, ""


def _json_schema(a: Assertion, ctx: Context) -> tuple[bool, float, str]:
    schema = a.value or ctx.output_schema
    if not schema:
        return False, 0.0, "no schema: the prompt has no output_schema and the assertion none"
    value, problem = _parse_json(ctx.response.output)
    if problem:
        return False, 0.0, problem
    invalid = _validate(schema, value)
    return _flag(invalid is None, f"output does not match the schema {invalid}")


def _tool_call(a: Assertion, ctx: Context) -> tuple[bool, float, str]:
    calls = ctx.response.tool_calls
    wanted = a.value if isinstance(a.value, str) else (a.value or {}).get("name")
    expected_args = (a.value or {}).get("arguments", {}) if isinstance(a.value, dict) else {}
    if not calls:
        return False, 0.0, f"no tool was called{f' (expected {wanted})' if wanted else ''}"
    chosen = [c for c in calls if wanted is None or c.name == wanted]
    if not chosen:
        return False, 0.0, f"{wanted} was not called (called: {', '.join(c.name for c in calls)})"
    for call in chosen:
        problem = _call_problem(call, ctx.tool_schemas)
        if problem:
            return False, 0.0, problem
        differs = {k: v for k, v in expected_args.items() if call.arguments.get(k) != v}
        if differs:
            return False, 0.0, f"{call.name} was called with {_short(call.arguments)}, " \
                f"expected {_short(expected_args)}"
    return True, 1.0, ""


def _call_problem(call: ToolCall, schemas: dict[str, dict[str, Any]]) -> str | None:
    if call.name not in schemas:
        return f"the model called {call.name!r}, which the bundle does not define"
    if not isinstance(call.arguments, dict):
        return f"{call.name} was called with arguments that are not a JSON object: " \
            f"{_short(call.arguments)}"
    invalid = _validate(schemas[call.name], call.arguments)
    return None if invalid is None else f"{call.name} arguments are invalid {invalid}"


def _python(a: Assertion, ctx: Context) -> tuple[bool, float, str]:
    if ctx.functions is None:
        return False, 0.0, "python assertions need a project to import from"
    function = ctx.functions(a.value)
    context = {"vars": ctx.vars, "case": ctx.case, "response": ctx.response.to_dict(),
               "latency_ms": ctx.latency_ms, "cost": ctx.cost}
    return _graded(function(ctx.response.output, context), a.threshold)


def _llm_rubric(a: Assertion, ctx: Context) -> tuple[bool, float, str]:
    if ctx.judge is None or a.provider is None:
        return False, 0.0, "llm-rubric needs a judge: set `provider: MODEL@VERSION`"
    return _graded(ctx.judge(a, ctx.response.output), a.threshold)


def _graded(value: Any, threshold: float | None) -> tuple[bool, float, str]:
    """promptfoo's grading results: a bool, a score, or ``{pass, score, reason}``."""
    if isinstance(value, bool):
        return value, 1.0 if value else 0.0, "" if value else "the function returned False"
    if isinstance(value, int | float):
        score = max(0.0, min(1.0, float(value)))
        bound = PYTHON_DEFAULT_THRESHOLD if threshold is None else threshold
        return _flag_score(score, bound)
    if isinstance(value, dict):
        graded = value.get("score")
        reason = str(value.get("reason") or "")
        if threshold is not None and isinstance(graded, int | float):
            ok, s, why = _flag_score(float(graded), threshold)
            return ok, s, reason or why
        passed = bool(value.get("pass", isinstance(graded, int | float) and graded >= 0.5))
        s = float(graded) if isinstance(graded, int | float) else (1.0 if passed else 0.0)
        return passed, max(0.0, min(1.0, s)), "" if passed else reason or "graded as failed"
    raise TypeError(f"a grader returns a bool, a number or {{pass, score, reason}}, not "
                    f"{type(value).__name__}")


def _flag_score(score: float, bound: float) -> tuple[bool, float, str]:
    ok = score >= bound
    return ok, score, "" if ok else f"score {score:g} is below {bound:g}"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


_CHECKS: dict[str, Callable[[Assertion, Context], tuple[bool, float, str]]] = {
    "equals": _equals,
    "contains": _contains,
    "icontains": _icontains,
    "starts-with": _starts_with,
    "regex": _regex,
    "contains-any": _list_check(any_of=True, fold=False),
    "contains-all": _list_check(any_of=False, fold=False),
    "icontains-any": _list_check(any_of=True, fold=True),
    "icontains-all": _list_check(any_of=False, fold=True),
    "latency": _limit(lambda c: c.latency_ms, "ms"),
    "cost": _limit(lambda c: c.cost, "USD"),
    "max-length": _limit(lambda c: float(len(c.response.output)), "characters"),
    "max-tokens": _limit(lambda c: None if c.response.output_tokens is None
                         else float(c.response.output_tokens), "output tokens"),
    "is-json": _is_json,
    "json-schema": _json_schema,
    "tool-call": _tool_call,
    "python": _python,
    "llm-rubric": _llm_rubric,
}


def case_score(results: list[AssertionResult], threshold: float | None) -> tuple[bool, float]:
    """A case's pass and weighted score: every weighted assertion passes, or (with a
    ``threshold``) the weighted mean score reaches it, as in promptfoo."""
    weighted = [r for r in results if r.weight > 0]
    total = sum(r.weight for r in weighted)
    score = sum(r.score * r.weight for r in weighted) / total if total else 1.0
    if threshold is not None:
        return score >= threshold, round(score, 6)
    return all(r.passed for r in weighted), round(score, 6)
