"""What every refused command must look like to a user: its exit code and one error line."""

from __future__ import annotations

from typing import Any


def one_line_error(result: Any, code: int, *fragments: str) -> str:
    """Assert ``result`` exited with ``code`` after one ``error:`` line holding every
    fragment, with no traceback; return that line."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return str(lines[0])
