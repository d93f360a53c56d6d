"""The ``eval`` kind: suites are validated like every artifact, their dataset file is part of
their content, and a bad suite is one clear error that changes nothing."""

from __future__ import annotations

import json

import git
import pytest

from promptctl.store import Store
from promptctl.store.releases import all_releases
from tests.conftest import Cli, commit_all
from tests.evals.suites import case, write_suite


def released_keys(cli: Cli) -> set[str]:
    store = Store.open(cli.db)
    try:
        with store.session() as session:
            return {f"{r.kind}/{r.name}@{r.version}" for r in all_releases(session)}
    finally:
        store.dispose()


def test_a_suite_with_inline_cases_and_a_dataset_is_released(cli: Cli) -> None:
    write_suite(cli.root, cases=[case("inline")],
                rows=[case("from-file"), case("second", question="Refund?")],
                defaults={"assert": [{"type": "max-tokens", "value": 400}]},
                thresholds={"min_pass_rate": 0.9, "max_regressions": 0})
    commit_all(git.Repo(cli.root), "suite")
    assert cli("lint").exit_code == 0
    result = cli("release", "--json")
    assert result.exit_code == 0, result.output
    assert "eval/support-golden@1.0.0" in released_keys(cli)
    shown = json.loads(cli("show", "eval/support-golden", "--json").output)
    content = shown["content"]
    assert [c["name"] for c in content["dataset_cases"]] == ["from-file", "second"]
    assert len(content["dataset_sha256"]) == 64
    assert (cli.root / ".git" / "refs" / "tags" / "eval" / "support-golden").exists() or \
        "eval/support-golden/v1.0.0" in git.Repo(cli.root).git.tag()


def test_the_dataset_bytes_are_part_of_the_content_hash(cli: Cli) -> None:
    repo = git.Repo(cli.root)
    write_suite(cli.root, rows=[case("a")])
    commit_all(repo, "suite")
    assert cli("release").exit_code == 0
    write_suite(cli.root, rows=[case("a"), case("b")])  # only the dataset file changes
    commit_all(repo, "one more case")
    result = cli("release")
    assert result.exit_code == 4
    assert "eval/support-golden@1.0.0 is already released" in result.output
    diff = cli("diff", "HEAD~1", "HEAD")
    assert "eval/support-golden" in diff.output and "case(s) added: b" in diff.output


@pytest.mark.parametrize(("suite", "message"), [
    ({"cases": [case("x", assertions=[{"type": "containz", "value": "x"}])]},
     "unknown assertion type 'containz'"),
    ({"cases": [case("x", custmer="Ann")]}, "sets `custmer`, which prompt/support@1.0.0 does not"),
    ({"cases": [{"name": "x", "vars": {"question": "q"}}]},
     "does not set `customer`, which prompt/support@1.0.0 requires"),
    ({"cases": [case("x", tier=3)]}, "declares it string"),
    ({"rows": [case("ok"), ["not", "an", "object"]]}, "line 2 is not an object"),
    ({"cases": [case("x", assertions=[{"type": "llm-rubric", "value": "polite",
                                       "provider": "grader@^1.0"}])]},
     "judge 'grader@^1.0' is not pinned exactly"),
    ({"cases": [case("x", assertions=[{"type": "llm-rubric", "value": "polite",
                                       "provider": "grader"}])]},
     "judge 'grader' is not pinned exactly"),
])
def test_a_bad_suite_is_one_clear_error_and_releases_nothing(
        cli: Cli, suite: dict, message: str) -> None:
    write_suite(cli.root, **suite)
    commit_all(git.Repo(cli.root), "bad suite")
    lint = cli("lint")
    assert lint.exit_code == 1 and message in " ".join(lint.output.split())
    result = cli("release")
    assert result.exit_code == 2, result.output
    assert "cannot release" in result.output and "Traceback" not in result.output
    assert released_keys(cli) == set()
    assert git.Repo(cli.root).git.tag() == ""


def test_a_suite_of_a_prompt_that_does_not_exist_is_refused(cli: Cli) -> None:
    write_suite(cli.root, prompt="nobody", cases=[case("x")])
    lint = cli("lint")
    assert lint.exit_code == 1 and "evaluates prompt 'nobody', which does not exist" in lint.output


def test_a_promptfoo_tests_file_is_read_as_it_is(cli: Cli) -> None:
    (cli.root / "prompts" / "promptfoo.yaml").write_text(
        "description: moved over from promptfoo\n"
        "tests:\n"
        "  - description: parcel question\n"
        "    vars: {customer: Ann, question: Where is my parcel?}\n"
        "    assert:\n"
        "      - type: icontains\n"
        "        value: parcel\n"
        "      - type: not-contains\n"
        "        value: sorry\n")
    write_suite(cli.root, dataset="promptfoo.yaml", rows=None)
    text = (cli.root / "prompts" / "support-golden.eval.yaml").read_text()
    (cli.root / "prompts" / "support-golden.eval.yaml").write_text(
        text + "dataset: promptfoo.yaml\n")
    assert cli("lint").exit_code == 0
    shown = json.loads(cli("show", "eval/support-golden", "--json").output)
    assert shown["content"]["dataset_cases"][0]["name"] == "parcel question"


def test_a_fresh_database_adopts_a_released_suite_and_its_dataset_from_the_tags(
        cli: Cli, tmp_path) -> None:
    write_suite(cli.root, rows=[case("a"), case("b")])
    commit_all(git.Repo(cli.root), "suite")
    assert cli("release").exit_code == 0
    fresh = Cli(cli.root, f"sqlite:///{tmp_path / 'fresh.db'}")  # same clone, new database
    result = fresh("release")
    assert result.exit_code == 0, result.output
    assert "eval/support-golden@1.0.0" in released_keys(fresh)


def test_a_new_suite_sets_the_prompts_required_variables_and_lints_clean(cli: Cli) -> None:
    result = cli("new", "eval", "support-eval")  # a suite of `support`
    assert result.exit_code == 0, result.output
    assert cli("lint").exit_code == 0
