"""Snippets: shared text included by exact pinned ref, part of the bundle and its
fingerprint, in diff and in the semver check (issue 13, part e)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from promptctl import Registry
from promptctl.canonical import canonical_json
from promptctl.errors import RenderError
from promptctl.rollout import Rollouts
from promptctl.state import Snapshot
from promptctl.store import Store
from promptctl.store.snapshot_builder import build_snapshot
from promptctl.store.state_builder import bundle_bytes
from tests.conftest import commit_all
from tests.format_fixtures import bundle_of, load, repo_with

SAFETY = """\
kind: snippet
name: safety
version: 1.0.0
description: the safety policy every agent follows
format: literal
text: {file: safety.md}
"""
SAFETY_TEXT = "Never share personal data.\r\nNever {{ guess }}.\r\n"  # literal: sent as is
PERSONA = """\
kind: snippet
name: persona
version: 1.0.0
description: who the agent is
text: "You are {{ agent }} of Acme.\\n"
"""


def prompt(name: str, include: str, listed: str = "") -> str:
    return f"""\
kind: prompt
name: {name}
version: 1.0.0
description: includes shared text
model: support-chat@1.0.0
{listed}variables:
  agent: {{type: string}}
template:
  system: "{include}Answer briefly."
"""


FILES: dict[str, str | bytes] = {
    "prompts/safety.snippet.yaml": SAFETY,
    "prompts/safety.md": SAFETY_TEXT.encode(),
    "prompts/persona.snippet.yaml": PERSONA,
    "prompts/a.prompt.yaml": prompt("a", '{% include \\"persona@1.0.0\\" %}'
                                         '{% include \\"safety@1.0.0\\" %}'),
    "prompts/b.prompt.yaml": prompt("b", '{% include \\"safety\\" %}{% include \\"persona\\" %}',
                                    "snippets: [safety@1.0.0, persona@1.0.0]\n"),
}
RENDERED = "You are Ann of Acme.\n" + SAFETY_TEXT + "Answer briefly."


def test_included_snippets_render_in_place_with_their_own_bytes(tmp_path: Path) -> None:
    _, cli = repo_with(tmp_path, FILES)
    assert cli("lint").exit_code == 0, cli("lint").output
    assert bundle_of(cli.root, "a").render(agent="Ann")[0]["content"] == RENDERED
    b = bundle_of(cli.root, "b").render(agent="Ann")[0]["content"]
    assert b == SAFETY_TEXT + "You are Ann of Acme.\n" + "Answer briefly."


def test_a_snippet_is_part_of_the_bundle_and_its_fingerprint(tmp_path: Path) -> None:
    _, cli = repo_with(tmp_path, FILES)
    before = bundle_of(cli.root, "a")
    assert [s["name"] for s in before.to_dict()["snippets"]] == ["persona", "safety"]
    (cli.root / "prompts/safety.md").write_bytes(b"Never share personal data.\n")
    after = bundle_of(cli.root, "a")
    assert after.prompt.content_hash() == before.prompt.content_hash()
    assert after.fingerprint != before.fingerprint


@pytest.mark.parametrize(("include", "listed", "message"), [
    ('{% include \\"safety\\" %}', "", "include 'safety' is not pinned"),
    ('{% include \\"safety@^1.0\\" %}', "", "ranges are not allowed"),
    ('{% include \\"gone@1.0.0\\" %}', "", "snippet gone@1.0.0 does not exist"),
    ('{% include x %}', "", "names its snippet as a quoted pinned ref"),
    ("", "snippets: [safety@1.0.0, safety@1.1.0]\n", "listed more than once"),
])
def test_a_bad_include_is_one_line_and_releases_nothing(tmp_path: Path, include: str,
                                                       listed: str, message: str) -> None:
    files = dict(FILES) | {"prompts/c.prompt.yaml": prompt("c", include, listed)}
    _, cli = repo_with(tmp_path, files)
    result = cli("lint")
    assert result.exit_code == 1
    lines = [ln for ln in result.output.splitlines() if "c.prompt.yaml" in ln]
    assert len(lines) == 1 and message in lines[0], result.output
    result = cli("release")
    assert result.exit_code in (2, 3) and "Traceback" not in result.output
    assert not any(r["released"] for r in json.loads(cli("list", "--json").output))


def test_an_include_cycle_is_a_lint_error_and_a_render_error(tmp_path: Path) -> None:
    loop = PERSONA.replace('text: "You are', 'text: "{% include \\"echo@1.0.0\\" %}You are')
    echo = PERSONA.replace("name: persona", "name: echo").replace(
        'text: "You are', 'text: "{% include \\"persona@1.0.0\\" %}You are')
    _, cli = repo_with(tmp_path, dict(FILES) | {"prompts/persona.snippet.yaml": loop,
                                                "prompts/echo.snippet.yaml": echo})
    result = cli("lint")
    assert result.exit_code == 1 and "include cycle: persona@1.0.0 -> echo@1.0.0 -> " \
        "persona@1.0.0" in result.output
    result = cli("render", "a", "--var", "agent=Ann")
    assert result.exit_code == 2 and "include cycle" in result.output
    assert "Traceback" not in result.output


def test_the_sdk_renders_snippets_from_the_snapshot_and_the_state(tmp_path: Path) -> None:
    _, cli = repo_with(tmp_path, FILES)
    assert cli("release").exit_code == 0
    store = Store.open(cli.db)
    try:
        Rollouts(store).promote("production", "a", "1.0.0")
        path = tmp_path / "snapshot.json"
        Snapshot(build_snapshot(store, "production")).save(path)
        with store.session() as session:
            raw = bundle_bytes(session, [("a", "1.0.0")])[("a", "1.0.0")]
    finally:
        store.dispose()
    (cli.root / "prompts").rename(cli.root / "gone")  # the SDK never reads prompts/
    bundle = Registry.from_snapshot(path).get("a", key="user-1")
    assert bundle.render(agent="Ann")[0]["content"] == RENDERED
    assert raw == canonical_json(Snapshot.load(path).resolve("a", "k").bundle.to_dict())
    with pytest.raises(RenderError, match="missing required"):
        bundle.render()


def _bump(path: Path, version: str) -> None:
    text = path.read_text()
    path.write_text(re.sub(r"(?m)^version: .*$", f"version: {version}", text, count=1))


def test_diff_lists_every_prompt_a_snippet_edit_affects(tmp_path: Path) -> None:
    repo, cli = repo_with(tmp_path, FILES)
    (cli.root / "prompts/safety.md").write_bytes(b"Never share any personal data.\r\n")
    commit_all(repo, "edit the safety policy in place")
    result = cli("diff", "HEAD~1", "HEAD", "--check", "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    entry = next(a for a in report["artifacts"] if a["name"] == "safety")
    assert entry["status"] == "changed"
    affected = {a["prompt"]: a for a in report["affected"]}
    assert set(affected) == {"a@1.0.0", "b@1.0.0"}
    for item in affected.values():
        assert item["via"] == "snippet/safety@1.0.0"
        assert item["old_fingerprint"] and item["new_fingerprint"]
        assert item["old_fingerprint"] != item["new_fingerprint"]


def test_check_requires_each_including_prompt_to_bump_with_its_snippet(tmp_path: Path) -> None:
    repo, cli = repo_with(tmp_path, FILES)
    root = cli.root / "prompts"
    (root / "safety.md").write_bytes(b"Never share any data at all.\r\n")
    _bump(root / "safety.snippet.yaml", "1.1.0")
    for name, version in (("a", "1.0.1"), ("b", "1.1.0")):
        text = (root / f"{name}.prompt.yaml").read_text().replace("safety@1.0.0", "safety@1.1.0")
        (root / f"{name}.prompt.yaml").write_text(text)
        _bump(root / f"{name}.prompt.yaml", version)
    commit_all(repo, "safety 1.1.0")
    result = cli("diff", "HEAD~1", "HEAD", "--check", "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    by_name = {a["name"]: a for a in report["artifacts"]}
    assert by_name["safety"]["bump"]["required"] == "minor"
    assert by_name["a"]["bump"]["required"] == "minor"
    assert by_name["b"]["bump"]["required"] == "minor"
    errors = [f for f in report["findings"] if f["severity"] == "error"]
    assert [f["path"] for f in errors] == ["prompts/a.prompt.yaml"], errors
    assert "snippet ref `safety` moved from 1.0.0 to 1.1.0 → minor" in errors[0]["message"]


def test_promptctl_new_snippet_writes_a_valid_file(tmp_path: Path) -> None:
    _, cli = repo_with(tmp_path)
    result = cli("new", "snippet", "policy")
    assert result.exit_code == 0, result.output
    assert not [f for f in load(cli.root).findings if f.severity == "error"]


def test_diff_follows_snippets_included_by_snippets(tmp_path: Path) -> None:
    nested = PERSONA.replace('text: "You are', 'text: "{% include \\"safety@1.0.0\\" %}You are')
    only_persona = prompt("d", '{% include \\"persona@1.0.0\\" %}')
    repo, cli = repo_with(tmp_path, dict(FILES) | {"prompts/persona.snippet.yaml": nested,
                                                   "prompts/d.prompt.yaml": only_persona})
    (cli.root / "prompts/safety.md").write_bytes(b"Never share any personal data.\r\n")
    commit_all(repo, "edit the safety policy in place")
    report = json.loads(cli("diff", "HEAD~1", "HEAD", "--format", "json").output)
    affected = {a["prompt"]: a for a in report["affected"]}
    assert "d@1.0.0" in affected and affected["d@1.0.0"]["via"] == "snippet/safety@1.0.0"
    assert affected["d@1.0.0"]["old_fingerprint"] != affected["d@1.0.0"]["new_fingerprint"]
