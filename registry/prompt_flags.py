"""Prompts as OpenFeature flags: one evaluation for the OpenFeature provider and for OFREP.

A prompt's rollout is an *object flag* keyed ``prompt.<name>`` (``prompt.support``): its value
is the bundle the key gets (the resolve endpoint's body), its variant ``stable`` or
``canary``, its reason ``STATIC`` when one version is served and ``SPLIT`` when a canary
shares the traffic (OpenFeature's resolution reasons), and its metadata names the version,
the fingerprint, the environment and the change id. Only the ``prompt.`` form names a prompt
(a prompt may itself be called ``prompt.x``: its key is then ``prompt.prompt.x``).

The evaluation context maps onto the SDK's lookup: ``targetingKey`` is the key (userId),
``sessionId`` the Unleash sessionId, and every other attribute a property (for a rollout
with custom stickiness). With no attribute but the targeting key, the lookup is exactly
``reg.get(name, key=targeting_key)``, so OFREP, the provider, the SDK and the resolve
endpoint put every key on the same side.

Errors are the registry's own (:mod:`promptctl.errors`); :data:`OPENFEATURE_CODES` names the
OpenFeature error code each one is reported as. Pure and light: the SDK may import it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, NamedTuple

from promptctl.bucketing import DEFAULT_STICKINESS
from promptctl.errors import (
    NotFoundError,
    PermissionDenied,
    PromptctlError,
    TargetingKeyMissing,
    UsageError,
    ValidationError,
)

if TYPE_CHECKING:
    from promptctl.snapshot import ResolvedBundle
    from promptctl.state import State

__all__ = ["FLAG_PREFIX", "OPENFEATURE_CODES", "FlagEvaluation", "evaluate", "flag_key",
           "lookup_args", "openfeature_code", "prompt_name"]

FLAG_PREFIX = "prompt."
Resolve = Callable[[str, object, Mapping[str, object] | None], "ResolvedBundle"]

# most specific first: the first class an error is an instance of names its code
OPENFEATURE_CODES: tuple[tuple[type[PromptctlError], str], ...] = (
    (NotFoundError, "FLAG_NOT_FOUND"),
    (TargetingKeyMissing, "TARGETING_KEY_MISSING"),
    (ValidationError, "PARSE_ERROR"),
    (UsageError, "INVALID_CONTEXT"),
    (PermissionDenied, "GENERAL"),
)


class FlagEvaluation(NamedTuple):
    key: str
    bundle: ResolvedBundle
    reason: str  # "STATIC" | "SPLIT"

    @property
    def variant(self) -> str:
        return self.bundle.variant

    @property
    def metadata(self) -> dict[str, str | int]:
        bundle = self.bundle
        return {"prompt": bundle.name, "version": bundle.version,
                "fingerprint": bundle.fingerprint, "env": bundle.env,
                "changeId": bundle.change_id}

    def value(self) -> dict[str, object]:
        """The bundle as plain JSON data: a fresh copy, so a caller may change it."""
        value: dict[str, object] = json.loads(self.bundle.json)
        return value


def flag_key(name: str) -> str:
    return FLAG_PREFIX + name


def prompt_name(key: str) -> str:
    """The prompt a flag key names; ``NotFoundError`` for a key of another form."""
    if not key.startswith(FLAG_PREFIX) or len(key) == len(FLAG_PREFIX):
        raise NotFoundError(f"flag {key!r} is not a prompt: prompt flags are keyed "
                            f"'{FLAG_PREFIX}<name>'")
    return key[len(FLAG_PREFIX):]


def lookup_args(targeting_key: str | None, attributes: Mapping[str, object] | None
                ) -> tuple[str | None, dict[str, object] | None]:
    """``(key, context)`` for ``State.resolve``: the targeting key is the userId,
    ``sessionId`` stays itself, any other attribute becomes a property."""
    rest = {k: v for k, v in (attributes or {}).items() if k not in ("targetingKey", "env")}
    if not rest:
        return targeting_key or None, None
    context: dict[str, object] = {}
    session = rest.pop("sessionId", None)
    if session not in (None, ""):
        context["sessionId"] = str(session)
    if rest:
        context["properties"] = {k: _text(k, v) for k, v in rest.items()}
    return targeting_key or None, context


def _text(name: str, value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise UsageError(f"context attribute {name!r} must be a string, number or boolean "
                     f"to be used for targeting, not {type(value).__name__}")


def evaluate(state: State, key: str, targeting_key: str | None = None,
             attributes: Mapping[str, object] | None = None,
             resolve: Resolve | None = None) -> FlagEvaluation:
    """Evaluate flag ``key`` in ``state`` for the given context. ``resolve`` (default:
    ``state.resolve``) picks the bundle; the SDK's provider passes ``Registry.get``.

    A canary needs something to bucket on: with the default stickiness, a targeting key or
    a ``sessionId`` (else ``TargetingKeyMissing``: a random pick per call would make one
    user flip between versions)."""
    name = prompt_name(key)
    rollout = state.rollout(name)
    lookup, context = lookup_args(targeting_key, attributes)
    if rollout.canary is None:  # one version served (a given resolve may still pin another)
        bundle = rollout.stable if resolve is None else resolve(name, lookup, context)
        return FlagEvaluation(key, bundle, "STATIC")
    if rollout.stickiness == DEFAULT_STICKINESS and not lookup and \
            not (context or {}).get("sessionId"):
        raise TargetingKeyMissing(f"{key} is split between {rollout.stable.version} and "
                                  f"{rollout.canary.version}: give a targeting key "
                                  "(or a sessionId attribute)")
    bundle = (resolve or state.resolve)(name, lookup, context)
    return FlagEvaluation(key, bundle, "SPLIT")


def openfeature_code(error: PromptctlError) -> str:
    """The OpenFeature error code ``error`` is reported as (``GENERAL`` for any other)."""
    for cls, code in OPENFEATURE_CODES:
        if isinstance(error, cls):
            return code
    return "GENERAL"
