"""Cross-site request forgery checks for every dashboard POST.

Two independent checks, both required:

- the synchronizer token: each form carries the session's random CSRF token in a hidden
  field, compared in constant time with the one kept server-side for that session;
- the origin: the browser's ``Origin`` header (or, without one, the ``Referer``) must name
  this server, so a form posted from another site is refused even before the token is read.

The session cookie is ``SameSite=Strict`` as well, so a cross-site POST arrives without it.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.requests import Request

from promptctl.api.ui.session import Session
from promptctl.errors import PermissionDenied


def own_origin(request: Request) -> str:
    url = request.url
    return f"{url.scheme}://{url.netloc}"


def check_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        referer = request.headers.get("referer")
        if not referer:
            raise PermissionDenied("cross-site request refused: no Origin or Referer header")
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    if origin != own_origin(request):
        raise PermissionDenied(f"cross-site request refused: origin {origin[:200]!r} is not this "
                        "server")


def check_token(session: Session | None, submitted: str | None) -> None:
    if session is None or not submitted or not hmac.compare_digest(
            session.csrf.encode(), submitted.encode()):
        raise PermissionDenied("cross-site request refused: the form's CSRF token is missing or "
                        "stale (reload the page and try again)")


def check(request: Request, session: Session | None, submitted: str | None) -> None:
    """Refuse the POST unless it came from this server's page of ``session``."""
    check_origin(request)
    check_token(session, submitted)
