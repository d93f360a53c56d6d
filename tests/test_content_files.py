"""Prompt text in its own file, byte fidelity and literal text (issue 13, part b)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from promptctl.loader import content_path
from tests.conftest import commit_all
from tests.format_fixtures import bundle_of, load, repo_with

# Every byte a YAML `|` block cannot hold: a BOM, CRLF, tabs, trailing spaces.
HOSTILE = "\ufeffYou are Acme's agent.\t \r\n\r\nAnswer briefly.  \r\n\tCite sources.\r\n"
FILE_PROMPT = """\
kind: prompt
name: filed
version: 1.0.0
description: text in its own files
model: support-chat@1.0.0
variables:
  question: {type: string}
template:
  messages:
    - {role: system, content: {file: filed/system.md}}
    - {role: user, content: {file: filed/user.md}}
"""
USER = "Question:\t{{ question }}  \r\nThanks.\r\n"


def filed(tmp_path: Path, **extra: str | bytes):  # type: ignore[no-untyped-def]
    files: dict[str, str | bytes] = {
        "prompts/filed.prompt.yaml": FILE_PROMPT,
        "prompts/filed/system.md": HOSTILE.encode("utf-8"),
        "prompts/filed/user.md": USER.encode("utf-8"),
    }
    files.update(extra)
    return repo_with(tmp_path, files)


def test_file_bytes_survive_from_file_to_render(tmp_path: Path) -> None:
    _, cli = filed(tmp_path)
    messages = bundle_of(cli.root, "filed").render(question="Where?")
    assert messages[0]["content"].encode("utf-8") == HOSTILE.encode("utf-8")
    assert messages[1]["content"] == "Question:\tWhere?  \r\nThanks.\r\n"  # Jinja keeps CRLF
    result = cli("render", "filed", "--var", "question=Where?", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["messages"] == messages


def test_the_file_bytes_are_under_the_content_hash_and_fingerprint(tmp_path: Path) -> None:
    _, cli = filed(tmp_path)
    before = bundle_of(cli.root, "filed")
    (cli.root / "prompts/filed/system.md").write_bytes(HOSTILE.replace("  \r\n", " \r\n")
                                                       .encode("utf-8"))
    after = bundle_of(cli.root, "filed")
    assert before.prompt.content_hash() != after.prompt.content_hash()
    assert before.fingerprint != after.fingerprint
    assert after.prompt.template.messages[0].file == "filed/system.md"  # type: ignore[index]


def test_lint_release_and_show_read_the_file(tmp_path: Path) -> None:
    _, cli = filed(tmp_path)
    assert cli("lint").exit_code == 0
    result = cli("release")
    assert result.exit_code == 0, result.output
    result = cli("show", "filed@1.0.0", "--json")
    content = json.loads(result.output)["content"]
    assert content["template"]["messages"][0] == {"role": "system", "file": "filed/system.md",
                                                  "content": HOSTILE}


def test_release_refuses_an_uncommitted_content_file(tmp_path: Path) -> None:
    _, cli = filed(tmp_path)
    (cli.root / "prompts/filed/user.md").write_text("edited {{ question }}")
    result = cli("release")
    assert result.exit_code == 4
    assert "prompts/filed.prompt.yaml" in result.output and "uncommitted" in result.output
    assert not any(r["released"] for r in json.loads(cli("list", "--json").output))


@pytest.mark.parametrize(("ref", "message"), [
    ("../../etc/passwd", "points outside prompts/"),
    ("../README.md", "points outside prompts/"),
    ("/etc/passwd", "must be a relative path"),
    ("filed/none.md", "does not exist"),
])
def test_a_bad_file_ref_is_one_line_and_releases_nothing(tmp_path: Path, ref: str,
                                                        message: str) -> None:
    text = FILE_PROMPT.replace("filed/user.md", ref)
    _, cli = filed(tmp_path, **{"prompts/filed.prompt.yaml": text})
    result = cli("lint")
    assert result.exit_code == 1
    line = next(ln for ln in result.output.splitlines() if "filed.prompt.yaml" in ln)
    assert message in line and "template.messages.1.content" in line
    assert "Traceback" not in result.output
    assert cli("release").exit_code == 2
    assert not any(r["released"] for r in json.loads(cli("list", "--json").output))


def test_a_content_file_reached_through_a_symlink_is_refused(tmp_path: Path) -> None:
    _, cli = filed(tmp_path)
    os.symlink(cli.root / "prompts/filed/user.md", cli.root / "prompts/link.md")
    os.symlink(cli.root / "prompts/filed", cli.root / "prompts/dir")
    for ref, message in (("link.md", "symbolic link"), ("dir/user.md", "symbolic link")):
        (cli.root / "prompts/filed.prompt.yaml").write_text(
            FILE_PROMPT.replace("filed/user.md", ref))
        findings = [f for f in load(cli.root).findings if f.path == "prompts/filed.prompt.yaml"]
        assert len(findings) == 1 and message in findings[0].message, findings
        assert findings[0].code == "symlink"


def test_writing_the_resolved_field_by_hand_is_refused(tmp_path: Path) -> None:
    text = FILE_PROMPT.replace("content: {file: filed/user.md}",
                               "file: filed/user.md, content: forged")
    _, cli = filed(tmp_path, **{"prompts/filed.prompt.yaml": text})
    findings = [f for f in load(cli.root).findings if f.severity == "error"]
    assert [f.code for f in findings] == ["invalid-field"]
    assert "do not write it" in findings[0].message


def test_content_paths_stay_inside_the_registry() -> None:
    assert content_path("prompts/a/x.prompt.yaml", "b.md", "prompts") == "prompts/a/b.md"
    assert content_path("prompts/a/x.prompt.yaml", "../b.md", "prompts") == "prompts/b.md"
    with pytest.raises(ValueError, match="outside"):
        content_path("prompts/x.prompt.yaml", "../x.md", "prompts")
    with pytest.raises(ValueError, match="outside"):
        content_path("prompts/x.prompt.yaml", "../promptsx/y.md", "prompts")


LITERAL = """\
kind: prompt
name: docs
version: 1.0.0
description: documentation helper whose text shows template syntax
model: support-chat@1.0.0
format: literal
template:
  messages:
    - {role: system, content: {file: docs.md}}
