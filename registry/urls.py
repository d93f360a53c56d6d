"""URLs as promptctl reads them: masking their passwords, checking server URLs, SQLite paths.

Database URLs (``PROMPTCTL_DB``), server URLs (``PROMPTCTL_URL``) and Unleash URLs may carry
a password, and error messages quote URLs: every message that shows one passes it (or the
whole message) through :func:`redact_url`, so no password reaches a terminal, a CI log or
an HTTP error body.

Standard library only: the SDK, the CLI's start-up and ``promptctl.config`` use it.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit

MASK = "***"

# scheme://user:PASSWORD@ — greedy up to the last '@' of the word, so an unencoded '@' or
# '/' in the password is masked too (masking too much is harmless in a message).
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*):(?P<password>\S*)@")
# ...?password=... (libpq and SQLAlchemy accept credentials in the query too)
_QUERY_SECRET = re.compile(r"(?P<head>[?&](?:password|passwd|pwd|token|secret|api_key)=)"
                           r"(?P<value>[^&\s'\"]*)", re.IGNORECASE)


def redact_url(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``.

    Works on a bare URL and on a message that quotes one (a driver's error, say)."""
    text = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", text)
    return _QUERY_SECRET.sub(lambda m: f"{m['head']}{MASK}", text)


def http_url_problem(url: object) -> str | None:
    """Why ``url`` is not an ``http(s)://host[:port][/path]`` URL, or ``None`` when it is."""
    if not isinstance(url, str):
        return f"must be a string (an http(s) URL), got {type(url).__name__} {url!r}"
    shown = redact_url(url)
    if not url.isascii() or any(c.isspace() or not c.isprintable() for c in url):
        return f"{shown!r} is not a URL: it has spaces, control or non-ASCII characters"
    try:
        parts: SplitResult = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number in range)
    except ValueError as exc:
        return f"{shown!r} is not a valid URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{shown!r} is not an http(s) URL like http://127.0.0.1:8700"
    return None


def sqlite_file(url: str) -> str | None:
    """The file a ``sqlite:`` URL names, or ``None`` (in-memory, or not SQLite).

    ``sqlite:///file:PATH?mode=ro&uri=true`` is an SQLite URI filename: the file is PATH
    (the query belongs to SQLite), and the URL is passed to the driver as it is.
    """
    if not url.startswith("sqlite") or "://" not in url:
        return None
    path = url.split("://", 1)[1]
    if not path.startswith("/"):
        return None  # sqlite:// (in memory) or a host part SQLite does not have
    path = path[1:]
    if is_sqlite_uri(url):
        path = path[len("file:"):].split("?", 1)[0]
        if path.startswith("//"):  # file:///PATH: an authority (empty or localhost), then PATH
            path = "/" + path[2:].partition("/")[2]
    else:
        path = path.split("?", 1)[0]
    if not path or path == ":memory:" or "mode=memory" in url:
        return None
    return path


def is_sqlite_uri(url: str) -> bool:
    """A ``sqlite:///file:...?uri=true`` URL, whose path SQLite parses itself."""
    if not url.startswith("sqlite") or "://" not in url:
        return False
    path = url.split("://", 1)[1].lstrip("/")
    query = path.partition("?")[2].lower()
    return path.startswith("file:") and "uri=true" in query.split("&")
