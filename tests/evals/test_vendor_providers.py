"""The ``openai`` and ``anthropic`` eval providers: ``promptctl eval run`` through the official
SDKs to a local server on 127.0.0.1 that speaks each vendor's wire format (the real vendors
cannot be reached from here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cli
from tests.evals.suites import case, write_suite
from tests.vendor_wire import (
    CHAT,
    MESSAGES,
    RESPONSES,
    Answer,
    VendorWire,
    anthropic_body,
    openai_chat_body,
    openai_responses_body,
    vendor_wire,
)

__all__ = ["vendor_wire"]  # the fixture, imported for the tests below

SUITE = "wire-check"
ANSWER = json.dumps({"answer": "Your parcel left the warehouse.", "sources": ["Shipping"]})
JSON_CASE = [{"type": "json-schema"}]
SEARCH_CASE = [{"type": "tool-call", "value": "search-kb"}]


def suite(cli: Cli, kind: str, *names: str, asserts: list[Any] | None = None,
          **settings: str) -> None:
    cases = [case(n, assertions=asserts or JSON_CASE) for n in names]
    write_suite(cli.root, name=SUITE, cases=cases,
                provider={"type": kind, "settings": settings} if settings else {"type": kind})


def run(cli: Cli, env: dict[str, str], *extra: str) -> tuple[int, dict[str, Any]]:
    result = cli("eval", "run", "support", "--suite", SUITE, "--json", "--no-cache", "-j", "1",
                 *extra, env=env)
    assert "Traceback" not in result.output
    return result.exit_code, json.loads(result.output)


def headers(recorded: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in recorded.headers.items()}


def cases(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["run"]["cases"]}


def openai_env(wire: VendorWire) -> dict[str, str]:
    return {"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": wire.openai_url}


def use_anthropic_model(root: Path) -> None:
    """The example prompt's model, as an Anthropic one (whose API takes no temperature)."""
    model = root / "prompts" / "support-chat.model.yaml"
    model.write_text(model.read_text().replace("provider: openai", "provider: anthropic")
                     .replace("gpt-4o-mini-2024-07-18", "claude-test-1")
                     .replace("  temperature: 0.2\n", "").replace("  top_p: 1.0\n", ""))


@pytest.mark.slow
def test_openai_sends_the_bundles_chat_call_and_reads_answers_and_tool_calls(
        cli: Cli, vendor_wire: VendorWire) -> None:
    write_suite(cli.root, name=SUITE, cases=[case("answers", assertions=JSON_CASE),
                                             case("searches", assertions=SEARCH_CASE)],
                provider={"type": "openai", "settings": {"headers": {"x-team": "support"}}})
    vendor_wire.reply(CHAT, openai_chat_body(ANSWER))
    vendor_wire.reply(CHAT, openai_chat_body(None, [("search-kb", {"query": "parcel"})]))
    code, report = run(cli, openai_env(vendor_wire))
    assert code == 0, report
    got = cases(report)
    assert got["answers"]["passed"] and got["answers"]["input_tokens"] == 10
    assert got["searches"]["tool_calls"] == [{"name": "search-kb",
                                              "arguments": {"query": "parcel"}}]
    first = vendor_wire.requests[0]
    body = first.body
    assert first.path == CHAT and headers(first)["authorization"] == "Bearer test-key"
    assert headers(first)["x-team"] == "support"
    assert body["model"] == "gpt-4o-mini-2024-07-18" and body["temperature"] == 0.2
    assert [t["function"]["name"] for t in body["tools"]] == ["search-kb", "create-ticket"]
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["answer", "sources"]
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "Where is my parcel?" in body["messages"][1]["content"]
    identity = report["run"]["provider"]
    assert identity["type"] == "openai" and identity["base_url"] == vendor_wire.openai_url
    assert "test-key" not in json.dumps(report)


