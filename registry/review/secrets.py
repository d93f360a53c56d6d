"""Secrets and credentials in artifact fields, and their redacted form.

Detection is delegated to Yelp's maintained ``detect-secrets`` plugins (AWS,
GitHub, GitLab, Slack, Stripe, OpenAI, JWT, private keys, basic-auth URLs,
secret keywords, ...). Its generic high-entropy plugins are too noisy on prose
templates, so entropy is only checked in fields whose name suggests a secret.
A short list of key shapes that ``detect-secrets`` 1.5 does not know
(Anthropic, OpenAI project and ``sk-None`` keys, fine-grained GitHub tokens,
AWS secret keys in credentials-file form, Google, Hugging Face, bearer tokens)
supplements it. Mapping keys are scanned as well as values: a secret pasted as
a parameter or metadata key is still a secret.

A found secret is never printed. Every message shows :func:`redacted` instead
(``ghp_…(40 chars, sha256:1a2b3c4d5e6f)``): enough for a reviewer to find it,
nothing to republish. The short hash is also what the reviewed allowlist
(:mod:`promptctl.review.allowlist`) names.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from promptctl.bounded_cache import BoundedCache
from promptctl.findings import Finding
from promptctl.loader import Located

if TYPE_CHECKING:
    from promptctl.review.allowlist import Allowlist

SUSPICIOUS_FIELD = re.compile(
    r"(secret|token|passw(or)?d|passwd|api[_-]?key|apikey|credential|auth|private[_-]?key)",
    re.IGNORECASE,
)
# (kind, pattern): the secret is the group named ``s`` when there is one, else the whole match.
EXTRA_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Anthropic API key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}")),
    ("OpenAI API key",
     re.compile(r"\bsk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{20,}")),
    ("GitHub fine-grained token", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{22,}")),
    ("AWS secret access key", re.compile(
        r"(?i:aws_?secret(?:_?access)?_?key)[\"']?\s*[:=]\s*[\"']?(?P<s>[A-Za-z0-9/+=]{40})"
        r"(?![A-Za-z0-9/+=])")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("Hugging Face token", re.compile(r"\bhf_[A-Za-z0-9]{30,}\b")),
    ("Bearer token", re.compile(r"\bBearer\s+(?P<s>[A-Za-z0-9._~+/-]{20,}=*)")),
)
PRIVATE_KEY_BLOCK = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----.*?"
    r"(?:-----END[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|\Z)", re.DOTALL)
ENTROPY_THRESHOLD = 3.5
MIN_SECRET_LENGTH = 16
HASH_CHARS = 12
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-+/=.~")
_BARE_HEADER = re.compile(r"[^\n]*?(?:BEGIN|END)[A-Z0-9 ]*PRIVATE KEY[A-Z ]*-*")
_REDACTED = re.compile(r"…\(\d+ chars, sha256:[0-9a-f]+\)")


# -- the redacted form --------------------------------------------------------------------------


def secret_hash(secret: str) -> str:
    """``sha256:`` and the first 12 hex digits of the secret's SHA-256: what allowlists name."""
    return "sha256:" + hashlib.sha256(secret.encode("utf-8")).hexdigest()[:HASH_CHARS]


def redacted(secret: str) -> str:
    """``ghp_…(40 chars, sha256:1a2b3c4d5e6f)``: at most 4 chars, a quarter, shown."""
    return f"{secret[:min(4, len(secret) // 4)]}…({len(secret)} chars, {secret_hash(secret)})"


@dataclass(frozen=True)
class Secret:
    """One secret found in one field. ``value`` is never printed; ``field`` may hold it (a key)."""

    kinds: tuple[str, ...]
    field: str
    value: str

    @property
    def hash(self) -> str:
        return secret_hash(self.value)

    @property
    def redacted(self) -> str:
        return redacted(self.value)

    def parts(self) -> list[str]:
        """The strings to hide wherever they appear: the secret, and each line of a
        multi-line one (diffs show a private key block line by line, or re-joined)."""
        lines = [line.strip() for line in self.value.splitlines()]
        return [self.value, *(line for line in lines
                              if len(line) >= 8 and not line.startswith("-----"))]


