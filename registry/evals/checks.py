"""Checks of a suite against its prompt: the vars of every case must fit the variables the
prompt declares (no undeclared name, every required one present, each of its type).

``lint`` checks a suite against the newest version of its prompt in the tree; ``eval run``
checks it against the version it runs, before any model is called.
"""

from __future__ import annotations

from typing import Any

from promptctl.evals.suite import EvalSuite, NamedCase
from promptctl.findings import Finding
from promptctl.model import Prompt, value_matches_type


def vars_problems(case: NamedCase, prompt: Prompt) -> list[str]:
    """Why ``case``'s vars do not fit ``prompt``'s declared variables (empty: they fit)."""
    problems = []
    declared = prompt.variables
    for name in sorted(set(case.vars) - set(declared)):
        problems.append(f"case {case.name!r} sets `{name}`, which {prompt.key} does not "
                        f"declare (declared: {', '.join(sorted(declared)) or 'none'})")
    for name, variable in sorted(declared.items()):
        if name not in case.vars:
            if variable.required:
                problems.append(f"case {case.name!r} does not set `{name}`, which "
                                f"{prompt.key} requires")
        elif not value_matches_type(case.vars[name], variable.type):
            problems.append(f"case {case.name!r} sets `{name}` to {_shown(case.vars[name])}, "
                            f"but {prompt.key} declares it {variable.type}")
    return problems


def suite_problems(suite: EvalSuite, prompt: Prompt) -> list[str]:
    """Every vars problem of every case of ``suite`` against ``prompt``."""
    if suite.prompt != prompt.name:
        return [f"{suite.key} evaluates prompt {suite.prompt!r}, not {prompt.name!r}"]
    return [p for case in suite.all_cases() for p in vars_problems(case, prompt)]


def suite_findings(items: list[Any], released_prompts: set[str]) -> list[Finding]:
    """Lint findings for the suites among ``items`` (loader ``Located``): the prompt each
    names must exist, and every case must fit its newest version in the tree."""
    prompts: dict[str, Prompt] = {}
    for item in items:
        artifact = item.artifact
        if isinstance(artifact, Prompt):
            known = prompts.get(artifact.name)
            if known is None or artifact.semver > known.semver:
                prompts[artifact.name] = artifact
    findings = []
    for item in items:
        suite = item.artifact
        if not isinstance(suite, EvalSuite):
            continue
        prompt = prompts.get(suite.prompt)
        if prompt is None:
            if suite.prompt not in released_prompts:
                findings.append(Finding("error", "unknown-prompt", item.path,
                                        f"the suite evaluates prompt {suite.prompt!r}, which "
                                        "does not exist", "prompt", "name an existing prompt"))
            continue
        problems = suite_problems(suite, prompt)
        for problem in problems[:20]:
            findings.append(Finding("error", "case-vars", item.path, problem, "cases",
                                    "make the case's vars match the prompt's variables"))
    return findings


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
