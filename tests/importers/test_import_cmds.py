"""``promptctl import markdown|dotprompt|prompty`` (issue 13, part f): what maps, what is
listed as not mapped, idempotence, and bad input that writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from tests.format_fixtures import bundle_of, load, repo_with, write

DOTPROMPT = """\
---
model: googleai/gemini-1.5-flash
config: {temperature: 0.9, maxOutputTokens: 100}
input:
  schema:
    location: string
    style?: string
    tags(array): string
  default: {location: a restaurant}
output:
  format: json
  schema:
    greeting: string, the greeting
tools: [timeOfDay]
---
{{role "system"}}
You are welcoming at {{location}}.
{{#if style}}Style: {{style}}{{/if}}
{{#each tags}}- {{this}}
{{/each}}
{{history}}
{{role "user"}}
Greet {{media url=photo}} now.
"""
PROMPTY = """\
---
name: Basic Prompt
description: A basic prompt
model:
  api: chat
  configuration:
    type: azure_openai
    azure_endpoint: ${env:AZURE_OPENAI_ENDPOINT}
    azure_deployment: gpt-4o
  parameters: {max_tokens: 128, temperature: 0.2}
inputs:
  question: {type: string}
sample: {question: Who?}
---
system:
You are an AI assistant.
user:
{{question}}
"""


def imported(cli, *args: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = cli("import", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)  # type: ignore[no-any-return]


def test_markdown_files_are_used_as_they_are_and_a_rerun_writes_nothing(tmp_path: Path) -> None:
    _, cli = repo_with(tmp_path)
    src = tmp_path / "src"
    system = b"You are helpful.\t\r\nTrailing  \r\n"
    write(src, {"support/system.md": system, "support/user.md": "Hi {{ name }}\n",
                "docs.md": "# Docs {#top}\nUse `{{ a ? b : c }}`\n"})
    first = imported(cli, "markdown", str(src), "--model", "support-chat@1.0.0",
                     "--into", "md", "--prefix", "md-")
    assert first["artifacts"] == ["prompts/md/md-docs.prompt.yaml",
                                  "prompts/md/md-support.prompt.yaml"]
    assert (cli.root / "prompts/md/md-support/system.md").read_bytes() == system
    assert bundle_of(cli.root, "md-docs").prompt.format == "literal"
    messages = bundle_of(cli.root, "md-support").render(name="Ann")
    assert messages[0]["content"].encode() == system and messages[1]["content"] == "Hi Ann\n"
    again = imported(cli, "markdown", str(src), "--model", "support-chat@1.0.0",
                     "--into", "md", "--prefix", "md-")
    assert again["written"] == [] and len(again["unchanged"]) == 5


def test_markdown_under_prompts_is_referenced_in_place(tmp_path: Path) -> None:
    _, cli = repo_with(tmp_path, {"prompts/texts/policy.md": "Be kind.\n"})
    data = imported(cli, "markdown", str(cli.root / "prompts/texts"), "--model",
                    "support-chat@1.0.0")
    assert data["written"] == ["prompts/policy.prompt.yaml"]
    assert bundle_of(cli.root, "policy").prompt.template.messages[0].file == "texts/policy.md"  # type: ignore[index]


def test_dotprompt_maps_what_maps_and_lists_the_rest_in_one_message(tmp_path: Path) -> None:
    _, cli = repo_with(tmp_path)
    write(tmp_path / "dp", {"greet.prompt": DOTPROMPT})
    result = cli("import", "dotprompt", str(tmp_path / "dp"))
    assert result.exit_code == 0, result.output
    notes = [ln for ln in result.output.splitlines() if ln.startswith("not mapped:")]
    assert len(notes) == 1 and "{{media url=photo}}" in notes[0] and "timeOfDay" in notes[0]
    bundle = bundle_of(cli.root, "greet")
    assert bundle.model.provider == "googleai" and bundle.model.params == {
        "temperature": 0.9, "max_tokens": 100}
    assert bundle.prompt.output_schema == {"type": "object", "properties": {
        "greeting": {"type": "string", "description": "the greeting"}}, "required": ["greeting"]}
    messages = bundle.render(tags=["a", "b"], style="warm",
                             history=[{"role": "user", "content": "hello"}])
    assert [m["role"] for m in messages] == ["system", "user", "user"]
    assert messages[0]["content"] == ("You are welcoming at a restaurant.\nStyle: warm\n"
                                      "- a\n- b\n")
    assert messages[1] == {"role": "user", "content": "hello"}
    assert cli("import", "dotprompt", str(tmp_path / "dp")).output.startswith("nothing")


def test_prompty_sections_become_messages_and_connection_settings_stay_out(
        tmp_path: Path) -> None:
    _, cli = repo_with(tmp_path)
    write(tmp_path / "py", {"basic.prompty": PROMPTY})
    data = imported(cli, "prompty", str(tmp_path / "py"))
    assert any("azure_endpoint" in n for n in data["not_mapped"])
    assert any("sample data" in n for n in data["not_mapped"])
    bundle = bundle_of(cli.root, "basic-prompt")
    assert "AZURE" not in json.dumps(bundle.to_dict())
    assert (bundle.model.provider, bundle.model.model) == ("azure_openai", "gpt-4o")
    assert bundle.render(question="Why?") == [
        {"role": "system", "content": "You are an AI assistant."},
        {"role": "user", "content": "Why?"}]


def test_an_import_that_would_overwrite_or_collide_writes_nothing(tmp_path: Path) -> None:
    _, cli = repo_with(tmp_path)
    write(tmp_path / "src", {"support.md": "Hi\n", "other.md": "Yo\n"})
    before = sorted(p.name for p in (cli.root / "prompts").rglob("*"))
    result = cli("import", "markdown", str(tmp_path / "src"), "--model", "support-chat@1.0.0")
    assert result.exit_code == 4
    assert "would overwrite prompts/support.prompt.yaml" in result.output
    result = cli("import", "markdown", str(tmp_path / "src"), "--model", "support-chat@1.0.0",
                 "--into", "legacy")
    assert result.exit_code == 4
    assert "prompt/support@1.0.0 is already defined in prompts/support.prompt.yaml" in \
        result.output
    assert sorted(p.name for p in (cli.root / "prompts").rglob("*")) == before
    result = cli("import", "markdown", str(tmp_path / "src"))
    assert result.exit_code == 2 and "--model" in result.output
    result = cli("import", "prompty", str(tmp_path / "src"))
    assert result.exit_code == 2 and "no Prompty files" in result.output
    write(tmp_path / "bad", {"x.prompty": "---\nname: [unclosed\n---\nuser:\nhi\n"})
    result = cli("import", "prompty", str(tmp_path / "bad"))
    assert result.exit_code == 2 and "front matter" in result.output
    assert "Traceback" not in result.output
    assert not [f for f in load(cli.root).findings if f.severity == "error"]


def test_a_source_file_that_is_not_utf8_text_is_one_line(tmp_path: Path) -> None:
    _, cli = repo_with(tmp_path)
    write(tmp_path / "src", {"latin.md": "caf\xe9\n".encode("latin-1")})
    result = cli("import", "markdown", str(tmp_path / "src"), "--model", "support-chat@1.0.0")
    assert result.exit_code == 2 and "latin.md: is not valid UTF-8" in result.output
    assert "Traceback" not in result.output
