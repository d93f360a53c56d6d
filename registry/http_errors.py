"""The server's JSON errors (``{error, detail}``) back as promptctl exceptions.

Kept apart from the database-backed modules so the SDK can use it without
importing them.
"""

from __future__ import annotations

import httpx

from promptctl import errors
from promptctl.errors import (
    AuthError,
    BackendUnavailable,
    NotFoundError,
    PermissionDenied,
    PromptctlError,
    UsageError,
)

_BY_STATUS: dict[int, type[PromptctlError]] = {401: AuthError, 403: PermissionDenied,
                                                404: NotFoundError, 409: errors.ConflictError}


def error_from_response(response: httpx.Response) -> PromptctlError:
    """Rebuild the server's error as the exception class it names (else by status)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {"detail": response.text[:200] or response.reason_phrase}
    named = getattr(errors, str(body.get("error", "")), None)
    if isinstance(named, type) and issubclass(named, PromptctlError):
        cls: type[PromptctlError] = named
    else:
        cls = _BY_STATUS.get(response.status_code) or (
            BackendUnavailable if response.status_code >= 500 else UsageError)
    return cls(str(body.get("detail") or body.get("error") or response.status_code))
