"""The shipped GitHub workflow and pre-commit hook run what the docs say they run."""

from __future__ import annotations

import shlex

import yaml
from typer.testing import CliRunner

from promptctl.cli.app import app
from promptctl.review.render import MARKER
from tests.conftest import REPO_ROOT, Cli
from tests.review.history import History

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "prompt-review.yml"
HOOKS = REPO_ROOT / ".pre-commit-hooks.yaml"


def test_workflow_runs_diff_check_on_prompt_changes_and_keeps_one_sticky_comment():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the `on:` key as True
    assert triggers["pull_request"]["paths"] == ["prompts/**"]
    steps = workflow["jobs"]["review"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    step = next(s for s in steps if s.get("id") == "diff")
    assert step["env"]["BASE"] == "origin/${{ github.base_ref }}"
    assert 'promptctl diff --check --format markdown --max-chars 0 "$BASE" HEAD' in step["run"]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"] == {"name": "prompt-review", "path": "review-full.md",
                              "if-no-files-found": "ignore"}
    script = next(s for s in steps if "github-script" in s.get("uses", ""))["with"]["script"]
    assert f"const marker = '{MARKER}'" in script
    assert "updateComment" in script and "createComment" in script
    assert "slice(" not in script  # promptctl fits the comment; no cut inside the markdown
    assert steps[-1]["if"] == "steps.diff.outputs.exit_code != '0'"


def workflow_diff_commands() -> list[tuple[list[str], str]]:
    """Each ``promptctl diff`` line of the workflow: its arguments and where its output goes."""
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["review"]["steps"]
    run = next(s for s in steps if s.get("id") == "diff")["run"]
    commands = []
    for line in run.splitlines():
        line = line.strip()
        if line.startswith("promptctl diff"):
            line = line.replace("$BASE", "HEAD~1").replace("$where", "the artifact")
            words = shlex.split(line)
            commands.append((words[2:words.index(next(w for w in words if w in (">", ">>")))],
                             words[-1]))
    return commands


def test_workflow_commands_write_a_full_report_a_summary_and_a_comment_that_fits(git_repo):
    from tests.review.test_markdown_budget import PROMPTS, many_prompts, utf16

    history = History(git_repo, many_prompts())
    history.commit("base")
    for i in range(PROMPTS):
        prompt = history[f"agent-{i:02d}.prompt.yaml"]
        prompt["template"]["system"] = "Be brief. " * 400 + prompt["template"]["system"]
    history.commit("longer, not bumped")  # fails the check: every prompt changed in place
    outputs = {}
    for args, target in workflow_diff_commands():
        result = CliRunner().invoke(app, ["--repo", str(history.root), "diff", *args],
                                    catch_exceptions=False)
        assert result.exit_code == (1 if "--check" in args else 0), result.output
        outputs[target] = result.stdout
    assert set(outputs) == {"review-full.md", "$GITHUB_STEP_SUMMARY", "review.md"}
    assert "Report cut" not in outputs["review-full.md"]
    assert utf16(outputs["review-full.md"]) > 65_536
    comment = outputs["review.md"]
    assert comment.startswith(MARKER) and utf16(comment) <= 65_536
    assert comment.rstrip().endswith("The full report is in the job summary and the artifact.")


def test_pre_commit_hook_runs_promptctl_lint(cli: Cli):
    [hook] = yaml.safe_load(HOOKS.read_text())
    assert hook["id"] == "promptctl-lint" and hook["pass_filenames"] is False
    program, *args = shlex.split(hook["entry"])
    assert program == "promptctl"
    assert cli(*args).exit_code == 0  # the example registry is clean
