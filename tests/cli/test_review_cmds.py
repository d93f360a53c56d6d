"""``promptctl diff``: formats, --check exit codes, defaults and one-line errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from promptctl.cli.app import app
from tests.conftest import Cli
from tests.review.history import History


@pytest.fixture
def history(git_repo) -> History:
    history = History(git_repo)
    history.commit("base")
    return history


def run(history: History, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--repo", str(history.root), "diff", *args],
                              catch_exceptions=False)


def under_versioned(history: History) -> None:
    history["chat.model.yaml"]["params"]["temperature"] = 0.9
    history["chat.model.yaml"]["version"] = "1.0.1"
    history["support.prompt.yaml"].update(model="chat@1.0.1", version="1.0.1")
    history.commit("under-versioned")


def test_check_fails_with_exit_1_naming_artifact_bumps_and_reason(history):
    under_versioned(history)
    result = run(history, "HEAD~1", "HEAD", "--check")
    assert result.exit_code == 1
    assert "model/chat: declared patch bump (1.0.0 → 1.0.1) but minor is required" in result.stdout
    assert "parameter `temperature` changed from `0.2` to `0.9` → minor" in result.stdout
    assert "check failed" in result.stdout
    assert run(history, "HEAD~1", "HEAD").exit_code == 0  # without --check it only reports


def test_check_passes_with_exit_0_when_versions_follow_the_policy(history):
    history["chat.model.yaml"]["params"]["temperature"] = 0.9
    history["chat.model.yaml"]["version"] = "1.1.0"
    history["support.prompt.yaml"].update(model="chat@1.1.0", version="1.1.0")
    history.commit("versioned right")
    result = run(history, "HEAD~1", "HEAD", "--check")
    assert result.exit_code == 0, result.stdout
    assert "check passed" in result.stdout


def test_json_format_has_the_documented_schema(history):
    under_versioned(history)
    result = run(history, "HEAD~1", "HEAD", "--format", "json")
    data = json.loads(result.stdout)
    assert data["schema_version"] == 1
    assert set(data) == {"schema_version", "base", "head", "summary", "artifacts", "affected",
                         "findings"}
    assert data["head"]["rev"] == "HEAD" and len(data["head"]["commit"]) == 40
    assert data["summary"]["bumped"] == 2 and data["summary"]["passed"] is False
    model = next(a for a in data["artifacts"] if a["name"] == "chat")
    assert model["bump"] == {"declared": "patch", "required": "minor", "reasons": [
        "parameter `temperature` changed from `0.2` to `0.9` → minor"], "override": None}
    assert model["changes"]["params"] == [{"name": "temperature", "old": 0.2, "new": 0.9}]
    prompt = next(a for a in data["artifacts"] if a["name"] == "support")
    assert prompt["old"]["fingerprint"] != prompt["new"]["fingerprint"]
    assert prompt["changes"]["refs"] == [{"name": "model chat", "old": "1.0.0", "new": "1.0.1"}]


def test_markdown_format_starts_with_the_sticky_marker_and_a_summary_table(history):
    under_versioned(history)
    out = run(history, "HEAD~1", "HEAD", "--format", "markdown").stdout
    assert out.startswith("<!-- promptctl-diff -->\n### promptctl diff: ❌ check failed")
    assert "| `model/chat` | bumped | 1.0.0 → 1.0.1 | patch / minor ❌ |" in out
    assert "<details>" in out


def test_defaults_compare_the_merge_base_with_main_to_the_working_tree(history):
    history.repo.git.checkout("-b", "feature")
    history["chat.model.yaml"]["description"] = "uncommitted edit"
    history.write_all()
    data = json.loads(run(history, "--format", "json").stdout)
    assert data["base"]["rev"] == "merge-base(main, HEAD)"
    assert data["head"] == {"rev": "WORKTREE", "commit": None}
    assert [(a["name"], a["status"]) for a in data["artifacts"]] == [("chat", "changed")]


@pytest.mark.parametrize(("args", "code", "message"), [
    (("nope", "HEAD"), 3, "error: unknown git revision 'nope'"),
    (("HEAD", "HEAD~99"), 3, "error: unknown git revision 'HEAD~99'"),
    (("HEAD", "--format", "yaml"), 2, "error: unknown format 'yaml'"),
])
def test_bad_input_is_a_one_line_error(history, args, code, message):
    result = run(history, *args)
    assert result.exit_code == code
    assert result.output.strip().startswith(message)
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_outside_a_git_repository_is_an_error_not_a_traceback(tmp_path):
    result = CliRunner().invoke(app, ["--repo", str(tmp_path), "diff", "HEAD"],
                                catch_exceptions=False)
    assert result.exit_code == 3
    assert result.output.strip() == f"error: {tmp_path} is not inside a git repository"


@pytest.mark.parametrize("args", [(), ("HEAD",), ("HEAD", "WORKTREE"), ("main", "HEAD")])
def test_diff_in_a_repository_without_commits_says_to_commit_first(git_repo, args):
    result = CliRunner().invoke(app, ["--repo", git_repo.working_tree_dir, "diff", *args],
                                catch_exceptions=False)
    assert result.exit_code == 2
    assert result.output.strip() == ("error: the repository has no commits yet: "
                                     "commit your prompts first")


# -- removing or renaming a prompt that an environment serves ----------------------------------


@pytest.fixture
def served(history, tmp_path) -> Cli:
    """support served in production (1.0.0) and staging (1.0.0, canary 1.1.0 at 10%)."""
    cli = Cli(history.root, f"sqlite:///{tmp_path / 'registry.db'}")
    assert cli("release").exit_code == 0
    history["support.prompt.yaml"].update(description="support agent, v2", version="1.1.0")
    history.commit("support 1.1.0")
    assert cli("release").exit_code == 0
    for args in (("1.0.0", "--env", "production"), ("1.0.0", "--env", "staging"),
                 ("1.1.0", "--env", "staging", "--percent", "10")):
        assert cli("promote", "support", *args).exit_code == 0
    return cli


def test_removing_a_served_prompt_fails_the_check_naming_the_environments(history, served):
    history.files.pop("support.prompt.yaml")
    history.commit("drop support")
    result = served("diff", "HEAD~1", "HEAD", "--check")
    assert result.exit_code == 1, result.output
    assert ("prompt/support is removed but production (1.0.0), staging (1.0.0, canary 1.1.0 "
            "at 10%) "
            "still serve(s) it") in " ".join(result.stdout.split())


def test_renaming_a_served_prompt_fails_the_check(history, served):
    history.files["helpdesk.prompt.yaml"] = dict(history.files.pop("support.prompt.yaml"),
                                                 name="helpdesk")
    history.commit("rename support")
    data = json.loads(served("diff", "HEAD~1", "HEAD", "--check", "--format", "json").stdout)
    [finding] = [f for f in data["findings"] if f["code"] == "served-removed"]
    assert finding["severity"] == "error"
    assert finding["message"].startswith("prompt/support is renamed to helpdesk but production")


def test_removing_a_prompt_no_environment_serves_passes(history, tmp_path):
    cli = Cli(history.root, f"sqlite:///{tmp_path / 'registry.db'}")
    assert cli("release").exit_code == 0
    history.files.pop("support.prompt.yaml")
    history.commit("drop support")
    result = cli("diff", "HEAD~1", "HEAD", "--check")
    assert result.exit_code == 0, result.output
    assert "serve" not in result.stdout


def test_without_a_reachable_store_removing_a_prompt_warns_it_could_not_check(history, tmp_path):
    history.files.pop("support.prompt.yaml")
    history.commit("drop support")
    db = tmp_path / "absent.db"
    result = Cli(history.root, f"sqlite:///{db}")("diff", "HEAD~1", "HEAD", "--check")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "prompt/support is removed: could not check whether an environment serves it " \
           f"(no registry database at {db}" in text
    assert not db.exists()  # a read-only check creates no database
    server = CliRunner().invoke(app, ["--repo", str(history.root), "diff", "HEAD~1", "HEAD",
                                      "--check"], env={"PROMPTCTL_URL": "http://127.0.0.1:9",
                                                       "PROMPTCTL_TOKEN": "x"})
    assert server.exit_code == 0
    assert "could not check whether an environment serves it (cannot reach " \
           "http://127.0.0.1:9" in " ".join(server.stdout.split())
