"""What ``lint`` reports, computed once: ``lint`` prints it and ``release`` refuses on it.

Keeping one function for both means a file ``lint`` fails can never be released:
loader findings (schema, templates, refs) plus the review rules (secrets, with
the reviewed allowlist, and provider parameter ranges) in
:mod:`promptctl.review.lint_rules`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from promptctl.errors import ValidationError
from promptctl.findings import Finding
from promptctl.loader import LoadResult
from promptctl.review.lint_rules import content_findings

if TYPE_CHECKING:
    from promptctl.workspace import Workspace


def lint_tree(ws: Workspace, folder: Path | None = None) -> LoadResult:
    """Load the registry folder (or ``folder``) with every finding ``lint`` reports.

    Secrets the project's reviewed allowlist names are notes, not errors; every finding
    is redacted, since loader messages may echo the input.
    """
    from promptctl.review.allowlist import load_allowlist
    from promptctl.review.secrets import redact_finding

    result = ws.load_tree(folder)
    result.findings.extend(content_findings(result.artifacts, load_allowlist(ws.root)))
    result.findings = [redact_finding(f) for f in result.findings]
    return result


def refuse_errors(findings: list[Finding], what: str) -> None:
    """Raise one :class:`ValidationError` (exit 2) naming the first error, if there is any.

    ``lint`` is a check and exits 1 on the same findings; a command that acts on the
    content (``release``) treats them as invalid input, like any other bad input.
    """
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        raise ValidationError(
            f"{what}: {len(errors)} lint error(s); first: {errors[0]} (run `promptctl lint`)",
            detail=[f.to_dict() for f in errors],
        )
