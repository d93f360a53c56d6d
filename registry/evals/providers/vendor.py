"""What the ``openai`` and ``anthropic`` eval providers share: settings, credentials, the
bundle's call arguments, the SDKs' errors as :class:`~promptctl.errors.ProviderError`, and
the answer read back as a :class:`~promptctl.evals.providers.base.ProviderResponse`.

The call arguments are the SDK's own (:mod:`promptctl.providers.calls`, what
``bundle.openai()`` / ``bundle.anthropic()`` return), built once per bundle fingerprint; the
answer is read with :func:`promptctl.providers.answers.read`, the reader ``bundle.parse``
uses. Validation of the answer is left to the suite's assertions (``json-schema``,
``tool-call``): a malformed answer fails its case, it does not stop the run.

The SDKs' own retries are off (``max_retries=0``): the runner's retry policy (429, 5xx, no
answer; backoff or ``Retry-After``) is the one applied.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from promptctl.errors import OutputError, ProviderError, UsageError
from promptctl.evals.providers.base import ProviderRequest, ProviderResponse, ToolCall
from promptctl.limits import limits_from
from promptctl.providers.spec import CallSpec

CREDENTIAL_HEADERS = frozenset({"authorization", "api-key", "x-api-key", "proxy-authorization"})
"""Headers that carry a key: never in settings, which are recorded with every result."""
URL_SETTINGS = frozenset({"base_url", "azure_endpoint"})


@dataclass(frozen=True)
class Credentials:
    """Where the key and the server come from. ``base_url`` is ``None``: the SDK default."""

    api_key: str
    api_key_env: str
    base_url: str | None


def string_settings(kind: str, settings: Mapping[str, Any], known: Sequence[str]
                    ) -> dict[str, Any]:
    """The settings, checked: only ``known`` keys, strings (``headers``: a string map)."""
    if "api_key" in settings:
        raise UsageError(f"the {kind} provider reads its key from an environment variable "
                         "only: set settings.api_key_env to the variable's name")
    unknown = sorted(set(settings) - set(known))
    if unknown:
        raise UsageError(f"the {kind} provider has no setting {unknown[0]!r}; known: "
                         f"{', '.join(known)}")
    for key, value in settings.items():
        if key == "headers":
            if not isinstance(value, Mapping) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
                raise UsageError(f"{kind} provider: settings.headers must map header names "
                                 "to strings")
            secret = sorted(k for k in value if k.lower() in CREDENTIAL_HEADERS)
            if secret:
                raise UsageError(f"{kind} provider: settings.headers may not set {secret[0]}: "
                                 "credentials come from environment variables only "
                                 "(settings.api_key_env)")
        elif not isinstance(value, str) or not value:
            raise UsageError(f"{kind} provider: settings.{key} must be a non-empty string")
    return dict(settings)


def credentials(kind: str, settings: Mapping[str, Any], *, key_env: str,
                url_env: str) -> Credentials:
    """The API key from ``settings.api_key_env`` (default ``key_env``) and the server from
    ``settings.base_url``, the variable ``settings.base_url_env`` names, or ``url_env``.
    A missing key is a one-line error, before any call."""
    api_key_env = str(settings.get("api_key_env") or key_env)
    api_key = os.environ.get(api_key_env, "")
    if not api_key:
        raise UsageError(f"the {kind} provider needs an API key in ${api_key_env} (or name "
                         "another variable with the provider setting api_key_env)")
    base_url = settings.get("base_url")
    if base_url is None:
        named = settings.get("base_url_env")
        base_url = os.environ.get(str(named or url_env)) or None
        if named and base_url is None:
            raise UsageError(f"{kind} provider: settings.base_url_env names ${named}, which "
                             "is not set")
    return Credentials(api_key, api_key_env, base_url)


def public_url(url: str | None) -> str | None:
    """``url`` without a user/password part (identity is recorded with every result)."""
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def public_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings as recorded in a provider's identity: URLs without user/password."""
    return {key: public_url(value) if key in URL_SETTINGS else value
            for key, value in settings.items()}