"""
DOC_TEXT = "## Setup {#setup}\n\nVue: `{{ ok ? 'yes' : 'no' }}` and `{{}}`; {% raw %} stays.\n"


def test_literal_text_is_sent_exactly_as_written(tmp_path: Path) -> None:
    _, cli = repo_with(tmp_path, {"prompts/docs.prompt.yaml": LITERAL, "prompts/docs.md": DOC_TEXT})
    assert cli("lint").exit_code == 0
    assert bundle_of(cli.root, "docs").render() == [{"role": "system", "content": DOC_TEXT}]


def test_the_same_text_as_jinja_fails_lint_with_the_literal_fix(tmp_path: Path) -> None:
    jinja = LITERAL.replace("format: literal\n", "")
    _, cli = repo_with(tmp_path, {"prompts/docs.prompt.yaml": jinja, "prompts/docs.md": DOC_TEXT})
    result = cli("lint")
    assert result.exit_code == 1 and "format: literal" in result.output


def test_format_per_message_overrides_the_prompt(tmp_path: Path) -> None:
    text = LITERAL.replace("format: literal\n", "variables: {who: {type: string}}\n").replace(
        "    - {role: system, content: {file: docs.md}}",
        "    - {role: system, content: {file: docs.md}, format: literal}\n"
        "    - {role: user, content: 'Hi {{ who }}'}")
    _, cli = repo_with(tmp_path, {"prompts/docs.prompt.yaml": text, "prompts/docs.md": DOC_TEXT})
    assert bundle_of(cli.root, "docs").render(who="Ann") == [
        {"role": "system", "content": DOC_TEXT}, {"role": "user", "content": "Hi Ann"}]


def test_diff_reads_content_files_from_git_objects(tmp_path: Path) -> None:
    repo, cli = filed(tmp_path)
    (cli.root / "prompts/filed/system.md").write_bytes(b"Be brief.\r\n")
    commit_all(repo, "edit the system text only")
    result = cli("diff", "HEAD~1", "HEAD", "--check", "--format", "json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    entry = next(a for a in report["artifacts"] if a["name"] == "filed")
    assert entry["status"] == "changed"
    assert entry["old"]["content_hash"] != entry["new"]["content_hash"]
    # the working tree is read from disk the same way
    (cli.root / "prompts/filed/system.md").write_bytes(HOSTILE.encode("utf-8"))
    result = cli("diff", "HEAD", "--format", "json")
    entry = next(a for a in json.loads(result.output)["artifacts"] if a["name"] == "filed")
    assert entry["status"] == "changed"
