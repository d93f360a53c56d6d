"""OFREP (OpenFeature Remote Evaluation Protocol) on the real app: single and bulk evaluation,
ETag/304, OFREP error bodies, the environment from the token or the context; and, against a
real server, the real ``openfeature-provider-ofrep`` agreeing key for key with the SDK and the
resolve endpoint."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.proof_fixtures import sdk, wait_until
from tests.rollout_fixtures import Api, LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]

FLAG = "/ofrep/v1/evaluate/flags/prompt.support"
BULK = "/ofrep/v1/evaluate/flags"


def canary(http, percent: int = 30) -> None:  # type: ignore[no-untyped-def]
    http.post("/v1/envs/production/prompts/support/promote",
              json={"version": "1.1.0", "percent": percent}).raise_for_status()


SCALARS = (st.none() | st.booleans() | st.integers() | st.text(max_size=8)
           | st.floats(allow_nan=False, allow_infinity=False))
JSON = st.recursive(SCALARS,
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
CONTEXTS = st.dictionaries(st.sampled_from(["targetingKey", "env", "sessionId", "plan"])
                           | st.text(max_size=6), JSON, max_size=4)


def test_errors_carry_ofrep_error_codes_and_no_request_is_a_server_error(api: Api) -> None:
    with api.client("deployer") as http:
        canary(http)
    with api.client("reader") as http:
        def error(path: str, status: int, **kwargs: object) -> dict[str, str]:
            response = http.post(path, **kwargs)  # type: ignore[arg-type]
            assert response.status_code == status, response.text
            body = response.json()
            assert set(body) >= {"errorCode", "errorDetails", "error", "detail"}, body
            return body  # type: ignore[no-any-return]

        missing = error("/ofrep/v1/evaluate/flags/prompt.nope", 404,
                        json={"context": {"targetingKey": "u"}})
        assert (missing["key"], missing["errorCode"]) == ("prompt.nope", "FLAG_NOT_FOUND")
        assert error("/ofrep/v1/evaluate/flags/support", 404,
                     json={"context": {"targetingKey": "u"}})["errorCode"] == "FLAG_NOT_FOUND"
        assert error(FLAG, 400, content=b"{not json")["errorCode"] == "PARSE_ERROR"
        assert error(FLAG, 400, json={"context": {"targetingKey": 7}})["errorCode"] == \
            "INVALID_CONTEXT"
        assert error(FLAG, 400, json={"context": []})["errorCode"] == "INVALID_CONTEXT"
        no_key = error(FLAG, 400, json={"context": {}})
        assert no_key["errorCode"] == "TARGETING_KEY_MISSING"
        assert "1.0.0 and 1.1.0" in no_key["errorDetails"]
        other_env = error(FLAG, 403, json={"context": {"targetingKey": "u", "env": "staging"}})
        assert "scoped to environment 'production'" in other_env["errorDetails"]
    with api.client("deployer") as http:  # a token scoped to no environment names one
        body = http.post(FLAG, json={"context": {"targetingKey": "u"}}).json()
        assert body["errorCode"] == "INVALID_CONTEXT" and "'env'" in body["errorDetails"]
        ok = http.post(FLAG, json={"context": {"targetingKey": "u", "env": "production"}})
        assert ok.status_code == 200 and ok.json()["metadata"]["env"] == "production"
        unknown = http.post(FLAG, json={"context": {"targetingKey": "u", "env": "nowhere"}})
        assert (unknown.status_code, unknown.json()["errorCode"]) == (400, "INVALID_CONTEXT")
        bad_env = http.post(FLAG, json={"context": {"targetingKey": "u", "env": "a\u0000b"}})
        assert (bad_env.status_code, bad_env.json()["errorCode"]) == (400, "INVALID_CONTEXT")
    with api.client(None) as http:
        assert http.post(FLAG, json={"context": {"targetingKey": "u"}}).status_code == 401
    fuzz(api)


def fuzz(api: Api) -> None:
    """Whatever a client sends, the answer is OFREP-shaped and never a server error."""
    examples = int(os.environ.get("PROMPTCTL_FUZZ_EXAMPLES", "40"))

    @settings(max_examples=examples, deadline=None, database=None)
    @given(key=st.sampled_from(["prompt.support", "prompt.nope", "support"])
           | st.from_regex(r"\A[a-zA-Z0-9._~-]{1,12}\Z"),
           body=st.builds(lambda c: {"context": c}, CONTEXTS) | JSON,
           bulk=st.booleans(), role=st.sampled_from(["reader", "deployer"]))
    def check(key: str, body: object, bulk: bool, role: str) -> None:
        with api.client(role) as http:
            response = http.post(BULK if bulk else f"/ofrep/v1/evaluate/flags/{key}",
                                 json=body)
        assert response.status_code in (200, 400, 403, 404), response.text
        if response.status_code != 200:
            assert {"errorCode", "errorDetails", "error", "detail"} <= set(response.json())

    check()


def test_bulk_evaluation_lists_every_prompt_and_answers_304_until_a_change(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    with api.client("reader") as http:
        context = {"context": {"targetingKey": "user-7"}}
        first = http.post(BULK, json=context)
        assert first.status_code == 200
        etag = first.headers["ETag"]
        [flag] = first.json()["flags"]
        assert (flag["key"], flag["reason"], flag["variant"]) == ("prompt.support", "STATIC",
                                                                 "stable")
        assert first.json()["metadata"]["env"] == "production"
        again = http.post(BULK, json=context, headers={"If-None-Match": etag})
        assert (again.status_code, again.content) == (304, b"")
        other = http.post(BULK, json={"context": {"targetingKey": "user-8"}},
                          headers={"If-None-Match": etag})
        assert other.status_code == 200 and other.headers["ETag"] != etag
    with api.client("deployer") as http:
        canary(http, 50)
    with api.client("reader") as http:
        changed = http.post(BULK, json=context, headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["ETag"] != etag
        assert changed.json()["flags"][0]["reason"] == "SPLIT"
        no_key = http.post(BULK, json={"context": {}}).json()["flags"][0]
        assert no_key == {"key": "prompt.support", "errorCode": "TARGETING_KEY_MISSING",
                          "errorDetails": no_key["errorDetails"]}
    with api.client("deployer") as http:
        http.post("/v1/envs/production/prompts/summarize-ticket/promote",
                  json={"version": "1.1.0"}).raise_for_status()
    monkeypatch.setenv("PROMPTCTL_MAX_OFREP_BULK_FLAGS", "1")
    with Api(api.cli, api.tokens) as bounded, bounded.client("reader") as http:
        refused = http.post(BULK, json=context)
        assert refused.status_code == 400
        assert "more than max_ofrep_bulk_flags (1)" in refused.json()["errorDetails"]
        assert http.post(FLAG, json=context).status_code == 200  # one by one still works


def test_the_ofrep_provider_the_sdk_and_the_resolve_endpoint_agree_key_for_key(
        live_server: LiveServer, tmp_path: Path) -> None:
    from openfeature import api as openfeature
    from openfeature.contrib.provider.ofrep import OFREPProvider
    from openfeature.evaluation_context import EvaluationContext

    with live_server.client("deployer") as http:
        canary(http, 30)
    token = live_server.tokens["reader"]
    openfeature.set_provider(OFREPProvider(
        live_server.url, headers_factory=lambda: {"Authorization": f"Bearer {token}"}),
        domain="ofrep-agreement")
    client = openfeature.get_client("ofrep-agreement")
    try:
        with sdk(live_server, tmp_path) as reg, live_server.client("reader") as http:
            assert wait_until(lambda: reg.snapshot.entry("support")["canary"], 5)
            in_canary = 0
            for i in range(150):
                user = f"user-{i}"
                remote = client.get_object_details("prompt.support", {},
                                                   EvaluationContext(targeting_key=user))
                local = reg.get("support", key=user)
                resolved = http.get("/v1/envs/production/prompts/support/resolve",
                                    params={"key": user}).json()
                assert remote.error_code is None, remote.error_message
                assert remote.value == resolved == local.to_dict(), user
                assert (remote.variant, remote.flag_metadata["fingerprint"]) == \
                    (local.variant, local.fingerprint)
                in_canary += local.variant == "canary"
            assert 25 <= in_canary <= 65  # about 30% of 150
            # over plain HTTP: the OFREP body, its metadata; one version served is STATIC
            body = http.post(FLAG, json={"context": {"targetingKey": "user-1"}}).json()
            local = reg.get("support", key="user-1")
            assert (body["key"], body["reason"], body["variant"]) == \
                ("prompt.support", "SPLIT", local.variant)
            assert body["metadata"] == {"prompt": "support", "version": local.version,
                                        "fingerprint": local.fingerprint, "env": "production",
                                        "changeId": local.change_id}
        with live_server.client("reader_staging") as http:
            body = http.post(FLAG, json={"context": {"targetingKey": "u"}}).json()
            assert (body["reason"], body["variant"], body["metadata"]["env"]) == \
                ("STATIC", "stable", "staging")
            gone = client.get_object_details("prompt.nope", {"default": 1},
                                             EvaluationContext(targeting_key="u"))
            assert gone.value == {"default": 1} and gone.error_code == "FLAG_NOT_FOUND"
    finally:
        openfeature.shutdown()