# -- scanning artifacts -------------------------------------------------------------------------


def find_secrets(item: Located) -> list[Secret]:
    """Every secret in the artifact's strings, its mapping keys included, once per field."""
    strings = list(_strings(item.artifact.content()))
    _prime([line for _, name, value in strings for line in _lines(name, value)])
    found: dict[tuple[str, str], list[str]] = {}
    for field_path, name, value in strings:
        for kind, secret in _found_primed(name, value):
            kinds = found.setdefault((field_path, secret), [])
            if kind not in kinds:
                kinds.append(kind)
    return [Secret(tuple(kinds), field_path, secret)
            for (field_path, secret), kinds in found.items()]


def scan_artifact(item: Located, allowlist: Allowlist | None = None) -> list[Finding]:
    """One error per secret and field; a secret whose hash is allowlisted is a note.

    The message names the secret by its redacted form only, and a field path
    that holds the secret (a mapping key) is redacted too.
    """
    secrets = find_secrets(item)
    hide = [part for s in secrets for part in s.parts()]
    findings = []
    for secret in secrets:
        field_path = redact(secret.field, hide)
        what = f"possible secret ({', '.join(secret.kinds)}) in `{field_path}`: {secret.redacted}"
        reason = allowlist.reason(secret.hash, item.path) if allowlist else None
        if reason is not None:
            findings.append(Finding("note", "secret-allowed", item.path,
                                    f"{what}, allowlisted: {reason}", field_path))
        else:
            findings.append(Finding(
                "error", "secret", item.path, what, field_path,
                "remove it and rotate the credential (apps read secrets from their "
                f"environment); not a secret: list {secret.hash} in .promptctl-secrets.allow"))
    return findings


def scan_value(field_path: str, value: str) -> list[str]:
    """Secret types found in one string value (its field name matters for keywords/entropy)."""
    _prime(_lines(field_path, value))
    return list(dict.fromkeys(kind for kind, _ in _found_primed(field_path, value)))


def _found_primed(field_path: str, value: str) -> list[tuple[str, str]]:
    """``(kind, secret)`` pairs in one value whose lines are already primed."""
    blocks = [("Private Key", b.group(0).strip()) for b in PRIVATE_KEY_BLOCK.finditer(value)]
    found: list[tuple[str, str]] = []
    for line in _lines(field_path, value):
        found += [(kind, secret) for kind, secret in _line_secrets(line)
                  if kind != "Private Key" or not any(secret in b for _, b in blocks)]
    if field_path and SUSPICIOUS_FIELD.search(field_path.rsplit(".", 1)[-1]):
        found += [("high-entropy value in a secret-like field", word)
                  for word in _high_entropy_words(value)]
    return list(dict.fromkeys(blocks + found))


def _line_secrets(line: str) -> list[tuple[str, str]]:
    """Secrets in one primed line: detect-secrets' findings widened to the whole token
    (it reports ``ghp`` for a GitHub token and a JWT without its signature), plus the
    extra shapes."""
    found: list[tuple[str, str]] = []
    for kind, value in _LINE_CACHE[line]:
        found += [(kind, token) for token in _widen(line, value, kind)]
    for kind, pattern in EXTRA_SHAPES:
        for match in pattern.finditer(line):
            found.append((kind, match.group("s") if "s" in pattern.groupindex
                          else match.group(0)))
    return found


def _widen(line: str, value: str, kind: str) -> list[str]:
    tokens: list[str] = []
    start = line.find(value) if value else -1
    while start >= 0:
        # detect-secrets' value starts where the secret does; it may stop short of its end
        left, right = start, start + len(value)
        while right < len(line) and line[right] in _TOKEN_CHARS:
            right += 1
        while right > start + len(value) and line[right - 1] == ".":
            right -= 1  # the full stop after a token in prose
        token = line[left:right]
        if token == value or kind in _types_of(token):
            tokens.append(token)
        elif len(value) >= 8:
            tokens.append(value)
        start = line.find(value, start + 1)
    if not tokens and value:
        tokens.append(value)
    return [t for t in dict.fromkeys(tokens) if "…" not in t]