@pytest.mark.slow
def test_openai_with_api_responses_sends_the_bundles_responses_call(
        cli: Cli, vendor_wire: VendorWire) -> None:
    model = cli.root / "prompts" / "support-chat.model.yaml"
    text = model.read_text()
    model.write_text("".join(line for line in text.splitlines(keepends=True)
                             if not line.lstrip().startswith("stop:")))  # Responses has none
    suite(cli, "openai", "answers", api="responses")
    vendor_wire.reply(RESPONSES, openai_responses_body(ANSWER))
    code, report = run(cli, openai_env(vendor_wire))
    assert code == 0, report
    assert cases(report)["answers"]["output_tokens"] == 5
    body = vendor_wire.last(RESPONSES).body
    assert "support agent for Acme" in body["instructions"]
    assert [item["role"] for item in body["input"]] == ["user"]
    assert body["text"]["format"]["type"] == "json_schema"
    assert [t["name"] for t in body["tools"]] == ["search-kb", "create-ticket"]


@pytest.mark.slow
def test_an_llm_rubric_judge_is_called_through_the_same_provider_with_its_model_alone(
        cli: Cli, vendor_wire: VendorWire) -> None:
    rubric = {"type": "llm-rubric", "value": "Is it polite?", "provider": "support-chat@1.0.0"}
    write_suite(cli.root, name=SUITE, provider={"type": "openai"},
                cases=[case("polite", assertions=[rubric])])
    vendor_wire.reply(CHAT, openai_chat_body(ANSWER))
    vendor_wire.reply(CHAT, openai_chat_body('{"pass": true, "score": 0.9, "reason": "kind"}'))
    code, report = run(cli, openai_env(vendor_wire))
    assert code == 0, report
    judged = vendor_wire.requests[1].body
    assert "tools" not in judged and "response_format" not in judged
    assert "Is it polite?" in judged["messages"][1]["content"]
    assert report["run"]["judges"][0]["ref"] == "support-chat@1.0.0"


@pytest.mark.slow
def test_openai_with_azure_endpoint_calls_the_deployment_through_azure_openai(
        cli: Cli, vendor_wire: VendorWire) -> None:
    suite(cli, "openai", "answers", azure_endpoint=vendor_wire.url.replace("//", "//u:pw@"),
          api_version="2024-10-21")
    code, report = run(cli, {"AZURE_OPENAI_API_KEY": "azure-key"}, "--retries", "0")
    sent = vendor_wire.last()
    assert sent.path == "/openai/deployments/gpt-4o-mini-2024-07-18/chat/completions"
    assert headers(sent)["api-key"] == "azure-key"
    assert code == 1  # the local server knows no Azure path: a clear failed case
    assert cases(report)["answers"]["error"] == "openai answered 404: test error 404"
    assert report["run"]["provider"]["settings"]["azure_endpoint"] == vendor_wire.url
    assert "pw" not in json.dumps(report["run"]["provider"])


@pytest.mark.slow
def test_an_openai_compatible_server_takes_another_providers_bundle_and_a_target_model(
        cli: Cli, vendor_wire: VendorWire) -> None:
    model = cli.root / "prompts" / "support-chat.model.yaml"
    model.write_text(model.read_text().replace("provider: openai", "provider: ollama")
                     .replace("gpt-4o-mini-2024-07-18", "llama3.1"))
    suite(cli, "openai", "answers")
    vendor_wire.reply(CHAT, openai_chat_body(ANSWER))
    vendor_wire.reply(CHAT, openai_chat_body(ANSWER))
    code, report = run(cli, openai_env(vendor_wire))
    assert code == 0, report
    assert vendor_wire.last(CHAT).body["model"] == "llama3.1"
    code, report = run(cli, openai_env(vendor_wire), "--provider", "openai:llama3.1:8b")
    assert code == 0, report
    assert vendor_wire.last(CHAT).body["model"] == "llama3.1:8b"
    assert report["run"]["provider"]["target"] == "llama3.1:8b"


