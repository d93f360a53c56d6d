"""``eval run`` as a use case: pick the bundle, the suite, the provider and the baseline,
run, compare, decide, store. The CLI only parses arguments and prints the report.

Bundles come from the catalog (released versions plus the working tree); through a server
(``PROMPTCTL_URL``) a released version missing from the tree comes from the API instead, so
CI needs no database. The baseline is the version live as stable in ``--against ENV`` (or
``--against VERSION``); while the environment has no stable, only the suite's absolute
thresholds apply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promptctl.bundle import Bundle, resolve_bundle
from promptctl.catalog import Catalog
from promptctl.errors import NotFoundError, UsageError
from promptctl.evals.cache import ResponseCache
from promptctl.evals.comparison import Comparison, GateOutcome, compare, decide
from promptctl.evals.providers.base import Provider
from promptctl.evals.providers.factory import make_provider, parse_provider_option
from promptctl.evals.providers.replay import Recorder
from promptctl.evals.results import RunResult
from promptctl.evals.runner import RunOptions, run_suite
from promptctl.evals.suite import EvalSuite
from promptctl.model import ModelConfig, Prompt, parse_version
from promptctl.service import EvalRunInfo, RegistryService


@dataclass
class EvalRequest:
    target: str
    """``NAME`` or ``NAME@VERSION`` of the prompt."""
    against: str | None = None
    suite: str | None = None
    provider: str | None = None
    jobs: int = 4
    retries: int = 3
    timeout_seconds: float | None = 60.0
    max_cost: float | None = None
    use_cache: bool = True
    record: Path | None = None
    store: bool = True


@dataclass
class EvalReport:
    suite: EvalSuite
    run: RunResult
    outcome: GateOutcome
    baseline: RunResult | None = None
    comparison: Comparison | None = None
    env: str | None = None
    stored: EvalRunInfo | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.outcome.passed, "gate": self.outcome.to_dict(),
                "env": self.env, "run": self.run.to_dict(),
                "baseline": self.baseline.to_dict(cases=False) if self.baseline else None,
                "comparison": self.comparison.to_dict() if self.comparison else None,
                "stored_run": self.stored.id if self.stored else None,
                "thresholds": self.suite.thresholds.model_dump(), "notes": self.notes}

    def upload(self) -> dict[str, Any]:
        """What the service stores (``record_eval_run``)."""
        return {"run": self.run.to_dict(), "env": self.env,
                "cases_expected": len(self.suite.all_cases()),
                "baseline": {"version": self.baseline.version,
                             "fingerprint": self.baseline.fingerprint}
                if self.baseline else None,
                "comparison": self.comparison.to_dict() if self.comparison else None,
                "gate": self.outcome.to_dict()}


class BundleSource:
    """Bundles by prompt version: the catalog first, then the service's released ones."""

    def __init__(self, catalog: Catalog, service: RegistryService) -> None:
        self.catalog, self.service = catalog, service

    def prompt(self, spec: str) -> Prompt:
        entry = self.catalog.find(spec, "prompt")
        assert isinstance(entry.artifact, Prompt)
        return entry.artifact

    def bundle(self, name: str, version: str | None = None) -> Bundle:
        try:
            prompt = self.prompt(f"{name}@{version}" if version else name)
            return resolve_bundle(prompt, self.catalog)
        except NotFoundError:
            if version is None:
                raise
        return Bundle.from_dict(self.service.released_bundle(name, version))


def find_suite(catalog: Catalog, prompt: str, spec: str | None) -> EvalSuite:
    """The suite ``spec`` names, or the one suite that evaluates ``prompt`` (newest)."""
    if spec is not None:
        artifact = catalog.find(spec, "eval").artifact
        assert isinstance(artifact, EvalSuite)
        if artifact.prompt != prompt:
            raise UsageError(f"{artifact.key} evaluates prompt {artifact.prompt!r}, "
                             f"not {prompt!r}")
        return artifact
    suites = suites_of(catalog, prompt)
    if not suites:
        raise NotFoundError(f"no eval suite evaluates prompt {prompt!r}: add a "
                            f"*.eval.yaml with `prompt: {prompt}`")
    if len(suites) > 1:
        raise UsageError(f"several suites evaluate {prompt!r} "
                         f"({', '.join(s.name for s in suites)}): name the one to run")
    return suites[0]


