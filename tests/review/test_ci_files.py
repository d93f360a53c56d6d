"""The shipped GitHub workflow and pre-commit hook run what the docs say they run."""

from __future__ import annotations

import shlex

import yaml

from promptctl.review.render import MARKER
from tests.conftest import REPO_ROOT, Cli

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "prompt-review.yml"
HOOKS = REPO_ROOT / ".pre-commit-hooks.yaml"


def test_workflow_runs_diff_check_on_prompt_changes_and_keeps_one_sticky_comment():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    triggers = workflow[True]  # YAML 1.1 reads the `on:` key as True
    assert triggers["pull_request"]["paths"] == ["prompts/**"]
    steps = workflow["jobs"]["review"]["steps"]
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout"))
    assert checkout["with"]["fetch-depth"] == 0
    run = next(s for s in steps if s.get("id") == "diff")["run"]
    assert ('promptctl diff --check --format markdown "origin/${{ github.base_ref }}" HEAD'
            in run)
    script = next(s for s in steps if "github-script" in s.get("uses", ""))["with"]["script"]
    assert f"const marker = '{MARKER}'" in script
    assert "updateComment" in script and "createComment" in script
    assert steps[-1]["if"] == "steps.diff.outputs.exit_code != '0'"


def test_pre_commit_hook_runs_promptctl_lint(cli: Cli):
    [hook] = yaml.safe_load(HOOKS.read_text())
    assert hook["id"] == "promptctl-lint" and hook["pass_filenames"] is False
    program, *args = shlex.split(hook["entry"])
    assert program == "promptctl"
    assert cli(*args).exit_code == 0  # the example registry is clean