@pytest.mark.slow
def test_openai_429_and_5xx_are_retried_and_a_case_that_keeps_failing_fails_alone(
        cli: Cli, vendor_wire: VendorWire) -> None:
    suite(cli, "openai", "retried", "broken", "after")
    vendor_wire.fail(CHAT, 429)
    vendor_wire.fail(CHAT, 503)
    vendor_wire.reply(CHAT, openai_chat_body(ANSWER))  # "retried": the third attempt
    vendor_wire.fail(CHAT, 500, times=3)  # "broken": every attempt
    vendor_wire.reply(CHAT, openai_chat_body(ANSWER))  # "after": the run went on
    code, report = run(cli, openai_env(vendor_wire), "--retries", "2")
    got = cases(report)
    assert code == 1
    assert got["retried"]["passed"] and got["after"]["passed"]
    assert not got["broken"]["passed"]
    assert got["broken"]["error"] == "openai answered 500: test error 500"
    assert len(vendor_wire.requests) == 7


@pytest.mark.slow
def test_a_slow_answer_beyond_the_timeout_fails_its_case_and_the_run_goes_on(
        cli: Cli, vendor_wire: VendorWire) -> None:
    suite(cli, "openai", "slow", "quick")
    vendor_wire.script(CHAT, Answer(body=openai_chat_body(ANSWER), delay=1.5))
    vendor_wire.reply(CHAT, openai_chat_body(ANSWER))
    code, report = run(cli, openai_env(vendor_wire), "--timeout", "0.3", "--retries", "0")
    got = cases(report)
    assert code == 1 and got["quick"]["passed"]
    assert not got["slow"]["passed"] and "no answer" in got["slow"]["error"]


@pytest.mark.slow
def test_malformed_model_output_is_a_failed_case_not_a_crash(
        cli: Cli, vendor_wire: VendorWire) -> None:
    write_suite(cli.root, name=SUITE, provider={"type": "openai"}, cases=[
        case("not-json", assertions=JSON_CASE), case("bad-args", assertions=SEARCH_CASE),
        case("garbled", assertions=JSON_CASE), case("fine", assertions=JSON_CASE)])
    vendor_wire.reply(CHAT, openai_chat_body("Sure! Your parcel is on its way."))
    vendor_wire.reply(CHAT, openai_chat_body(None, [("search-kb", '{"query": ')]))
    vendor_wire.script(CHAT, Answer(raw=b'{"choices": [ this is not JSON'))
    vendor_wire.reply(CHAT, openai_chat_body(ANSWER))
    code, report = run(cli, openai_env(vendor_wire))
    got = cases(report)
    assert code == 1 and got["fine"]["passed"]
    assert "output is not JSON" in got["not-json"]["assertions"][0]["reason"]
    assert "not a JSON object" in got["bad-args"]["assertions"][0]["reason"]
    assert not got["garbled"]["passed"] and "malformed answer" in got["garbled"]["error"]
    assert report["stored_run"] is not None


@pytest.mark.slow
def test_anthropic_sends_the_messages_call_with_tools_and_retries_429_and_5xx(
        cli: Cli, vendor_wire: VendorWire) -> None:
    use_anthropic_model(cli.root)
    write_suite(cli.root, name=SUITE, provider={"type": "anthropic"}, cases=[
        case("answers", assertions=JSON_CASE), case("searches", assertions=SEARCH_CASE)])
    vendor_wire.fail(MESSAGES, 429)
    vendor_wire.fail(MESSAGES, 529)
    vendor_wire.reply(MESSAGES, anthropic_body(ANSWER))
    vendor_wire.reply(MESSAGES, anthropic_body("Let me look.", [("search-kb",
                                                                  {"query": "parcel"})]))
    env = {"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": vendor_wire.anthropic_url}
    code, report = run(cli, env)
    assert code == 0, report
    got = cases(report)
    assert got["answers"]["output_tokens"] == 5
    assert got["searches"]["tool_calls"][0]["arguments"] == {"query": "parcel"}
    assert len(vendor_wire.requests) == 4
    sent = vendor_wire.requests[0]
    body = sent.body
    sent_headers = headers(sent)
    assert sent.path == MESSAGES and "anthropic-version" in sent_headers
    assert "test-key" in sent_headers.get("x-api-key", sent_headers.get("authorization", ""))
    assert body["model"] == "claude-test-1" and body["max_tokens"] == 600
    assert "support agent for Acme" in body["system"]
    assert [m["role"] for m in body["messages"]] == ["user"]
    assert "Where is my parcel?" in json.dumps(body["messages"])
    assert [t["name"] for t in body["tools"]] == ["search-kb", "create-ticket"]
    assert body["tools"][0]["input_schema"]["required"] == ["query"]


