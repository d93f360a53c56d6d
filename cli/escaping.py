"""Showing untrusted text on a terminal: every character a terminal would act on is shown
escaped instead of sent (no Rich here, so printing a plain line needs none)."""

from __future__ import annotations

import re

# C0 and C1 controls except newline and tab, DEL, and the bidirectional overrides and
# isolates that can make text read differently from what it is ("Trojan Source").
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean(text: str) -> str:
    """``text`` with every character a terminal would act on shown as an escape instead."""
    return UNSAFE.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
