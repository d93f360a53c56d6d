"""Prompts a change removes or renames while an environment still serves them.

Released versions stay in the store, so apps keep resolving a removed prompt;
but the tree no longer holds it, so it can no longer be fixed, bumped or
re-released, and the next reader of the repository does not know it is live.
``diff --check`` therefore fails when an environment serves a prompt that the
change removes or renames, naming the environments, and warns when the
rollout state could not be read.
"""

from __future__ import annotations

from promptctl.findings import Finding
from promptctl.review.report import ArtifactDiff, Report
from promptctl.rollout_state import RolloutState


def gone_prompts(report: Report) -> list[ArtifactDiff]:
    """Removed or renamed prompts whose old name no prompt of the new side has."""
    return [a for a in report.artifacts if a.kind == "prompt" and a.old is not None
            and (a.status == "removed" or a.status == "renamed")
            and (a.renamed_from or a.name) not in report.head_prompts]


def serving_findings(report: Report, states: list[RolloutState] | None,
                     unknown_because: str | None = None) -> None:
    """Add to ``report`` an error per gone prompt that an environment serves (``states``),
    or, when the state could not be read (``states is None``), a warning per gone prompt."""
    for item in gone_prompts(report):
        name = item.renamed_from or item.name
        what = f"prompt/{name} is " + (f"renamed to {item.name}" if item.renamed_from
                                       else "removed")
        path = item.old.path if item.old else ""
        if states is None:
            finding = Finding("warning", "served-unchecked", path,
                              f"{what}: could not check whether an environment serves it "
                              f"({unknown_because})", None,
                              "check `promptctl status` before merging")
        else:
            serving = [s for s in states if s.prompt == name and (s.stable or s.canary)]
            if not serving:
                continue
            finding = Finding("error", "served-removed", path,
                              f"{what} but {_environments(serving)} still serve(s) it", None,
                              "keep the prompt until no environment serves it (`promptctl "
                              "status`), or remove it in a later change")
        item.findings.append(finding)
        report.findings.append(finding)
    report.findings.sort(key=lambda f: (f.severity != "error", f.path, f.code, f.message))


def _environments(states: list[RolloutState]) -> str:
    def one(s: RolloutState) -> str:
        served = [s.stable] if s.stable else []
        if s.canary:
            served.append(f"canary {s.canary} at {s.percent}%")
        return f"{s.env} ({', '.join(served)})"

    return ", ".join(one(s) for s in sorted(states, key=lambda s: s.env))
