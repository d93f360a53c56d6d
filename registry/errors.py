"""One exception hierarchy for the whole product.

Every error a user can provoke is a subclass of :class:`PromptctlError`. The CLI
and the HTTP API never decide on exit codes or status codes themselves: they look
them up in :data:`ERROR_TABLE`, so one error always means the same thing on
both surfaces.
"""

from __future__ import annotations

from dataclasses import dataclass


class PromptctlError(Exception):
    """Base of every expected error; its message is one line meant for a user."""

    def __init__(self, message: str, *, detail: object | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    @property
    def exit_code(self) -> int:
        return error_mapping(self).exit_code

    @property
    def http_status(self) -> int:
        return error_mapping(self).http_status


class CheckFailed(PromptctlError):
    """A lint or review check found errors (the input itself was readable)."""


class UsageError(PromptctlError):
    """Arguments or options that cannot be acted on."""


class ValidationError(PromptctlError):
    """Registry content (a YAML file, a template, a variable) is invalid."""


class RenderError(ValidationError):
    """Rendering failed: missing, extra or mistyped variables, or a sandbox refusal."""


class NotFoundError(PromptctlError):
    """A named artifact, version, environment or revision does not exist."""


class ConflictError(PromptctlError):
    """The change would break immutability or lost a race with another writer."""


class DirtyTreeError(ConflictError):
    """Files to release have uncommitted changes."""


class BackendUnavailable(PromptctlError):
    """The database, git, the server or the flag backend could not be reached."""


class AuthError(PromptctlError):
    """Missing or invalid credentials."""


class PermissionDenied(PromptctlError):
    """Valid credentials that are not allowed to do this."""


@dataclass(frozen=True)
class ErrorMapping:
    exit_code: int
    http_status: int


# The single table: most specific class first wins (looked up along the MRO).
ERROR_TABLE: dict[type[PromptctlError], ErrorMapping] = {
    CheckFailed: ErrorMapping(exit_code=1, http_status=422),
    UsageError: ErrorMapping(exit_code=2, http_status=400),
    ValidationError: ErrorMapping(exit_code=2, http_status=422),
    NotFoundError: ErrorMapping(exit_code=3, http_status=404),
    ConflictError: ErrorMapping(exit_code=4, http_status=409),
    BackendUnavailable: ErrorMapping(exit_code=5, http_status=503),
    AuthError: ErrorMapping(exit_code=2, http_status=401),
    PermissionDenied: ErrorMapping(exit_code=2, http_status=403),
    PromptctlError: ErrorMapping(exit_code=2, http_status=400),
}


def error_mapping(error: PromptctlError) -> ErrorMapping:
    """Return the exit code and HTTP status of ``error`` from :data:`ERROR_TABLE`."""
    for cls in type(error).__mro__:
        if cls in ERROR_TABLE:
            return ERROR_TABLE[cls]
    raise AssertionError("PromptctlError is always in the table")
