"""The OpenFeature provider, driven through the real ``openfeature-sdk`` client: a prompt's
rollout is an object flag whose value is the bundle the SDK gives the same key."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import count

import pytest
from openfeature import api
from openfeature.client import OpenFeatureClient
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

from promptctl.client import Registry
from promptctl.integrations.openfeature import PromptctlProvider
from tests.runtime_fixtures import offline_registry

_domains = count()


def client_for(reg: Registry) -> Iterator[OpenFeatureClient]:
    domain = f"promptctl-test-{next(_domains)}"
    api.set_provider(PromptctlProvider(reg), domain=domain)
    try:
        yield api.get_client(domain)
    finally:
        api.shutdown()


@pytest.fixture
def split() -> Registry:
    """support: 1.0.0 stable, 1.1.0 a 30% canary."""
    return offline_registry(percent=30)


@pytest.fixture
def client(split: Registry) -> Iterator[OpenFeatureClient]:
    yield from client_for(split)


def test_each_key_gets_the_bundle_the_sdk_gives_it_with_variant_reason_and_metadata(
        client: OpenFeatureClient, split: Registry) -> None:
    variants = set()
    for i in range(300):
        user = f"user-{i}"
        details = client.get_object_details("prompt.support", {},
                                            EvaluationContext(targeting_key=user))
        mine = split.get("support", key=user)
        assert details.error_code is None, details.error_message
        assert details.reason == Reason.SPLIT
        assert details.variant == mine.variant
        assert details.value == mine.to_dict()
        assert details.flag_metadata == {"prompt": "support", "version": mine.version,
                                         "fingerprint": mine.fingerprint,
                                         "env": "production", "changeId": 1}
        variants.add(mine.variant)
    assert variants == {"stable", "canary"}


def test_a_prompt_without_canary_is_static() -> None:
    for client in client_for(offline_registry(percent=0)):
        details = client.get_object_details("prompt.support", {})
        assert (details.reason, details.variant) == (Reason.STATIC, "stable")
        assert details.flag_metadata["version"] == "1.0.0"


def test_the_value_is_a_copy_the_caller_may_change(client: OpenFeatureClient,
                                                   split: Registry) -> None:
    ctx = EvaluationContext(targeting_key="user-1")
    first = client.get_object_value("prompt.support", {}, ctx)
    first["model"]["model"] = "changed"  # type: ignore[index, call-overload]
    assert client.get_object_value("prompt.support", {}, ctx)["model"]["model"] != "changed"  # type: ignore[index, call-overload]
    assert split.get("support", key="user-1").model == "gpt-4o-mini-2024-07-18"


@pytest.mark.parametrize(("key", "code"), [
    ("prompt.nope", ErrorCode.FLAG_NOT_FOUND),
    ("support", ErrorCode.FLAG_NOT_FOUND),  # prompt flags are keyed prompt.<name>
    ("prompt.", ErrorCode.FLAG_NOT_FOUND),
])
def test_an_unknown_flag_is_flag_not_found_and_the_default_is_returned(
        client: OpenFeatureClient, key: str, code: ErrorCode) -> None:
    details = client.get_object_details(key, {"fallback": True},
                                        EvaluationContext(targeting_key="u"))
    assert details.value == {"fallback": True}
    assert (details.error_code, details.reason) == (code, Reason.ERROR)
    assert "prompt" in (details.error_message or "")


def test_a_prompt_asked_for_as_another_type_is_a_type_mismatch(
        client: OpenFeatureClient) -> None:
    ctx = EvaluationContext(targeting_key="u")
    for details in (client.get_boolean_details("prompt.support", False, ctx),
                    client.get_string_details("prompt.support", "x", ctx),
                    client.get_integer_details("prompt.support", 1, ctx),
                    client.get_float_details("prompt.support", 1.0, ctx)):
        assert details.error_code == ErrorCode.TYPE_MISMATCH, details
        assert "object flag" in (details.error_message or "")
    assert client.get_boolean_details("prompt.nope", False, ctx).error_code == \
        ErrorCode.FLAG_NOT_FOUND


def test_a_canary_without_a_targeting_key_is_targeting_key_missing(
        client: OpenFeatureClient, split: Registry) -> None:
    details = client.get_object_details("prompt.support", {})
    assert details.error_code == ErrorCode.TARGETING_KEY_MISSING
    assert "1.0.0 and 1.1.0" in (details.error_message or "")
    by_session = client.get_object_details(
        "prompt.support", {}, EvaluationContext(attributes={"sessionId": "s-1"}))
    assert by_session.error_code is None
    assert by_session.variant == split.get("support", context={"sessionId": "s-1"}).variant


def test_a_context_attribute_that_cannot_target_is_invalid_context(
        client: OpenFeatureClient) -> None:
    details = client.get_object_details(
        "prompt.support", {}, EvaluationContext("u", {"plan": {"tier": "gold"}}))
    assert details.error_code == ErrorCode.INVALID_CONTEXT
    assert "'plan'" in (details.error_message or "")


def test_the_provider_names_itself_and_its_environment(split: Registry) -> None:
    assert PromptctlProvider(split).get_metadata().name == "promptctl (production)"


def test_a_promptctl_session_attribute_pins_the_conversation(client: OpenFeatureClient,
                                                             split: Registry) -> None:
    from tests.test_session_pins import change

    def version(user: str, session: str) -> str:
        details = client.get_object_details(
            "prompt.support", {}, EvaluationContext(user, {"promptctl.session": session}))
        assert details.error_code is None, details.error_message
        return str(details.flag_metadata["version"])

    started = {f"c{i}": version(f"user-{i}", f"c{i}") for i in range(100)}
    assert set(started.values()) == {"1.0.0", "1.1.0"}
    change(split, stable="1.1.0", canary=None, percent=0)  # the canary is promoted
    assert {s: version("someone-else", s) for s in started} == started
    assert version("someone-else", "a-new-conversation") == "1.1.0"
    # with no targeting key, the session is what the canary buckets on, as in the SDK
    change(split, canary="1.0.0", percent=50)
    alone = client.get_object_details(
        "prompt.support", {}, EvaluationContext(attributes={"promptctl.session": "solo"}))
    assert alone.variant == split.get("support", session="solo").variant
