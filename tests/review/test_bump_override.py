"""An author may declare a smaller bump with a reason: in the file (a YAML comment, so the
content hash does not change) or in a commit trailer. ``--check`` then warns instead of
failing, and the report carries the override (for ``release`` to record)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from promptctl.cli.app import app
from promptctl.loader import parse_document
from promptctl.review.semver_policy import BumpOverride, declared_override
from tests.conftest import commit_all
from tests.review.history import History

COMMENT = '# promptctl: bump=patch reason="clarifies wording, same behaviour"\n'


@pytest.fixture
def history(git_repo) -> History:
    history = History(git_repo)
    history.commit("base")
    return history


def reword(history: History, comment: str = "", message: str = "reword") -> None:
    """A reworded system template (minor required) released as a patch."""
    prompt = history["support.prompt.yaml"]
    prompt["template"]["system"] = "You are a support agent who answers from the docs.\n"
    prompt["version"] = "1.0.1"
    history.write_all()
    path = history.root / "prompts" / "support.prompt.yaml"
    path.write_text(comment + path.read_text(), encoding="utf-8")
    commit_all(history.repo, message)


def check(history: History, fmt: str = "text"):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["--repo", str(history.root), "diff", "HEAD~1", "HEAD",
                                    "--check", "--format", fmt], env={"COLUMNS": "300"},
                              catch_exceptions=False)


def test_without_an_override_a_too_small_bump_fails(history):
    reword(history)
    result = check(history)
    assert result.exit_code == 1 and "declared patch bump (1.0.0 → 1.0.1) but minor" in \
        result.stdout


def test_an_override_comment_in_the_file_turns_the_failure_into_a_warning(history):
    reword(history, COMMENT)
    result = check(history)
    assert result.exit_code == 0, result.stdout
    assert "warning prompts/support.prompt.yaml" in result.stdout
    assert ("accepted as patch by the author's override (file): clarifies wording, same "
            "behaviour") in result.stdout
    data = json.loads(check(history, "json").stdout)
    [item] = data["artifacts"]
    assert item["bump"]["override"] == {"level": "patch", "source": "file",
                                        "reason": "clarifies wording, same behaviour"}
    assert [f["code"] for f in data["findings"]] == ["bump-override"]
    assert "patch / minor ⚠️ override" in check(history, "markdown").stdout


def test_the_override_comment_does_not_change_the_content_hash(history):
    path = history.root / "prompts" / "support.prompt.yaml"
    text = path.read_text()
    plain, _ = parse_document("support.prompt.yaml", text)
    commented, _ = parse_document("support.prompt.yaml", COMMENT + text)
    assert plain.content_hash() == commented.content_hash()


def test_a_commit_trailer_declares_the_override(history):
    reword(history, message="reword\n\nPromptctl-Bump: prompt/support patch: wording only\n")
    result = check(history)
    assert result.exit_code == 0, result.stdout
    commit = history.repo.head.commit.hexsha[:10]
    assert f"override (commit {commit}): wording only" in result.stdout


def test_a_comment_left_from_an_earlier_change_does_not_excuse_the_next(history):
    reword(history, COMMENT)
    prompt = history["support.prompt.yaml"]
    prompt["template"]["user"] = "Customer {{ customer }} asks about {{ order_id }} today."
    prompt["version"] = "1.0.2"
    history.write_all()
    path = history.root / "prompts" / "support.prompt.yaml"
    path.write_text(COMMENT + path.read_text(), encoding="utf-8")  # the same, older comment
    commit_all(history.repo, "another edit")
    assert check(history).exit_code == 1


def test_an_override_never_excuses_a_bump_below_what_it_declares(history):
    reword(history, '# promptctl: bump=minor reason="new wording"\n')
    result = check(history)
    assert result.exit_code == 1 and "but minor is required" in result.stdout


@pytest.mark.parametrize("comment", ['# promptctl: bump=patch\n',
                                     '# promptctl: bump=tiny reason="x"\n',
                                     '# promptctl: bump=patch reason=""\n'])
def test_a_malformed_override_is_an_error_not_a_traceback(history, comment):
    reword(history, comment)
    result = check(history)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "malformed override comment" in result.stdout


def test_declared_override_reads_the_file_first_then_the_commits():
    trailer = [("abc1234567890", "x\n\nPromptctl-Bump: tool/search-kb minor: schema docs\n")]
    assert declared_override("tool/search-kb", "kind: tool\n", None, trailer) == \
        BumpOverride("minor", "schema docs", "commit abc1234567")
    assert declared_override("tool/search-kb", COMMENT, None, trailer) == \
        BumpOverride("patch", "clarifies wording, same behaviour", "file")
    assert declared_override("tool/search-kb", COMMENT, COMMENT, []) is None
    assert declared_override("prompt/other", "kind: prompt\n", None, trailer) is None


def _released_through_cli(history: History, *args: str):  # type: ignore[no-untyped-def]
    db = f"sqlite:///{history.root.parent / 'registry.db'}"
    return CliRunner().invoke(app, ["--repo", str(history.root), "--db", db, *args],
                              env={"COLUMNS": "300"}, catch_exceptions=False)


def test_release_records_the_declared_override_and_show_and_history_report_it(history):
    assert _released_through_cli(history, "release").exit_code == 0
    reword(history, COMMENT)
    assert _released_through_cli(history, "release").exit_code == 0
    shown = json.loads(_released_through_cli(history, "show", "support@1.0.1", "--json").stdout)
    assert shown["release"]["bump_override"] == \
        "patch (file): clarifies wording, same behaviour"
    rows = json.loads(_released_through_cli(history, "history", "support", "--json").stdout)
    assert [r["bump_override"] for r in rows] == \
        [None, "patch (file): clarifies wording, same behaviour"]
    human = _released_through_cli(history, "history", "support").stdout
    assert "1.0.1: declared patch (file): clarifies wording, same behaviour" in human


def test_release_records_an_override_from_a_commit_trailer(history):
    assert _released_through_cli(history, "release").exit_code == 0
    reword(history, message="reword\n\nPromptctl-Bump: prompt/support patch: typo-level edit")
    assert _released_through_cli(history, "release").exit_code == 0
    shown = json.loads(_released_through_cli(history, "show", "support@1.0.1", "--json").stdout)
    assert shown["release"]["bump_override"].startswith("patch (commit ")
    assert shown["release"]["bump_override"].endswith("): typo-level edit")


def test_a_version_without_an_override_records_none(history):
    assert _released_through_cli(history, "release").exit_code == 0
    shown = json.loads(_released_through_cli(history, "show", "support@1.0.0", "--json").stdout)
    assert shown["release"]["bump_override"] is None
