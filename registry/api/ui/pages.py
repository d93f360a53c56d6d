"""Rendering: the Jinja2 environment, security headers and the page response.

Templates are package data (``templates/``) with autoescape on, so every string a user
supplied (descriptions, actors, reasons, token names) is escaped wherever it is shown. Each
response carries a Content-Security-Policy without inline script, ``frame-ancestors
'none'``, and is gzip-compressed when the browser accepts it.
"""

from __future__ import annotations

import gzip
import re
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import Response

from promptctl.api.ui.charts import line_chart

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
GZIP_FROM_BYTES = 1024  # smaller pages go out as they are
_WORD_MARK = re.compile(r"\[-(.*?)-\]|\{\+(.*?)\+\}")

templates = Environment(loader=PackageLoader("promptctl.api.ui", "templates"),
                        autoescape=True, undefined=StrictUndefined, trim_blocks=True,
                        lstrip_blocks=True)


def word_segments(line: str) -> list[tuple[str, str]]:
    """A marked diff line as ``(kind, text)`` pieces: ``""`` plain, ``del`` or ``ins``."""
    out: list[tuple[str, str]] = []
    at = 0
    for match in _WORD_MARK.finditer(line):
        if match.start() > at:
            out.append(("", line[at:match.start()]))
        out.append(("del", match.group(1)) if match.group(1) is not None
                   else ("ins", match.group(2)))
        at = match.end()
    if at < len(line):
        out.append(("", line[at:]))
    return out


def short(value: str | None, n: int = 12) -> str:
    return value[:n] if value else "—"


templates.filters["short"] = short
templates.globals["word_segments"] = word_segments
templates.globals["line_chart"] = line_chart


def secured(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    """``template`` rendered as the response (gzip when accepted)."""
    body = templates.get_template(template).render(request=request, **context).encode()
    headers = {"Cache-Control": "no-store", "Vary": "Accept-Encoding, Cookie"}
    if len(body) >= GZIP_FROM_BYTES and "gzip" in request.headers.get("accept-encoding", ""):
        body = gzip.compress(body, compresslevel=6)
        headers["Content-Encoding"] = "gzip"
    return secured(Response(body, status_code=status, media_type="text/html; charset=utf-8",
                            headers=headers))
