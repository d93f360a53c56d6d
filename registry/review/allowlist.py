"""The reviewed allowlist of secret-scanner false positives: ``.promptctl-secrets.allow``.

A false positive (a documentation example JWT, a placeholder key) must not be
silenced inside the prompt text, which is sent to the model. It is listed in
a file at the project root instead, one finding per line, by the short hash
that every secret finding shows, with a required reason::

    # hash                [path]                         # reason
    sha256:1a2b3c4d5e6f   prompts/jwt-docs.prompt.yaml   # RFC 7519 example token, not a credential
    sha256:0f1e2d3c4b5a                                  # placeholder key used in every example

Like a detect-secrets baseline it holds hashes only, never the secret, so the
file itself is safe to review in a pull request; a line that holds a secret is
refused. An entry with a path only allows the secret in that file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from promptctl.errors import UsageError
from promptctl.gitrepo import probe_git
from promptctl.review.git_source import Revision

ALLOWLIST_FILE = ".promptctl-secrets.allow"
_HASH = re.compile(r"sha256:[0-9a-f]{12}")


@dataclass(frozen=True)
class Allowlist:
    """Allowed secret hashes → {path or ``None`` for anywhere: reason}."""

    entries: dict[str, dict[str | None, str]] = field(default_factory=dict)

    def reason(self, secret_hash: str, path: str) -> str | None:
        """Why the secret with ``secret_hash`` is allowed in ``path``, or ``None`` if it is not."""
        allowed = self.entries.get(secret_hash, {})
        return allowed.get(path, allowed.get(None))


def parse_allowlist(text: str, source: str = ALLOWLIST_FILE) -> Allowlist:
    """Parse the allowlist; a malformed line is a one-line :class:`UsageError` naming it."""
    from promptctl.review.secrets import redact

    entries: dict[str, dict[str | None, str]] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{source} line {number}"
        if redact(line) != line:
            raise UsageError(f"{where} holds a secret itself; list only its sha256: hash")
        entry, _, reason = line.partition("#")
        words, reason = entry.split(), reason.strip()
        if not words or not _HASH.fullmatch(words[0]) or len(words) > 2:
            raise UsageError(f"{where}: expected `sha256:<12 hex digits>`, an optional path, "
                             "then `# reason`; "
                             f"got {line[:80]!r}")
        if not reason:
            raise UsageError(f"{where}: {words[0]} needs a reason after `#`")
        entries.setdefault(words[0], {})[words[1] if len(words) == 2 else None] = reason
    return Allowlist(entries)


def load_allowlist(root: Path, revision: Revision | None = None) -> Allowlist:
    """The allowlist at the project root, from disk or at ``revision``'s commit; empty if absent."""
    if revision is None or revision.commit is None:
        path = root / ALLOWLIST_FILE
        if not path.is_file():
            return Allowlist()
        return parse_allowlist(path.read_text(encoding="utf-8", errors="replace"))
    shown = probe_git(root, "show", f"{revision.commit}:./{ALLOWLIST_FILE}")
    if shown is None:
        return Allowlist()
    return parse_allowlist(shown.decode("utf-8", errors="replace"),
                           f"{ALLOWLIST_FILE} at {revision.label}")
