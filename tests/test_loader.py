"""Validation: every problem names the file, the field and the fix."""

from __future__ import annotations

import textwrap

import pytest

from promptctl.findings import Finding
from promptctl.loader import check_refs, load_sources

MODEL = """\
kind: model
name: chat
version: 1.0.0
description: chat model
provider: openai
model: gpt-4o-mini
params: {temperature: 0.2}
"""
PROMPT = """\
kind: prompt
name: support
version: 1.0.0
description: support agent
model: chat@1.0.0
variables:
  customer: {type: string}
template:
  system: You help.
  user: "Hello from {{ customer }}"
"""


def lint(*files: tuple[str, str]) -> list[Finding]:
    result = load_sources([(p, textwrap.dedent(t)) for p, t in files])
    return result.findings + check_refs(result.artifacts)


def only(findings: list[Finding], severity: str = "error") -> Finding:
    matching = [f for f in findings if f.severity == severity]
    assert len(matching) == 1, findings
    return matching[0]


def test_valid_registry_has_no_findings():
    assert lint(("chat.model.yaml", MODEL), ("support.prompt.yaml", PROMPT)) == []


def test_unknown_kind():
    f = only(lint(("x.model.yaml", MODEL.replace("kind: model", "kind: agent"))))
    assert (f.code, f.path, f.field) == ("unknown-kind", "x.model.yaml", "kind")
    assert "use one of: prompt, model, tool, index" in f.fix


def test_kind_must_match_file_suffix():
    f = only(lint(("chat.tool.yaml", MODEL)))
    assert f.code == "kind-suffix" and "rename the file to *.model.yaml" in f.fix


@pytest.mark.parametrize("name", ["Chat", "-chat", "chat bot", "c" * 65])
def test_bad_name(name: str):
    f = only(lint(("chat.model.yaml", MODEL.replace("name: chat", f"name: '{name}'"))))
    assert f.field == "name" and "not a valid name" in f.message


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "01.0.0", "latest"])
def test_invalid_semver(version: str):
    f = only(lint(("chat.model.yaml", MODEL.replace("version: 1.0.0", f"version: '{version}'"))))
    assert f.field == "version" and "not a semver 2.0 version" in f.message


def test_duplicate_kind_name_version_in_tree():
    f = only(lint(("a/chat.model.yaml", MODEL), ("b/chat.model.yaml", MODEL)))
    assert f.code == "duplicate" and f.path == "b/chat.model.yaml"
    assert "also defined in a/chat.model.yaml" in f.message


def test_unknown_field_lists_allowed_fields():
    f = only(lint(("chat.model.yaml", MODEL + "temprature: 0.3\n")))
    assert (f.code, f.field) == ("unknown-field", "temprature")
    assert "allowed: kind, name, version" in f.fix


def test_missing_field():
    f = only(lint(("chat.model.yaml", MODEL.replace("provider: openai\n", ""))))
    assert (f.code, f.field) == ("missing-field", "provider")


def test_ref_that_does_not_exist_suggests_known_versions():
    f = only(lint(("chat.model.yaml", MODEL),
                  ("support.prompt.yaml", PROMPT.replace("chat@1.0.0", "chat@1.1.0"))))
    assert f.code == "unknown-ref" and "model chat@1.1.0 does not exist" in f.message
    assert f.fix == "pin one of: 1.0.0"


@pytest.mark.parametrize("ref", ["chat", "chat@^1.0.0", "chat@1.0"])
def test_ref_not_pinned_exactly(ref: str):
    f = only(lint(("support.prompt.yaml", PROMPT.replace("chat@1.0.0", ref))))
    assert f.field == "model" and "not pinned exactly" in f.message


def test_template_that_does_not_parse():
    bad = PROMPT.replace("Hello from {{ customer }}", "Hello {% if customer %}")
    f = only(lint(("chat.model.yaml", MODEL), ("support.prompt.yaml", bad)))
    assert f.code == "template-syntax" and f.field == "template.user"
    assert "line 1" in f.message


def test_template_using_undeclared_variable():
    bad = PROMPT.replace("{{ customer }}", "{{ customer }} about {{ order_id }}")
    f = only(lint(("chat.model.yaml", MODEL), ("support.prompt.yaml", bad)))
    assert f.code == "undeclared-variable" and "`order_id`" in f.message
    assert "declare it" in f.fix


def test_declared_variable_never_used_is_a_warning():
    extra = PROMPT.replace("  customer: {type: string}\n",
                           "  customer: {type: string}\n  tone: {type: string}\n")
    findings = lint(("chat.model.yaml", MODEL), ("support.prompt.yaml", extra))
    f = only(findings, "warning")
    assert f.code == "unused-variable" and f.field == "variables.tone"
    assert not [x for x in findings if x.severity == "error"]


def test_loop_variables_are_not_undeclared():
    loop = PROMPT.replace("Hello from {{ customer }}",
                          "{% for c in customer %}{{ loop.index }}{{ c }}{% endfor %}")
    assert lint(("chat.model.yaml", MODEL), ("support.prompt.yaml", loop)) == []


def test_invalid_json_schema_in_tool():
    tool = """\
    kind: tool
    name: search
    version: 1.0.0
    description: search
    parameters: {type: object, properties: {query: {type: text}}}
    """
    f = only(lint(("search.tool.yaml", tool)))
    assert f.field == "parameters" and "invalid JSON Schema" in f.message


def test_invalid_output_schema():
    bad = PROMPT + "output_schema: {type: object, required: answer}\n"
    f = only(lint(("chat.model.yaml", MODEL), ("support.prompt.yaml", bad)))
    assert f.field == "output_schema" and "invalid JSON Schema" in f.message


def test_yaml_syntax_error_and_duplicate_keys():
    f = only(lint(("chat.model.yaml", MODEL + "params: [unclosed\n")))
    assert f.code == "yaml" and "line" in f.message
    f = only(lint(("chat.model.yaml", MODEL + "model: gpt-4o\n")))
    assert f.code == "yaml" and "'model' appears twice" in f.message


def test_all_problems_are_reported_at_once():
    findings = lint(("a.model.yaml", "kind: nope\n"), ("b.model.yaml", "- a list\n"),
                    ("c.model.yaml", MODEL.replace("1.0.0", "1")))
    assert {f.path for f in findings} == {"a.model.yaml", "b.model.yaml", "c.model.yaml"}


def test_finding_reads_as_one_line_with_the_fix():
    f = only(lint(("chat.model.yaml", MODEL + "temprature: 0.3\n")))
    assert str(f).startswith("chat.model.yaml: temprature: unknown field (fix: remove it")
    assert "\n" not in str(f)
