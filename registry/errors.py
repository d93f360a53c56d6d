"""One exception hierarchy for the whole product.

Every error a user can provoke is a subclass of :class:`PromptctlError`. The CLI
and the HTTP API never decide on exit codes or status codes themselves: they look
them up in :data:`ERROR_TABLE`, so one error always means the same thing on
both surfaces. The table also gives each class a stable ``code`` (``not_found``,
``conflict``...): the HTTP body carries it as ``{"error": code, "detail": message}``
and :func:`error_from_code` turns it back into the same class, in the SDK and in
the CLI's remote mode.

This module imports nothing but the standard library, so the SDK can use it.
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple


class PromptctlError(Exception):
    """Base of every expected error; its message is one line meant for a user."""

    code: ClassVar[str] = "error"  # set from ERROR_TABLE below; subclasses inherit theirs

    def __init__(self, message: str, *, detail: object | None = None,
                 setting: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.setting = setting
        """The setting the error is about, by its configuration name (``port``, ``db``,
        ``repo``...), or None. The message says what is wrong by meaning; an adapter adds
        its own name for the setting (the CLI its flag, :mod:`promptctl.cli.flag_names`)."""

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


class PayloadTooLarge(UsageError):
    """A request body over the server's limit."""


class RequestTimeout(UsageError):
    """A client too slow to send its request body within the server's body timeout."""


class MethodNotAllowed(UsageError):
    """An HTTP method the route does not accept."""


class InternalError(BackendUnavailable):
    """The server failed on a bug (HTTP 500): to a client, a backend it cannot use now."""


class AuthError(PromptctlError):
    """Missing or invalid credentials."""


class PermissionDenied(PromptctlError):
    """Valid credentials that are not allowed to do this."""


# --- OpenFeature / OFREP ---


class TargetingKeyMissing(UsageError):
    """A percentage rollout was evaluated without a key to bucket (OpenFeature's
    ``TARGETING_KEY_MISSING``)."""


# --- provider call arguments and parsed answers ---


class CallArgsError(ValidationError):
    """A bundle cannot be turned into the call arguments of a provider's API."""


class UnsupportedParam(CallArgsError):
    """A model param the target provider's API does not accept (never dropped silently)."""


class ProviderMismatch(CallArgsError):
    """The bundle's model belongs to another provider than the API asked for."""


class OutputError(ValidationError):
    """A model's answer that is not what the bundle asked for, or not a known response."""


class InvalidJSONOutput(OutputError):
    """The answer should be JSON (the prompt has an ``output_schema``) and is not."""


class OutputSchemaViolation(OutputError):
    """The answer is JSON that breaks the prompt's ``output_schema``."""


class UnknownToolCall(OutputError):
    """The model called a tool the bundle does not define."""


class InvalidToolArguments(OutputError):
    """A tool call whose arguments are not JSON or break the tool's ``parameters``."""
class ProviderError(BackendUnavailable):
    """A model provider failed to answer (an eval run's call). ``status`` is the HTTP status
    it answered with (None: no answer, e.g. a timeout); 429 and 5xx are worth retrying."""

    def __init__(self, message: str, *, status: int | None = None, retryable: bool | None = None,
                 retry_after: float | None = None, detail: object | None = None) -> None:
        super().__init__(message, detail=detail)
        self.status = status
        self.retry_after = retry_after
        self.retryable = (status is None or status == 429 or status >= 500) \
            if retryable is None else retryable


class MissingRecording(NotFoundError):
    """A replayed eval case has no recorded response: an error, never a silent pass."""


class ErrorMapping(NamedTuple):
    code: str  # on the wire: the ``error`` field of an HTTP error body
    exit_code: int
    http_status: int