def suites_of(catalog: Catalog, prompt: str) -> list[EvalSuite]:
    """The newest version of every suite that evaluates ``prompt``."""
    newest: dict[str, EvalSuite] = {}
    for entry in catalog:
        suite = entry.artifact
        if isinstance(suite, EvalSuite) and suite.prompt == prompt and (
                suite.name not in newest or suite.semver > newest[suite.name].semver):
            newest[suite.name] = suite
    return [newest[n] for n in sorted(newest)]


def build_provider(request_spec: str | None, suite: EvalSuite, root: Path,
                   registry: Path) -> Provider:
    if request_spec:
        kind, target = parse_provider_option(request_spec)
        settings: dict[str, Any] = {}
    elif suite.provider is not None:
        kind, target, settings = suite.provider.type, suite.provider.target, \
            dict(suite.provider.settings)
    else:
        raise UsageError(f"{suite.key} names no provider: name one (python:module:function, "
                         "replay:FILE, openai, anthropic)")
    return make_provider(kind, target, settings, root, registry)


def judges_of(suite: EvalSuite, catalog: Catalog) -> dict[str, ModelConfig]:
    out = {}
    for ref in suite.judges():
        model = catalog.require("model", ref)
        assert isinstance(model, ModelConfig)
        out[str(ref)] = model
    return out


def baseline_of(request: EvalRequest, prompt: str, service: RegistryService
                ) -> tuple[str | None, str | None]:
    """``(env, version)``: the version to compare with, and the environment it is live in."""
    against = request.against
    if against is None:
        return None, None
    try:
        parse_version(against)
        return None, against
    except ValueError:
        pass
    states = [s for s in service.status(against) if s.prompt == prompt]
    return against, (states[0].stable if states else None)


def evaluate(request: EvalRequest, catalog: Catalog, service: RegistryService, *,
             root: Path, registry: Path, cache_dir: Path | None,
             progress: Callable[[str, int, int], None] | None = None,
             baseline_bundle: Bundle | None = None) -> EvalReport:
    """Run ``request`` (see the module docstring); stores the run unless told not to.
    ``baseline_bundle`` is compared with when the request names no baseline (review: the
    prompt as the base revision has it)."""
    source = BundleSource(catalog, service)
    name, _, version = request.target.partition("@")
    head = source.bundle(name, version or None)
    suite = find_suite(catalog, head.prompt.name, request.suite)
    env, base_version = baseline_of(request, head.prompt.name, service)
    provider = build_provider(request.provider, suite, root, registry)
    recorder = Recorder(request.record) if request.record else None
    options = RunOptions(
        jobs=request.jobs, retries=request.retries, timeout_seconds=request.timeout_seconds,
        max_cost=request.max_cost, recorder=recorder,
        cache=ResponseCache(cache_dir) if request.use_cache and cache_dir else None,
        search=(root, registry))
    judges = judges_of(suite, catalog)
    report_notes = []

    def run(bundle: Bundle, label: str) -> RunResult:
        options.progress = (lambda done, total: progress(label, done, total)) \
            if progress else None
        return run_suite(suite, bundle, provider, judges, options)

    current = run(head, f"{head.prompt.name}@{head.prompt.version}")
    baseline = comparison = None
    base = source.bundle(head.prompt.name, base_version) if base_version is not None \
        else baseline_bundle
    if base is not None:
        baseline = current if base.fingerprint == head.fingerprint else \
            run(base, f"baseline {head.prompt.name}@{base.prompt.version}")
        comparison = compare(current, baseline, env)
    elif env is not None:
        report_notes.append(f"{env} has no stable version of {head.prompt.name} yet: only the "
                            "suite's absolute thresholds apply")
    if recorder is not None:
        recorder.save()
    outcome = decide(suite.thresholds, current, comparison, len(suite.all_cases()))
    report = EvalReport(suite=suite, run=current, outcome=outcome, baseline=baseline,
                        comparison=comparison, env=env, notes=report_notes)
    if request.store:
        report.stored = service.record_eval_run(report.upload())
    return report
