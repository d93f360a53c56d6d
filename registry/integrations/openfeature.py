"""An OpenFeature provider that evaluates prompt rollouts locally (``promptctl[openfeature]``).

    from openfeature import api
    from openfeature.evaluation_context import EvaluationContext
    from promptctl.integrations.openfeature import PromptctlProvider

    api.set_provider(PromptctlProvider(Registry(url, "production", token)))
    details = api.get_client().get_object_details(
        "prompt.support", {}, EvaluationContext(targeting_key=user_id))
    details.value        # the bundle, as the resolve endpoint sends it (a fresh dict)
    details.variant      # "stable" | "canary"
    details.reason       # "STATIC" (one version served) | "SPLIT" (a canary shares traffic)
    details.flag_metadata  # {"version", "fingerprint", "prompt", "env", "changeId"}

The provider wraps the SDK's :class:`promptctl.client.Registry`: every evaluation is the
in-memory lookup ``reg.get()`` does (no request per flag), and the flag keys, reasons and
error codes are those of :mod:`promptctl.prompt_flags`, which the server's OFREP endpoints
use too. A prompt flag is an object flag: asking for it as a boolean, string or number is
``TYPE_MISMATCH``; an unknown prompt is ``FLAG_NOT_FOUND``; a canary evaluated without a
targeting key is ``TARGETING_KEY_MISSING``. The OpenFeature SDK then answers with the
caller's default value and that error code.

``initialize`` starts the registry (fetches its state, follows changes), ``shutdown`` closes
it. A ``promptctl.session`` attribute pins the conversation's bundle (``reg.get(...,
session=...)``, see docs/runtime.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import (
    ErrorCode,
    OpenFeatureError,
    TypeMismatchError,
)
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType, Reason
from openfeature.provider import AbstractProvider, Metadata

from promptctl.errors import PromptctlError
from promptctl.prompt_flags import evaluate, openfeature_code, prompt_name

if TYPE_CHECKING:
    from promptctl.client import Registry
    from promptctl.snapshot import ResolvedBundle

__all__ = ["PromptctlProvider"]

SESSION_ATTRIBUTE = "promptctl.session"


class PromptctlProvider(AbstractProvider):
    """Prompt rollouts of one environment as OpenFeature object flags ``prompt.<name>``."""

    def __init__(self, registry: Registry) -> None:
        super().__init__()
        self.registry = registry

    def get_metadata(self) -> Metadata:
        return Metadata(name=f"promptctl ({self.registry.env})")

    def initialize(self, evaluation_context: EvaluationContext) -> None:
        self.registry.start()

    def shutdown(self) -> None:
        self.registry.close()

    # -- object flags: the prompts ------------------------------------------------------------

    def resolve_object_details(
        self, flag_key: str,
        default_value: Sequence[FlagValueType] | Mapping[str, FlagValueType],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]]:
        context = evaluation_context or EvaluationContext()
        attributes = dict(context.attributes)
        session = attributes.pop(SESSION_ATTRIBUTE, None)
        if session not in (None, "") and not context.targeting_key:
            attributes.setdefault("sessionId", str(session))  # as reg.get(name, session=S)
        try:
            found = evaluate(self.registry.snapshot, flag_key, context.targeting_key,
                             attributes, self._resolver(session))
        except PromptctlError as exc:
            raise OpenFeatureError(ErrorCode(openfeature_code(exc)), exc.message) from None
        return FlagResolutionDetails(value=found.value(),  # type: ignore[arg-type]
                                     reason=Reason(found.reason), variant=found.variant,
                                     flag_metadata=found.metadata)

    def _resolver(self, session: object) -> Any:
        if session in (None, ""):
            return self.registry.get

        def pinned(name: str, key: object, context: Mapping[str, object] | None
                   ) -> ResolvedBundle:
            return self.registry.get(name, key, context, session=session)

        return pinned

    # -- every other type: not a prompt -------------------------------------------------------

    def _mismatch(self, flag_key: str, kind: str) -> OpenFeatureError:
        """``TYPE_MISMATCH`` for a prompt's flag, ``FLAG_NOT_FOUND`` for any other key."""
        try:
            self.registry.snapshot.rollout(prompt_name(flag_key))
        except PromptctlError as exc:
            return OpenFeatureError(ErrorCode(openfeature_code(exc)), exc.message)
        return TypeMismatchError(f"{flag_key} is an object flag (a prompt bundle), not a "
                                 f"{kind}: use get_object_value or get_object_details")

    def resolve_boolean_details(self, flag_key: str, default_value: bool,
                                evaluation_context: EvaluationContext | None = None
                                ) -> FlagResolutionDetails[bool]:
        raise self._mismatch(flag_key, "boolean")

    def resolve_string_details(self, flag_key: str, default_value: str,
                               evaluation_context: EvaluationContext | None = None
                               ) -> FlagResolutionDetails[str]:
        raise self._mismatch(flag_key, "string")

    def resolve_integer_details(self, flag_key: str, default_value: int,
                                evaluation_context: EvaluationContext | None = None
                                ) -> FlagResolutionDetails[int]:
        raise self._mismatch(flag_key, "integer")

    def resolve_float_details(self, flag_key: str, default_value: float,
                              evaluation_context: EvaluationContext | None = None
                              ) -> FlagResolutionDetails[float]:
        raise self._mismatch(flag_key, "float")


