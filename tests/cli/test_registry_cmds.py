"""The registry commands as a user runs them: output, --json, exit codes, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Cli, commit_all, make_repo


@pytest.fixture
def released_examples(cli: Cli) -> Cli:
    assert cli("release").exit_code == 0
    return cli


def test_init_creates_a_working_registry_from_nothing(tmp_path: Path):
    root = tmp_path / "fresh"
    root.mkdir()
    cli = Cli(root, f"sqlite:///{tmp_path / 'db.sqlite'}")
    result = cli("init")
    assert result.exit_code == 0, result.output
    assert (root / ".git").is_dir()
    assert sorted(p.name for p in (root / "prompts").iterdir()) == [
        "assistant.prompt.yaml", "chat.model.yaml", "docs.index.yaml", "web-search.tool.yaml"]
    assert ".promptctl/" in (root / ".gitignore").read_text()
    assert (root / "promptctl.toml").is_file()
    assert cli("lint").exit_code == 0
    assert "nothing to do" in cli("init").stdout


def test_new_creates_a_valid_file_of_each_kind(tmp_path: Path):
    repo = make_repo(tmp_path / "r")
    cli = Cli(Path(repo.working_tree_dir), f"sqlite:///{tmp_path / 'db.sqlite'}")
    for kind, name in (("model", "chat"), ("tool", "lookup"), ("index", "docs"),
                       ("prompt", "greeter")):
        result = cli("new", kind, name)
        assert result.exit_code == 0, result.output
        assert f"prompts/{name}.{kind}.yaml" in result.stdout
    assert "model: chat@0.1.0" in (cli.root / "prompts/greeter.prompt.yaml").read_text()
    assert cli("lint").exit_code == 0


@pytest.mark.parametrize(("args", "code", "message"), [
    (("new", "agent", "x"), 2, "unknown kind 'agent'"),
    (("new", "model", "Bad Name"), 2, "not a valid name"),
    (("new", "model", "support-chat"), 4, "already exists"),
])
def test_new_refuses_bad_input(cli: Cli, args: tuple[str, ...], code: int, message: str):
    result = cli(*args)
    assert result.exit_code == code and message in result.stderr


def test_new_prompt_needs_a_model(tmp_path: Path):
    repo = make_repo(tmp_path / "r")
    cli = Cli(Path(repo.working_tree_dir), f"sqlite:///{tmp_path / 'db.sqlite'}")
    result = cli("new", "prompt", "p")
    assert result.exit_code == 2 and "create one first" in result.stderr


def test_lint_passes_on_the_example_registry(cli: Cli):
    result = cli("lint")
    assert result.exit_code == 0
    assert "6 artifact(s) checked: 0 error(s), 0 warning(s)" in result.stdout


def test_lint_fails_with_exit_1_and_names_file_field_and_fix(cli: Cli):
    path = cli.root / "prompts/support-chat.model.yaml"
    path.write_text(path.read_text() + "temprature: 0.1\n")
    result = cli("lint", "--json")
    assert result.exit_code == 1
    finding = json.loads(result.stdout)["findings"][0]
    assert finding | {"fix": None} == {
        "severity": "error", "code": "unknown-field", "path": "prompts/support-chat.model.yaml",
        "field": "temprature", "message": "unknown field", "fix": None}


def test_lint_strict_fails_on_warnings(cli: Cli):
    path = cli.root / "prompts/summarize-ticket.prompt.yaml"
    unused = "variables:\n  tone: {type: string}\n"
    path.write_text(path.read_text().replace("variables:\n", unused))
    assert cli("lint").exit_code == 0
    assert cli("lint", "--strict").exit_code == 1


def test_list_shows_released_and_draft_versions(released_examples: Cli):
    path = released_examples.root / "prompts/support.prompt.yaml"
    path.write_text(path.read_text().replace("version: 1.0.0", "version: 1.1.0"))
    rows = json.loads(released_examples("list", "--kind", "prompt", "--json").stdout)
    support = next(r for r in rows if r["name"] == "support")
    assert support | {"description": None} == {
        "kind": "prompt", "name": "support", "latest": "1.1.0", "released": ["1.0.0"],
        "draft": "1.1.0", "description": None}
    assert {r["kind"] for r in rows} == {"prompt"}


def test_show_has_content_refs_fingerprint_and_release_metadata(released_examples: Cli):
    data = json.loads(released_examples("show", "support", "--json").stdout)
    assert data["version"] == "1.0.0" and data["released"] is True
    assert data["refs"] == ["model/support-chat@1.0.0", "tool/search-kb@1.0.0",
                            "tool/create-ticket@1.0.0", "index/kb-docs@1.0.0"]
    assert len(data["fingerprint"]) == 64
    assert data["release"]["tag"] == "prompt/support/v1.0.0"
    assert data["release"]["author"] == "Test Author <author@example.com>"
    human = released_examples("show", "support@1.0.0").stdout
    assert "fingerprint:" in human and data["fingerprint"] in human


def test_show_fingerprint_is_stable_across_databases(released_examples: Cli, tmp_path: Path):
    other = Cli(released_examples.root, f"sqlite:///{tmp_path / 'other.db'}")
    a = json.loads(released_examples("show", "support", "--json").stdout)["fingerprint"]
    b = json.loads(other("show", "support", "--json").stdout)["fingerprint"]
    assert a == b


@pytest.mark.parametrize(("spec", "code", "message"), [
    ("nope", 3, "no artifact named 'nope'"),
    ("support@9.9.9", 3, "prompt support@9.9.9 not found (versions: 1.0.0)"),
    ("support@latest", 2, "not a semver 2.0 version"),
    ("widget/support", 2, "unknown kind 'widget'"),
])
def test_show_errors(released_examples: Cli, spec: str, code: int, message: str):
    result = released_examples("show", spec)
    assert result.exit_code == code and message in result.stderr
    assert "Traceback" not in result.output


def test_show_asks_which_kind_when_a_name_is_shared(released_examples: Cli):
    text = (released_examples.root / "prompts/search-kb.tool.yaml").read_text()
    (released_examples.root / "prompts/support.tool.yaml").write_text(
        text.replace("search-kb", "support"))
    result = released_examples("show", "support")
    assert result.exit_code == 2 and "prompt/support, tool/support" in result.stderr
    assert released_examples("show", "tool/support").exit_code == 0


def test_render_prints_typed_messages(released_examples: Cli):
    result = released_examples("render", "support", "--var", "customer=Ann",
                               "--var", "question=Where?", "--var", "tier=premium", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [m["role"] for m in data["messages"]] == ["system", "user"]
    assert "premium plan" in data["messages"][0]["content"]
    assert data["messages"][1]["content"] == "Customer Ann asks:\nWhere?\n"
    assert data["model"] == "gpt-4o-mini-2024-07-18"


def test_render_typed_cli_values(released_examples: Cli):
    ok = released_examples("render", "summarize-ticket", "--var", "transcript=hi",
                           "--var", "max_words=5", "--json")
    assert "at most 5 words" in json.loads(ok.stdout)["messages"][1]["content"]
    bad = released_examples("render", "summarize-ticket", "--var", "transcript=hi",
                            "--var", "max_words=x")
    assert bad.exit_code == 2 and "--var max_words: value 'x' is not a valid integer" in bad.stderr


@pytest.mark.parametrize(("args", "message"), [
    (("--var", "customer=Ann"), "missing required variable(s): question"),
    (("--var", "customer=Ann", "--var", "question=q", "--var", "mood=x"),
     "undeclared variable(s): mood"),
    (("--var", "customer"), "write it as name=value"),
])
def test_render_variable_errors(released_examples: Cli, args: tuple[str, ...], message: str):
    result = released_examples("render", "support", *args)
    assert result.exit_code == 2 and message in result.stderr


def test_render_of_a_draft_works_before_release(cli: Cli):
    result = cli("render", "summarize-ticket", "--var", "transcript=t", "--json")
    assert result.exit_code == 0


def test_history_lists_versions_with_commit_and_author(released_examples: Cli, example_repo):
    rows = json.loads(released_examples("history", "support", "--json").stdout)
    assert len(rows) == 1
    assert rows[0]["commit"] == example_repo.head.commit.hexsha
    assert rows[0]["tag"] == "prompt/support/v1.0.0"


def test_errors_can_be_json(released_examples: Cli):
    result = released_examples("show", "nope", "--json")
    assert result.exit_code == 3
    assert json.loads(result.stdout)["error"] == "not_found"


def test_not_a_git_repository(tmp_path: Path):
    cli = Cli(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    (tmp_path / "prompts").mkdir()
    result = cli("release")
    assert result.exit_code == 3 and "is not inside a git repository" in result.stderr


def test_repository_without_commits(tmp_path: Path):
    repo = make_repo(tmp_path / "r")
    cli = Cli(Path(repo.working_tree_dir), f"sqlite:///{tmp_path / 'db.sqlite'}")
    cli("init")
    result = cli("release")
    assert result.exit_code == 2 and "no commits yet" in result.stderr
    commit_all(repo, "init")
    assert cli("release").exit_code == 0


def test_show_a_draft_whose_ref_is_missing_still_shows_it(cli: Cli):
    path = cli.root / "prompts/summarize-ticket.prompt.yaml"
    path.write_text(path.read_text().replace("support-chat@1.0.0", "support-chat@2.0.0"))
    data = json.loads(cli("show", "summarize-ticket", "--json").stdout)
    assert data["fingerprint"] is None
    assert data["unresolved"] == "model support-chat@2.0.0 not found"
    assert "fingerprint:  unavailable" in cli("show", "summarize-ticket").stdout
