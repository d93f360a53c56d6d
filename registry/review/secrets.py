"""Secrets and credentials in artifact fields.

Detection is delegated to Yelp's maintained ``detect-secrets`` plugins (AWS,
GitHub, GitLab, Slack, Stripe, OpenAI, JWT, private keys, basic-auth URLs,
secret keywords, ...). Its generic high-entropy plugins are too noisy on prose
templates, so entropy is only checked in fields whose name suggests a secret.
A short list of provider key shapes that ``detect-secrets`` 1.5 does not know
(Anthropic, OpenAI project keys, Google, Hugging Face, bearer tokens)
supplements it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from promptctl.findings import Finding
from promptctl.loader import Located

SUSPICIOUS_FIELD = re.compile(
    r"(secret|token|passw(or)?d|passwd|api[_-]?key|apikey|credential|auth|private[_-]?key)",
    re.IGNORECASE,
)
EXTRA_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Anthropic API key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}")),
    ("OpenAI API key", re.compile(r"\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")),
    ("Bearer token", re.compile(r"\bBearer\s+[A-Za-z0-9._~+/-]{20,}=*")),
)
ENTROPY_THRESHOLD = 3.5
MIN_SECRET_LENGTH = 16


def scan_artifact(item: Located) -> list[Finding]:
    """One error per (field, kind of secret) found in any string of the artifact."""
    findings: dict[tuple[str, str], Finding] = {}
    strings = list(_strings(item.artifact.content()))
    _prime([line for field_path, value in strings for line in _lines(field_path, value)])
    for field_path, value in strings:
        for secret_type in _scan_primed(field_path, value):
            key = (field_path, secret_type)
            findings.setdefault(key, Finding(
                "error", "secret", item.path,
                f"possible secret ({secret_type}) in `{field_path}`", field_path,
                "remove it and rotate the credential; apps read secrets from their environment",
            ))
    return list(findings.values())


def scan_value(field_path: str, value: str) -> list[str]:
    """Secret types found in one string value (its field name matters for keywords/entropy)."""
    _prime(_lines(field_path, value))
    return _scan_primed(field_path, value)


def _scan_primed(field_path: str, value: str) -> list[str]:
    found: list[str] = []
    for line in _lines(field_path, value):
        for secret_type in _LINE_CACHE[line]:
            if secret_type not in found:
                found.append(secret_type)
        for name, pattern in EXTRA_SHAPES:
            if name not in found and pattern.search(line):
                found.append(name)
    if SUSPICIOUS_FIELD.search(field_path.rsplit(".", 1)[-1]) and _high_entropy(value):
        found.append("high-entropy value in a secret-like field")
    return found


def shannon_entropy(text: str) -> float:
    counts = {ch: text.count(ch) for ch in set(text)}
    return -sum(c / len(text) * math.log2(c / len(text)) for c in counts.values())


def _high_entropy(value: str) -> bool:
    words = re.findall(rf"[A-Za-z0-9+/=_.~-]{{{MIN_SECRET_LENGTH},}}", value)
    return any(shannon_entropy(w) >= ENTROPY_THRESHOLD for w in words)


_LINE_CACHE: dict[str, tuple[str, ...]] = {}


def _lines(field_path: str, value: str) -> list[str]:
    """Lines to scan; a one-line value is also shown as ``field = "value"`` so the
    keyword plugin sees the field name (``api_key = "..."``)."""
    lines = value.splitlines() or [value]
    if len(lines) == 1:
        lines.append(f'{field_path.rsplit(".", 1)[-1]} = "{value}"')
    return lines


_LONG_TOKEN = re.compile(r"[A-Za-z0-9_+/=.:~-]{16,}")


def could_hold_a_secret(line: str) -> bool:
    """A cheap pre-check; lines failing it cannot match any enabled plugin.

    Every provider key shape is a run of 16+ token characters mixing letters
    and digits; the keyword plugin needs one of its keywords (``key`` covers
    most of them); basic-auth needs ``://...@``; private keys say ``BEGIN``.
    It keeps ``promptctl lint`` on 5,000 artifacts from scanning every line of
    prose with 24 plugins.
    """
    low = line.lower()
    if ("://" in line and "@" in line) or any(word in low for word in _KEYWORDS):
        return True
    return any(any(c.isdigit() for c in token) and any(c.isalpha() for c in token)
               for token in _LONG_TOKEN.findall(line))


_KEYWORDS = ("key", "pass", "pwd", "secret", "contrase", "begin", "token", "auth", "bearer")


def _prime(lines: list[str]) -> None:
    """Run detect-secrets over the lines not seen yet, inside one settings context.

    The cache is bounded; it is emptied before this call adds its lines, so every
    line of ``lines`` is in it afterwards for :func:`_scan_primed`.
    """
    if len(_LINE_CACHE) > 50_000:
        _LINE_CACHE.clear()
    todo: list[str] = []
    for line in dict.fromkeys(lines):
        if line in _LINE_CACHE:
            continue
        if could_hold_a_secret(line):
            todo.append(line)
        else:
            _LINE_CACHE[line] = ()
    if not todo:
        return
    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import transient_settings

    with transient_settings({"plugins_used": _plugins()}):
        for line in todo:
            _LINE_CACHE[line] = tuple(dict.fromkeys(s.type for s in scan_line(line)))


@lru_cache(maxsize=1)
def _plugins() -> list[dict[str, str]]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    skip = ("High Entropy", "Public IP")
    return [{"name": cls.__name__}
            for kind, cls in sorted(get_mapping_from_secret_type_to_class().items())
            if not any(s in kind for s in skip)]


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path or "(value)", value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")