def _types_of(token: str) -> tuple[str, ...]:
    _prime([token])
    return tuple(kind for kind, _ in _LINE_CACHE[token])


def shannon_entropy(text: str) -> float:
    counts = {ch: text.count(ch) for ch in set(text)}
    return -sum(c / len(text) * math.log2(c / len(text)) for c in counts.values())


def _high_entropy_words(value: str) -> list[str]:
    words = re.findall(rf"[A-Za-z0-9+/=_.~-]{{{MIN_SECRET_LENGTH},}}", value)
    return [w for w in words if shannon_entropy(w) >= ENTROPY_THRESHOLD]


# -- redacting any text -------------------------------------------------------------------------


def redact(text: str, known: Iterable[str] = ()) -> str:
    """``text`` with every known secret, and every secret its lines show, in redacted form.

    ``known`` holds secrets found with more context (a field name, a whole
    private key block) than a line of output has. Redacted forms already in
    the text are left alone.
    """
    lines = text.splitlines() or [text]
    _prime(lines)
    hide = {s for s in known if s and "…" not in s}
    for line in lines:
        hide.update(secret for _, secret in _found_primed("", line)
                    if "…" not in secret and not _BARE_HEADER.fullmatch(secret))
    hide = {s for s in hide if s in text}
    if not hide:
        return text
    pattern = re.compile("|".join(_as_pattern(s) for s in sorted(hide, key=len, reverse=True)))
    protected = [m.span() for m in _REDACTED.finditer(text)]

    def replace(match: re.Match[str]) -> str:
        if any(a <= match.start() < b for a, b in protected):
            return match.group(0)
        return redacted(match.group(0))

    return pattern.sub(replace, text)


def _as_pattern(secret: str) -> str:
    """Short secrets (``hunter2``) only as whole tokens, so prose around them survives."""
    if len(secret) >= 12:
        return re.escape(secret)
    return rf"(?<![A-Za-z0-9_]){re.escape(secret)}(?![A-Za-z0-9_])"


def redact_finding(finding: Finding, known: Iterable[str] = ()) -> Finding:
    """The finding with its message, field and fix redacted (loader messages may echo input)."""
    from dataclasses import replace

    known = list(known)
    return replace(finding, message=redact(finding.message, known),
                   field=redact(finding.field, known) if finding.field else finding.field,
                   fix=redact(finding.fix, known) if finding.fix else finding.fix)


# -- detect-secrets, cached per line ------------------------------------------------------------


_LINE_CACHE: BoundedCache[str, tuple[tuple[str, str], ...]] = BoundedCache(50_000)


def _lines(field_path: str, value: str) -> list[str]:
    """Lines to scan; a one-line value is also shown as ``field = "value"`` so the
    keyword plugin sees the field name (``api_key = "..."``)."""
    lines = value.splitlines() or [value]
    if len(lines) == 1 and field_path:
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

    The cache is bounded; it is emptied (if need be) before this call adds its lines, so
    every line of ``lines`` is in it afterwards for :func:`_found_primed`.
    """
    _LINE_CACHE.make_room(len(lines))
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
            _LINE_CACHE[line] = tuple(dict.fromkeys(
                (s.type, s.secret_value or "") for s in scan_line(line)))


@lru_cache(maxsize=1)
def _plugins() -> list[dict[str, str]]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    skip = ("High Entropy", "Public IP")
    plugins: dict[str, type] = get_mapping_from_secret_type_to_class()
    return [{"name": cls.__name__} for kind, cls in sorted(plugins.items())
            if not any(s in kind for s in skip)]


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str, str]]:
    """``(field path, field name for the keyword and entropy checks, string)`` for every
    string value and every mapping key (a key has no field name of its own)."""
    if isinstance(value, str):
        yield path or "(value)", path or "(value)", value
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if isinstance(key, str):
                yield child, "", key
            yield from _strings(item, child)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")
