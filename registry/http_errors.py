"""The server's JSON errors (``{error, detail}``) back as promptctl exceptions.

``error`` holds the code of :data:`promptctl.errors.ERROR_TABLE`, so the class comes
back from the same table the server used to send it. Standard library only (no HTTP
client), so the SDK can use it: :func:`error_from_body` takes the status and bytes of
any response, :func:`error_from_response` reads them from an ``httpx.Response``.
"""

from __future__ import annotations

import json
from typing import Protocol

from promptctl.errors import PromptctlError, error_from_code


class HttpResponse(Protocol):
    """What :func:`error_from_response` reads of a response (``httpx.Response`` has it)."""

    @property
    def status_code(self) -> int: ...

    @property
    def content(self) -> bytes: ...

    @property
    def reason_phrase(self) -> str: ...


def error_from_body(status: int, body: bytes, reason: str = "") -> PromptctlError:
    """The error a response of ``status`` with ``body`` describes (by code, else by status)."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        text = body[:200].decode("utf-8", "replace").strip()
        data = {"detail": text or reason or f"HTTP {status}"}
    detail = data.get("detail") or data.get("error") or f"HTTP {status}"
    return error_from_code(str(data.get("error") or ""), str(detail), status=status,
                           items=data.get("items"))


def error_from_response(response: HttpResponse) -> PromptctlError:
    """Rebuild the server's error as the exception class its code names."""
    return error_from_body(response.status_code, response.content, response.reason_phrase)
