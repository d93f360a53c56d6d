"""The ``eval`` artifact kind (``*.eval.yaml``): a suite of cases that gates promotion.

A suite names the prompt it evaluates by **name** only, so one suite follows the prompt
across versions. Cases are written inline (``cases:``) or in a JSONL/YAML dataset file
beside the suite (``dataset: support.cases.jsonl``); the loader reads that file and records
its rows and the SHA-256 of its bytes in the artifact (``dataset_cases``,
``dataset_sha256``), so the file is part of the content hash and a released suite can be
rebuilt from the store alone.

Field names follow promptfoo where it has one (``vars``, ``assert``, ``threshold``,
``weight``, ``defaultTest`` is ``defaults`` here); see ``docs/evals.md``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from promptctl.canonical import sha256_hex
from promptctl.evals.vocabulary import split_type, value_problem
from promptctl.model import ARTIFACT_CLASSES, ArtifactBase, Ref, check_name

PROVIDER_TYPES = ("python", "replay", "openai", "anthropic")
LOADER_FIELDS = ("dataset_cases", "dataset_sha256")
"""Fields the loader fills from the dataset file: a suite file may not set them."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Assertion(_Strict):
    """One check of one output. ``weight`` (default 1) weighs it in the case's score;
    ``threshold`` is the score it needs (``latency``/``cost``: the bound itself)."""

    type: str
    value: Any = None
    threshold: float | None = None
    weight: float = 1.0
    provider: str | None = None
    """``llm-rubric`` only: the judge, a pinned model ref (``grader@1.0.0``)."""
    metric: str | None = None
    """A name to report this assertion's pass rate under (default: its type)."""

    @field_validator("type")
    @classmethod
    def _type(cls, value: str) -> str:
        split_type(value)
        return value

    @field_validator("weight")
    @classmethod
    def _weight(cls, value: float) -> float:
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"weight must be a finite number ≥ 0, got {value!r}")
        return value

    @field_validator("provider")
    @classmethod
    def _judge(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return str(Ref.parse(value))
        except ValueError as exc:
            raise ValueError(f"judge {exc}") from None

    @model_validator(mode="after")
    def _value(self) -> Assertion:
        base, _ = split_type(self.type)
        problem = value_problem(base, self.value, self.threshold)
        if problem:
            raise ValueError(problem)
        if self.provider is not None and base != "llm-rubric":
            raise ValueError("`provider` (a judge) belongs to `llm-rubric` assertions only")
        return self

    @property
    def base(self) -> str:
        return split_type(self.type)[0]

    @property
    def negated(self) -> bool:
        return split_type(self.type)[1]

    @property
    def label(self) -> str:
        return self.metric or self.type


class Case(_Strict):
    """``vars`` for the prompt, plus assertions; passes when its weighted score reaches
    ``threshold`` (default: every assertion passes)."""

    name: str | None = None
    description: str | None = None
    vars: dict[str, Any] = Field(default_factory=dict)
    assert_: list[Assertion] = Field(default_factory=list, alias="assert")
    threshold: float | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("threshold")
    @classmethod
    def _threshold(cls, value: float | None) -> float | None:
        if value is not None and not 0 <= value <= 1:
            raise ValueError(f"a case threshold is a score from 0 to 1, got {value!r}")
        return value


class Defaults(_Strict):
    """promptfoo's ``defaultTest``: assertions and vars every case gets."""

    vars: dict[str, Any] = Field(default_factory=dict)
    assert_: list[Assertion] = Field(default_factory=list, alias="assert")
    threshold: float | None = None


class Thresholds(_Strict):
    """The gate: absolute bounds and bounds on the change against a baseline.

    Increases are fractions (``0.1``: at most 10% more than the baseline)."""

    min_pass_rate: float = 1.0
    max_regressions: int | None = 0
    max_cost_increase: float | None = None
    max_p95_latency_increase: float | None = None
    max_p95_tokens_increase: float | None = None
    max_cost_per_case: float | None = None
    max_p95_latency_ms: float | None = None

    @model_validator(mode="after")
    def _ranges(self) -> Thresholds:
        if not 0 <= self.min_pass_rate <= 1:
            raise ValueError(f"min_pass_rate is a fraction from 0 to 1, got {self.min_pass_rate}")
        for name, value in self.model_dump().items():
            if value is not None and (not math.isfinite(value) or value < 0):
                raise ValueError(f"{name} must be a finite number ≥ 0, got {value!r}")
        return self


class ProviderSpec(_Strict):
    """How to call the model the bundle names, unless ``eval run --provider`` says
    otherwise. Credentials never live here: providers read them from the environment."""

    type: Literal["python", "replay", "openai", "anthropic"]
    target: str | None = None
    """``python``: ``module:function``; ``replay``: the recordings file (from the project root)."""
    settings: dict[str, Any] = Field(default_factory=dict)


class EvalSuite(ArtifactBase):
    KIND: ClassVar[str] = "eval"
    kind: Literal["eval"] = "eval"
    prompt: str
    provider: ProviderSpec | None = None
    defaults: Defaults = Field(default_factory=Defaults)
    cases: list[Case] = Field(default_factory=list)
    dataset: str | None = None
    dataset_sha256: str | None = None
    dataset_cases: list[Case] = Field(default_factory=list)
    thresholds: Thresholds = Field(default_factory=Thresholds)

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, value: str) -> str:
        if "@" in value:
            raise ValueError("name the prompt without a version: a suite follows its prompt "
                             "across versions")
        return check_name(value)

    @field_validator("dataset")
    @classmethod
    def _dataset(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if "/" in value or "\\" in value or value.startswith(".") or not value.endswith(
                (".jsonl", ".yaml", ".yml")):
            raise ValueError(f"dataset {value!r} must be a .jsonl or .yaml file name in the "
                             "suite's own folder (no path)")
        return value

    @model_validator(mode="after")
    def _cases(self) -> EvalSuite:
        if self.dataset is None and (self.dataset_cases or self.dataset_sha256):
            raise ValueError("dataset_cases and dataset_sha256 are filled from the dataset "
                             "file: remove them")
        names = [case.name for case in self.all_cases()]
        seen: set[str] = set()
        for name in names:
            if name in seen:
                raise ValueError(f"case name {name!r} is used twice: names identify cases "
                                 "across runs")
            seen.add(name)
        return self

    def content(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude_defaults=True, by_alias=True)
        data["kind"] = self.kind
        return data

    def all_cases(self) -> list[NamedCase]:
        """Inline cases, then the dataset's, each with its name (``case-N`` if unnamed)
        and the suite's defaults applied."""
        out = []
        for index, case in enumerate([*self.cases, *self.dataset_cases], start=1):
            out.append(NamedCase(
                name=case.name or f"case-{index}",
                vars={**self.defaults.vars, **case.vars},
                assertions=[*self.defaults.assert_, *case.assert_],
                threshold=case.threshold if case.threshold is not None
                else self.defaults.threshold,
                description=case.description))
        return out

    def judges(self) -> list[Ref]:
        """Every judge model the suite pins, once each."""
        refs = {a.provider for c in self.all_cases() for a in c.assertions if a.provider}
        return [Ref.parse(r) for r in sorted(refs)]

    def refs(self) -> list[tuple[str, Ref]]:
        """The judges are pinned models: they must exist (and be released with the suite)."""
        return [("model", ref) for ref in self.judges()]


class NamedCase(BaseModel):
    """A case as the runner sees it: named, with the suite's defaults merged in."""

    model_config = ConfigDict(frozen=True)

    name: str
    vars: dict[str, Any]
    assertions: list[Assertion]
    threshold: float | None = None
    description: str | None = None

    @property
    def case_hash(self) -> str:
        """What the model is sent for this case (its vars): assertions may change without
        invalidating a cached or recorded response."""
        return sha256_hex({"vars": self.vars})


ARTIFACT_CLASSES["eval"] = EvalSuite
