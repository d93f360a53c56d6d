"""Review lint rules: secrets, provider parameter ranges, prompt growth — also via `lint`."""

from __future__ import annotations

import json

import pytest

from promptctl.loader import load_sources
from promptctl.review.lint_rules import GrowthPolicy, estimate_tokens, param_range_findings
from promptctl.review.secrets import scan_value
from tests.conftest import Cli
from tests.review.history import History, entry


def model(provider: str, **params: object):  # type: ignore[no-untyped-def]
    text = json.dumps({"kind": "model", "name": "m", "version": "1.0.0", "description": "d",
                       "provider": provider, "model": "x", "params": params})
    [item] = load_sources([("prompts/m.model.yaml", text)]).artifacts
    return item


@pytest.mark.parametrize(("provider", "params", "bad"), [
    ("openai", {"temperature": 2.0, "top_p": 1, "max_tokens": 1}, []),
    ("openai", {"temperature": 2.5}, ["temperature"]),
    ("anthropic", {"temperature": 1.5}, ["temperature"]),
    ("anthropic", {"temperature": 1.0, "top_k": 40}, []),
    ("openai", {"top_p": 1.2, "max_tokens": 0}, ["max_tokens", "top_p"]),
    ("openai", {"max_tokens": 10.5}, ["max_tokens"]),
    ("someone-else", {"temperature": -0.1}, ["temperature"]),
])
def test_model_parameters_out_of_the_providers_range_are_errors(provider, params, bad):
    findings = param_range_findings(model(provider, **params))
    assert [f.field.removeprefix("params.") for f in findings] == bad
    assert all(f.severity == "error" and f.code == "param-range" for f in findings)


@pytest.mark.parametrize(("field", "value", "kind"), [
    ("template.system", "Use key AKIAIOSFODNN7EXAMPLE for S3", "AWS Access Key"),
    ("template.user", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n", "Private Key"),
    ("uri", "postgresql://admin:hunter2pass@db:5432/kb", "Basic Auth Credentials"),
    ("description", "call with Authorization: Bearer abcdefghijklmnop1234567890",
     "Bearer token"),
    ("metadata.api_key", "Zx81Lq0vN3pR7tY2wK5mB9cD4fG6hJ", "high-entropy value in a secret-like "
                                                             "field"),
    ("template.system", "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z", "OpenAI API key"),
])
def test_secret_shapes_are_detected(field, value, kind):
    assert kind in scan_value(field, value)


@pytest.mark.parametrize("value", [
    "You are a helpful support agent. Answer only from the knowledge base.",
    "postgresql://vectors.internal:5432/kb?table=kb_docs",
    "text-embedding-3-small",
])
def test_ordinary_text_is_not_a_secret(value):
    assert scan_value("template.system", value) == []


def test_a_secret_is_found_after_the_scanners_line_cache_filled_up():
    """The cache of scanned lines is bounded; emptying it never loses the lines in hand."""
    scan_value("template.system", "\n".join(f"plain prose line {i}" for i in range(50_001)))
    found = scan_value("template.system", "one more plain line\n"
                       "key = sk-ant-api03-" + "a1B2" * 20)
    assert found, "the planted key was not reported"


def test_prompt_growth_beyond_the_threshold_is_a_warning(git_repo):
    history = History(git_repo)
    history.commit("base")
    prompt = history["support.prompt.yaml"]
    prompt["template"]["system"] += "Always be thorough and kind to the customer. " * 20
    prompt["version"] = "1.1.0"
    history.commit("grow")
    report = history.diff("HEAD~1", growth=GrowthPolicy(percent=20, min_tokens=50))
    [growth] = [f for f in entry(report, "prompt/support").findings if f.code == "prompt-growth"]
    assert growth.severity == "warning"
    assert "prompt grew from ~" in growth.message and "threshold 20%" in growth.message
    assert report.passed  # warnings do not fail --check
    relaxed = history.diff("HEAD~1", growth=GrowthPolicy(percent=1000, min_tokens=50))
    assert not any(f.code == "prompt-growth" for f in relaxed.findings)


def test_token_estimate_is_characters_over_four():
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2


def test_growth_threshold_comes_from_promptctl_toml():
    policy = GrowthPolicy.from_settings({"review": {"token_growth_percent": 50}})
    assert (policy.percent, policy.min_tokens) == (50.0, 50)


def test_lint_command_reports_secrets_and_parameter_ranges(cli: Cli):
    tool = cli.root / "prompts" / "search-kb.tool.yaml"
    tool.write_text(tool.read_text().replace(
        "description: Search the product knowledge base",
        "description: Use token ghp_R4nd0mT0k3nV4lu3F0rT3st1ngXyZ1234567 to search the product "
        "knowledge base"))
    model_file = cli.root / "prompts" / "support-chat.model.yaml"
    model_file.write_text(model_file.read_text().replace("temperature: 0.2", "temperature: 3"))
    result = cli("lint", "--json")
    assert result.exit_code == 1
    found = {(f["code"], f["path"], f["field"]) for f in json.loads(result.stdout)["findings"]}
    assert ("secret", "prompts/search-kb.tool.yaml", "description") in found
    assert ("param-range", "prompts/support-chat.model.yaml", "params.temperature") in found


SECRET_CORPUS = [
    "AKIAIOSFODNN7EXAMPLE", "token ghp_R4nd0mT0k3nV4lu3F0rT3st1ngXyZ1234567",
    "xoxb-123456789012-1234567890123-abcdefghijklmnopqrstuvwx", "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "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",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n",
    "postgresql://admin:hunter2pass@db:5432/kb", "-----BEGIN RSA PRIVATE KEY-----",
    "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    'password = "hunter2"', 'api_key: "abcd1234efgh5678"', "SK1234567890abcdef1234567890abcdef",
    "AccountKey=lJzRc1YdHaAA2KCNJJ1tkYwF/+mKK6Ny//NnFGCk1ZJRqP7Bph9zQ7dP8DpsKhXxz1GzS0wNhnTxuk5nD/RrsZQ==",
]


@pytest.mark.parametrize("line", SECRET_CORPUS)
def test_the_cheap_pre_check_never_hides_a_detect_secrets_finding(line):
    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import transient_settings

    from promptctl.review.secrets import _plugins, could_hold_a_secret

    with transient_settings({"plugins_used": _plugins()}):
        detected = list(scan_line(line))
    assert detected, "the corpus holds only lines detect-secrets flags"
    assert could_hold_a_secret(line)
    assert scan_value("template.system", line)


def test_plain_prose_skips_the_detector():
    from promptctl.review.secrets import could_hold_a_secret

    assert not could_hold_a_secret("You are assistant number 42. Answer: {{ question }}")
