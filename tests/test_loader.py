"""Validation: every problem names the file, the field and the fix."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from promptctl.findings import Finding
from promptctl.limits import Limits
from promptctl.loader import check_refs, load_directory, load_sources

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


# -- hostile content: one finding each, never an exception --------------------------------------


@pytest.mark.parametrize(("extra", "code", "message"), [
    ("metadata:\n  ? [a, b]\n  : 1\n", "yaml-unsupported", "mapping keys must be strings"),
    ("metadata: {x: !!binary aGVsbG8=}\n", "yaml-unsupported", "!!binary is not supported"),
    ("metadata: {1: a, '1': b}\n", "yaml-unsupported", "mapping key '1' is read as !!int"),
    ("metadata: {n: " + "9" * 5000 + "}\n", "yaml-unsupported", "does not fit in 64 bits"),
    ("metadata: {t: .nan}\n", "yaml-unsupported", "not a finite number"),
    ("metadata: {t: -.inf}\n", "yaml-unsupported", "not a finite number"),
])
def test_content_that_is_not_json_data_is_one_finding(extra: str, code: str, message: str):
    f = only(lint(("chat.model.yaml", MODEL.replace("params: {temperature: 0.2}\n", extra))))
    assert f.code == code and message in f.message and "line" in f.message
    assert "\n" not in str(f)


def test_nan_temperature_is_refused_not_released_as_null():
    f = only(lint(("chat.model.yaml", MODEL.replace("0.2", ".nan"))))
    assert "NaN" in f.message and "(line 7, column 23)" in f.message


def test_an_unhashable_kind_is_an_unknown_kind():
    f = only(lint(("x.model.yaml", MODEL.replace("kind: model", "kind: [prompt]"))))
    assert f.code == "unknown-kind" and f.field == "kind"


def test_yaml_merge_keys_are_supported():
    text = MODEL.replace("params: {temperature: 0.2}\n", "metadata:\n  base: &b {team: a}\n"
                         "  more: {<<: *b, owner: b}\n")
    result = load_sources([("chat.model.yaml", text)])
    assert result.findings == []
    assert result.artifacts[0].artifact.metadata["more"] == {"team": "a", "owner": "b"}


def test_an_alias_bomb_is_one_finding():
    from tests.test_yaml_io import alias_bomb

    text = MODEL + "metadata:\n" + "".join(f"  {line}\n" for line in alias_bomb().splitlines())
    f = only(lint(("chat.model.yaml", text)))
    assert f.code == "too-large" and "YAML nodes" in f.message


@pytest.mark.parametrize(("data", "message"), [
    (MODEL.replace("chat model", "caf\xe9").encode("latin-1"), "not valid UTF-8"),
    (MODEL.encode("utf-16"), "UTF-16"),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00", "NUL byte"),
])
def test_bytes_that_are_not_utf8_text_are_one_finding(data: bytes, message: str):
    f = only(load_sources([("chat.model.yaml", data)]).findings)
    assert f.code == "not-text" and message in f.message and "UTF-8" in f.fix


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", "a..b", "git refuses '..'"),
    ("name", "evil.lock", "git refuses"),
    ("name", '"chat\\n"', "not a valid name"),
    ("version", "1.0.0+x.lock", "ends with '.lock'"),
    ("version", "1.0.0-" + "a" * 200, "at most 128 are allowed"),
])
def test_names_and_versions_git_or_the_store_refuse(field: str, value: str, message: str):
    text = MODEL.replace(f"{field}: {'chat' if field == 'name' else '1.0.0'}",
                         f"{field}: {value}", 1)
    f = only(lint(("x.model.yaml", text)))
    assert f.field == field and message in f.message
    assert "\n" not in str(f)


def test_refs_in_prompts_get_the_same_checks():
    f = only(lint(("support.prompt.yaml", PROMPT.replace("chat@1.0.0", "chat@1.0.0+x.lock"))))
    assert f.field == "model" and ".lock" in f.message


# -- limits -------------------------------------------------------------------------------------


def test_a_file_over_the_size_limit_is_refused_before_parsing():
    limits = Limits(max_file_bytes=100)
    f = only(load_sources([("chat.model.yaml", MODEL)], limits).findings)
    assert f.code == "too-large" and "more than the limit of 100 bytes" in f.message
    assert "PROMPTCTL_MAX_FILE_BYTES" in f.fix


def test_a_template_over_the_size_limit_is_refused():
    big = PROMPT.replace("You help.", "x" * 300)
    limits = Limits(max_template_bytes=200)
    f = only(load_sources([("support.prompt.yaml", big)], limits).findings)
    assert (f.code, f.field) == ("too-large", "template.system")
    assert "PROMPTCTL_MAX_TEMPLATE_BYTES" in f.fix


def test_the_yaml_limits_come_from_limits():
    f = only(load_sources([("chat.model.yaml", MODEL)], Limits(max_yaml_nodes=5)).findings)
    assert "more than 5 YAML nodes" in f.message


# -- files on disk ------------------------------------------------------------------------------


def write(root: Path, rel: str, text: str = MODEL) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_symlinked_files_are_refused_and_never_read(tmp_path: Path):
    outside = write(tmp_path, "outside/secret.model.yaml",
                    MODEL.replace("name: chat", "name: secret"))
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts/secret.model.yaml").symlink_to(outside)
    result = load_directory(tmp_path / "prompts", relative_to=tmp_path)
    f = only(result.findings)
    assert (f.code, f.path) == ("symlink", "prompts/secret.model.yaml")
    assert "never follows links" in f.message and result.artifacts == []


def test_symlinked_folders_are_refused_and_never_walked(tmp_path: Path):
    write(tmp_path, "outside/secret.model.yaml")
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts/shared").symlink_to(tmp_path / "outside", target_is_directory=True)
    result = load_directory(tmp_path / "prompts", relative_to=tmp_path)
    assert [(f.code, f.path) for f in result.findings] == [("symlink", "prompts/shared")]
    assert result.artifacts == []


def test_a_symlinked_registry_folder_is_refused(tmp_path: Path):
    write(tmp_path, "outside/chat.model.yaml")
    (tmp_path / "prompts").symlink_to(tmp_path / "outside", target_is_directory=True)
    f = only(load_directory(tmp_path / "prompts", relative_to=tmp_path).findings)
    assert (f.code, f.path) == ("symlink", "prompts")


def test_other_symlinks_are_ignored(tmp_path: Path):
    write(tmp_path, "README.md", "read me")
    write(tmp_path, "prompts/chat.model.yaml")
    (tmp_path / "prompts/README.md").symlink_to(tmp_path / "README.md")
    result = load_directory(tmp_path / "prompts", relative_to=tmp_path)
    assert result.findings == [] and len(result.artifacts) == 1


@pytest.mark.parametrize(("name", "fix"), [
    ("chat.model.yml", "rename it to chat.model.yaml"),
    ("chat.MODEL.YAML", "rename it to chat.model.yaml"),
    ("Chat.Model.Yaml", "rename it to Chat.model.yaml"),
    ("sub/chat.prompt.YML", "rename it to chat.prompt.yaml"),
])
def test_an_almost_right_suffix_is_an_error_not_silently_skipped(
        tmp_path: Path, name: str, fix: str):
    write(tmp_path, f"prompts/{name}")
    f = only(load_directory(tmp_path / "prompts", relative_to=tmp_path).findings)
    assert f.code == "wrong-suffix" and f.path == f"prompts/{name}" and f.fix == fix
    assert "would be skipped" in f.message


def test_a_file_over_the_size_limit_is_not_read(tmp_path: Path):
    write(tmp_path, "prompts/chat.model.yaml", MODEL + "#" * 2000 + "\n")
    f = only(load_directory(tmp_path / "prompts", relative_to=tmp_path,
                            limits=Limits(max_file_bytes=1000)).findings)
    assert f.code == "too-large" and f.path == "prompts/chat.model.yaml"


def test_a_fifo_with_an_artifact_name_is_refused_without_blocking(tmp_path: Path):
    (tmp_path / "prompts").mkdir()
    os.mkfifo(tmp_path / "prompts/chat.model.yaml")
    f = only(load_directory(tmp_path / "prompts", relative_to=tmp_path).findings)
    assert f.code == "not-a-file"