# The single table: most specific class first wins (looked up along the MRO). For a bare
# HTTP status with no code (say, from a proxy), the first row with that status is used.
ERROR_TABLE: dict[type[PromptctlError], ErrorMapping] = {
    UsageError: ErrorMapping("usage", exit_code=2, http_status=400),
    PayloadTooLarge: ErrorMapping("payload_too_large", exit_code=2, http_status=413),
    MethodNotAllowed: ErrorMapping("method_not_allowed", exit_code=2, http_status=405),
    RequestTimeout: ErrorMapping("request_timeout", exit_code=2, http_status=408),
    ValidationError: ErrorMapping("validation", exit_code=2, http_status=422),
    RenderError: ErrorMapping("render", exit_code=2, http_status=422),
    CheckFailed: ErrorMapping("check_failed", exit_code=1, http_status=422),
    NotFoundError: ErrorMapping("not_found", exit_code=3, http_status=404),
    ConflictError: ErrorMapping("conflict", exit_code=4, http_status=409),
    DirtyTreeError: ErrorMapping("dirty_tree", exit_code=4, http_status=409),
    BackendUnavailable: ErrorMapping("backend_unavailable", exit_code=5, http_status=503),
    InternalError: ErrorMapping("internal", exit_code=5, http_status=500),
    AuthError: ErrorMapping("auth", exit_code=2, http_status=401),
    PermissionDenied: ErrorMapping("permission_denied", exit_code=2, http_status=403),
    PromptctlError: ErrorMapping("error", exit_code=2, http_status=400),
    # --- provider call arguments and parsed answers ---
    CallArgsError: ErrorMapping("call_args", exit_code=2, http_status=422),
    UnsupportedParam: ErrorMapping("unsupported_param", exit_code=2, http_status=422),
    ProviderMismatch: ErrorMapping("provider_mismatch", exit_code=2, http_status=422),
    OutputError: ErrorMapping("invalid_output", exit_code=2, http_status=422),
    InvalidJSONOutput: ErrorMapping("invalid_json_output", exit_code=2, http_status=422),
    OutputSchemaViolation: ErrorMapping("output_schema_violation", exit_code=2,
                                        http_status=422),
    UnknownToolCall: ErrorMapping("unknown_tool_call", exit_code=2, http_status=422),
    InvalidToolArguments: ErrorMapping("invalid_tool_arguments", exit_code=2, http_status=422),
    # --- OpenFeature / OFREP ---
    TargetingKeyMissing: ErrorMapping("targeting_key_missing", exit_code=2, http_status=400),
    ProviderError: ErrorMapping("provider", exit_code=5, http_status=503),
    MissingRecording: ErrorMapping("missing_recording", exit_code=3, http_status=404),
}
for _cls, _mapping in ERROR_TABLE.items():
    _cls.code = _mapping.code
del _cls, _mapping
_BY_CODE: dict[str, type[PromptctlError]] = {m.code: cls for cls, m in ERROR_TABLE.items()}
_BY_NAME: dict[str, type[PromptctlError]] = {cls.__name__: cls for cls in ERROR_TABLE}
assert len(_BY_CODE) == len(ERROR_TABLE), "every error code is used once"


def error_mapping(error: PromptctlError | type[PromptctlError]) -> ErrorMapping:
    """Return the code, exit code and HTTP status of ``error`` from :data:`ERROR_TABLE`."""
    cls = error if isinstance(error, type) else type(error)
    for base in cls.__mro__:
        if base in ERROR_TABLE:
            return ERROR_TABLE[base]
    raise AssertionError("PromptctlError is always in the table")


def error_class(code: str, status: int | None = None) -> type[PromptctlError]:
    """The class that sends ``code``; else (an unknown code, or none) the one for ``status``.

    Class names (what the ``error`` field held before it carried codes) are understood
    too, so a new client can still read an older server.
    """
    cls = _BY_CODE.get(code) or _BY_NAME.get(code)
    if cls is not None:
        return cls
    if status is not None:
        for candidate, mapping in ERROR_TABLE.items():
            if mapping.http_status == status:
                return candidate
        if status >= 500:
            return BackendUnavailable
        if status >= 400:
            return UsageError
    return PromptctlError


def error_from_code(code: str, detail: str, *, status: int | None = None,
                    items: object | None = None) -> PromptctlError:
    """Rebuild the error an HTTP body ``{"error": code, "detail": detail}`` describes."""
    return error_class(code, status)(detail, detail=items)
