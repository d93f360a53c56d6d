"""Guard decisions from figures: no data never advances or breaches; each guard compares
the canary with stable in its own unit and direction."""

from __future__ import annotations

import pytest

from promptctl.errors import UsageError
from promptctl.guard_eval import Figures, decide
from promptctl.plans import PlanSpec, plan_problems

SPEC = PlanSpec(name="careful", steps=(1, 10, 50, 100), hold_seconds=60, min_samples=100,
                guards={"error_rate": 2.0, "p95_latency": 1.3, "cost_per_call": 1.2,
                        "tokens_per_call": 1.3, "schema_valid_rate": 5.0,
                        "tool_args_valid_rate": 5.0, "negative_feedback_rate": 3.0},
                max_hold_seconds=600)


def figures(calls: int = 1000, **overrides: float) -> Figures:
    fig = Figures(calls=calls, errors=int(calls * 0.01), latency={80: calls},
                  tokens=calls * 300, cost=calls * 0.01, feedback_down=int(calls * 0.02),
                  schema_checked=calls, schema_valid=int(calls * 0.99), tool_checked=calls,
                  tool_valid=calls)
    for key, value in overrides.items():
        setattr(fig, key, value)
    return fig


def test_a_healthy_canary_holds_until_the_hold_then_advances() -> None:
    assert decide(SPEC, figures(), figures(), held=30).action == "hold"
    assert decide(SPEC, figures(), figures(), held=61).action == "advance"


def test_too_few_samples_holds_and_never_breaches_even_when_the_figures_are_bad() -> None:
    terrible = figures(calls=50, cost=50 * 1.0, errors=50)
    decision = decide(SPEC, terrible, figures(), held=300)
    assert decision.action == "hold" and "too few samples: canary 50" in decision.reason


def test_too_few_samples_past_the_maximum_hold_times_out() -> None:
    assert decide(SPEC, figures(calls=0), figures(), held=601).action == "timeout"


def test_no_traffic_at_all_holds() -> None:
    assert decide(SPEC, Figures(), Figures(), held=599).action == "hold"
    no_max = PlanSpec(**{**SPEC.__dict__, "max_hold_seconds": None})
    assert decide(no_max, Figures(), Figures(), held=10**6).action == "hold"


@pytest.mark.parametrize(("guard", "canary"), [
    ("cost_per_call", {"cost": 1000 * 0.014}),             # +40 %: ratio 1.4 > 1.2
    ("schema_valid_rate", {"schema_valid": 900}),          # 99 % -> 90 %: 9 points
    ("error_rate", {"errors": 40}),                        # 1 % -> 4 %: 3 points
    ("p95_latency", {"latency": {84: 1000}}),              # 2**(4/8) = 1.41x
    ("tokens_per_call", {"tokens": 1000 * 400}),           # 1.33x
    ("tool_args_valid_rate", {"tool_valid": 900}),         # 10 points
    ("negative_feedback_rate", {"feedback_down": 60}),     # 2 % -> 6 %
])
def test_each_guard_breaches_when_the_canary_is_worse_by_more_than_its_threshold(
        guard: str, canary: dict[str, object]) -> None:
    decision = decide(SPEC, figures(**canary), figures(), held=1)  # type: ignore[arg-type]
    assert decision.action == "breach"
    assert [b.split()[0] for b in decision.breaches] == [guard]
    assert "canary" in decision.reason and "stable" in decision.reason


def test_a_guard_without_data_on_one_side_does_not_breach() -> None:
    unchecked = figures(schema_checked=0, schema_valid=0)
    assert decide(SPEC, unchecked, figures(), held=61).action == "advance"


def test_better_canaries_never_breach() -> None:
    better = figures(cost=1000 * 0.005, errors=0, latency={70: 1000}, schema_valid=1000)
    assert decide(SPEC, better, figures(), held=61).action == "advance"


@pytest.mark.parametrize(("table", "problem"), [
    ({"steps": [10, 1, 100], "hold_seconds": 1, "min_samples": 1}, "rise strictly"),
    ({"steps": [1, 50], "hold_seconds": 1, "min_samples": 1}, "end at 100"),
    ({"steps": [1, 100], "min_samples": 1}, "hold_seconds is required"),
    ({"steps": [1, 100], "hold_seconds": 1, "min_samples": 1, "guards": {"vibes": 1}},
     "no guard 'vibes'"),
    ({"steps": [1, 100], "hold_seconds": 1, "min_samples": 1,
      "guards": {"cost_per_call": 0.5}}, "ratio ≥ 1"),
    ({"steps": [1, 100], "hold_seconds": 10, "min_samples": 1, "max_hold_seconds": 5},
     "at least hold_seconds"),
    ({"steps": [1, 100], "hold_seconds": 1, "min_samples": 1, "speed": "fast"}, "no key"),
])
def test_invalid_plans_are_named_with_their_problem(table: dict[str, object],
                                                    problem: str) -> None:
    problems = plan_problems("p", table)
    assert any(problem in p for p in problems), problems


def test_a_plan_sent_by_a_client_is_checked_again() -> None:
    with pytest.raises(UsageError, match="rise strictly"):
        PlanSpec.from_dict({"name": "x", "steps": [50, 10, 100], "hold_seconds": 1,
                            "min_samples": 1})
    assert PlanSpec.from_dict(SPEC.to_dict()) == SPEC