@pytest.mark.parametrize(("kind", "variable"), [("openai", "OPENAI_API_KEY"),
                                                ("anthropic", "ANTHROPIC_API_KEY")])
def test_a_missing_api_key_is_a_one_line_error_and_nothing_is_stored(
        cli: Cli, monkeypatch: pytest.MonkeyPatch, kind: str, variable: str) -> None:
    monkeypatch.delenv(variable, raising=False)
    suite(cli, kind, "answers")
    result = cli("eval", "run", "support", "--suite", SUITE, "--provider", kind)
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: the {kind} provider needs an API key in ${variable} (or name another "
        "variable with the provider setting api_key_env)")
    assert json.loads(cli("eval", "list", "--json").output) == []


@pytest.mark.slow
def test_a_bundle_the_vendor_api_cannot_take_is_a_one_line_error_before_any_call(
        cli: Cli, vendor_wire: VendorWire) -> None:
    model = cli.root / "prompts" / "support-chat.model.yaml"
    model.write_text(model.read_text().replace("provider: openai", "provider: anthropic")
                     .replace("gpt-4o-mini-2024-07-18", "claude-test-1"))  # temperature kept
    suite(cli, "anthropic", "answers", "more")
    env = {"ANTHROPIC_API_KEY": "test-key", "ANTHROPIC_BASE_URL": vendor_wire.anthropic_url}
    result = cli("eval", "run", "support", "--suite", SUITE, env=env)
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert "sets 'temperature', which anthropic does not accept" in result.output
    assert vendor_wire.requests == []
    assert json.loads(cli("eval", "list", "--json").output) == []


@pytest.mark.parametrize(("settings", "message"), [
    ({"api_key": "sk-live"}, "reads its key from an environment variable only"),
    ({"headers": {"Authorization": "Bearer sk-live"}}, "credentials come from"),
    ({"temprature": "0"}, "has no setting 'temprature'; known: base_url"),
], ids=["api_key", "auth-header", "unknown"])
def test_bad_provider_settings_are_a_one_line_error(cli: Cli, settings: dict[str, Any],
                                                    message: str) -> None:
    write_suite(cli.root, name=SUITE, provider={"type": "openai", "settings": settings},
                cases=[case("answers")])
    result = cli("eval", "run", "support", "--suite", SUITE,
                 env={"OPENAI_API_KEY": "test-key", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1"})
    assert result.exit_code == 2 and message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_retry_after_is_read_in_seconds_or_ms_and_capped_by_the_limit(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import httpx

    from promptctl.evals.providers.vendor import retry_after

    def wait(**headers: str) -> float | None:
        return retry_after(httpx.Response(429, headers=headers))

    assert wait() is None
    assert wait(**{"retry-after": "2"}) == 2.0
    assert wait(**{"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert wait(**{"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}) is None  # the backoff
    assert wait(**{"retry-after": "3600"}) == 60.0
    monkeypatch.setenv("PROMPTCTL_MAX_RETRY_AFTER_SECONDS", "5")
    assert wait(**{"retry-after": "3600"}) == 5.0