class CallArgs:
    """The SDK's keyword arguments for a request, from the bundle's own mapping
    (:data:`promptctl.providers.calls.APIS`); the per-bundle part is built once per
    fingerprint. ``adapt`` may change the spec first (e.g. an OpenAI-compatible server);
    ``target`` (the provider's model, when set) replaces the bundle's, and the request's
    timeout is passed on."""

    def __init__(self, api: str, adapt: Callable[[CallSpec], CallSpec] | None = None,
                 target: str | None = None) -> None:
        self.api = api
        self.adapt = adapt
        self.target = target
        self._bases: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def __call__(self, request: ProviderRequest) -> dict[str, Any]:
        from promptctl.providers.calls import APIS

        build, add = APIS[self.api]
        key = f"{request.fingerprint}:{request.purpose}"
        with self._lock:
            base = self._bases.get(key)
        if base is None:
            spec = spec_of(request)
            base = build(self.adapt(spec) if self.adapt else spec)
            with self._lock:
                self._bases[key] = base
        kwargs: dict[str, Any] = add(base, request.messages)
        if self.target:
            kwargs["model"] = self.target
        if request.timeout is not None:
            kwargs["timeout"] = request.timeout
        return kwargs


def spec_of(request: ProviderRequest) -> CallSpec:
    """The call spec of a case's bundle (as ``ResolvedBundle`` reads it), or of a judge's
    model alone (no tools, no output schema: the rubric asks for JSON in words)."""
    if request.bundle is not None:
        from promptctl.snapshot import ReleasedBundle

        return CallSpec.of(ReleasedBundle(request.fingerprint, request.bundle.to_dict()))
    model = request.model
    return CallSpec(provider=model.provider, model=model.model, params=dict(model.params),
                    tools=[])


def call(kind: str, sdk: Any, send: Callable[[], Any]) -> Any:
    """``send()``, with the SDK's errors as a :class:`ProviderError` carrying the status.
    ``sdk`` is the vendor module (``openai`` or ``anthropic``: the same error classes)."""
    try:
        return send()
    except sdk.APIStatusError as exc:
        status = int(exc.status_code)
        raise ProviderError(f"{kind} answered {status}: {one_line(_message(exc))}",
                            status=status, retry_after=retry_after(exc.response)) from None
    except sdk.APITimeoutError:
        raise ProviderError(f"{kind}: no answer before the timeout", status=None) from None
    except sdk.APIConnectionError as exc:
        raise ProviderError(f"{kind}: cannot reach the server: {one_line(str(exc))}",
                            status=None) from None
    except TypeError as exc:  # an SDK too old for the bundle's arguments: every call fails
        raise UsageError(f"the installed {kind} SDK does not take the bundle's call "
                         f"arguments ({one_line(str(exc))}): upgrade promptctl's `{kind}` "
                         "extra") from None
    except (sdk.APIError, ValueError) as exc:  # a 200 the SDK could not read
        raise ProviderError(f"{kind}: malformed answer: {one_line(str(exc))}",
                            retryable=False) from None


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        if isinstance(inner, Mapping) and inner.get("message"):
            return str(inner["message"])
    return str(getattr(exc, "message", "") or exc)


def one_line(text: str, limit: int = 300) -> str:
    return " ".join(text.split())[:limit]


def retry_after(response: Any) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (a number), capped by
    ``Limits.max_retry_after_seconds`` (``PROMPTCTL_MAX_RETRY_AFTER_SECONDS``); ``None``:
    none given, or an HTTP date (the runner's backoff applies)."""
    headers = getattr(response, "headers", None) or {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            seconds = float(raw) * scale
        except ValueError:
            continue  # an HTTP date: use the runner's backoff
        if seconds >= 0:
            return min(seconds, limits_from().max_retry_after_seconds)
    return None


def response_of(kind: str, answer: Any, input_key: str, output_key: str) -> ProviderResponse:
    """The SDK's answer as a :class:`ProviderResponse`: text, tool calls (arguments as a
    dict, or the raw text when they are not JSON: the ``tool-call`` assertion fails the
    case), tokens from ``usage``. An answer of no known shape fails its case."""
    from promptctl.providers.answers import as_dict, read

    try:
        data = as_dict(answer)
        raw = read(data)
    except OutputError as exc:
        raise ProviderError(f"{kind}: malformed answer: {one_line(exc.message)}",
                            retryable=False) from None
    usage = data.get("usage") if isinstance(data.get("usage"), Mapping) else {}
    assert isinstance(usage, Mapping)
    calls = tuple(ToolCall(str(name), _arguments(args)) for _, name, args in raw.calls)
    return ProviderResponse(output=raw.text or "", tool_calls=calls,
                            input_tokens=_tokens(usage.get(input_key)),
                            output_tokens=_tokens(usage.get(output_key)), raw=dict(data))


def _arguments(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value) if value.strip() else {}
    except ValueError:
        return value


def _tokens(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
