"""Lint findings: what is wrong with registry content, where, and how to fix it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning", "note"]  # a note never fails a check

# control characters (a name ending in "\n", a key holding an escape sequence) are shown
# escaped, so a finding is always one line and cannot drive the terminal
_ESCAPES = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)} | {0x0A: "\\n", 0x09: "\\t",
                                                                0x0D: "\\r"}


@dataclass(frozen=True)
class Finding:
    """One problem in one file; ``fix`` tells the user what to do about it."""

    severity: Severity
    code: str
    path: str
    message: str
    field: str | None = None
    fix: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}: {self.field}" if self.field else self.path
        text = f"{where}: {self.message}"
        text = f"{text} (fix: {self.fix})" if self.fix else text
        return text.translate(_ESCAPES)

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)
