"""A detected secret is never repeated: lint, every diff format, --check and the CI workflow
show its redacted form (``ghp_…(40 chars, sha256:…)``) instead."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import git
import pytest
import yaml

from promptctl.review.secrets import redacted, secret_hash
from tests.conftest import EXAMPLE_PROMPTS, REPO_ROOT, Cli, commit_all

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "prompt-review.yml"

GITHUB = "ghp_R4nd0mT0k3nV4lu3F0rT3st1ngXyZ1234567"
AWS = "AKIAZ3MHQ7X5TPLWQ4RN"
OPENAI = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
       "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")
KEY_BODY = ("MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0",
            "Ab8Gd7xE2lqVb4sQpV0Nn3yBcT9hFmLzWk1pQeRy5dXv2oHjI8gK6tAa4Ls0MfUcZ7nDr3WxYe")
PRIVATE_KEY = ("-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(KEY_BODY)
               + "\n-----END RSA PRIVATE KEY-----")
PASSWORD = "hunter2pass"  # the secret of a basic-auth URL is its password
BASIC_AUTH = f"postgresql://admin:{PASSWORD}@db.internal:5432/kb"
SECRETS = {"github": GITHUB, "aws": AWS, "openai": OPENAI, "jwt": JWT,
           "private key": PRIVATE_KEY, "basic auth": PASSWORD}
NEVER_SHOWN = [GITHUB, AWS, OPENAI, JWT, PASSWORD, *KEY_BODY, PRIVATE_KEY]


def _plant_secrets(root: Path) -> None:
    """One secret in each place a diff shows changed text: template lines, a model
    parameter value and key, metadata, a description and an index URI."""
    prompts = root / "prompts"
    prompt = yaml.safe_load((prompts / "support.prompt.yaml").read_text())
    prompt["version"] = "2.0.0"
    prompt["template"]["system"] += (f"Call the API with {GITHUB} when asked.\n"
                                     f"Sign requests with this key:\n{PRIVATE_KEY}\n")
    prompt["template"]["user"] += f"\nUse the session {JWT} for the order lookup."
    prompt["metadata"] = {"owner": f"team-ai {OPENAI}"}
    (prompts / "support.prompt.yaml").write_text(yaml.safe_dump(prompt, sort_keys=False))
    model = yaml.safe_load((prompts / "support-chat.model.yaml").read_text())
    model["version"] = "1.1.0"
    model["params"]["stop"] = [f"\nAWS {AWS}"]
    model["params"][GITHUB] = 1
    (prompts / "support-chat.model.yaml").write_text(yaml.safe_dump(model, sort_keys=False))
    index = yaml.safe_load((prompts / "kb-docs.index.yaml").read_text())
    index["version"] = "1.1.0"
    index["uri"] = BASIC_AUTH
    index["description"] = f"docs; reader key {AWS}"
    (prompts / "kb-docs.index.yaml").write_text(yaml.safe_dump(index, sort_keys=False))


@pytest.fixture
def leaky(git_repo: git.Repo, tmp_path: Path) -> Cli:
    """The example registry committed, then a commit that plants every kind of secret."""
    root = Path(git_repo.working_tree_dir)
    shutil.copytree(EXAMPLE_PROMPTS, root / "prompts")
    (root / ".gitignore").write_text(".promptctl/\n")
    commit_all(git_repo, "example prompts")
    _plant_secrets(root)
    commit_all(git_repo, "leak")
    return Cli(root, f"sqlite:///{tmp_path / 'registry.db'}")


def _assert_redacted(output: str, expected: list[str]) -> None:
    output = output.replace("\\u2026", "…")  # `lint --json` escapes non-ASCII
    for secret in NEVER_SHOWN:
        assert secret not in output, f"secret {redacted(secret)} printed in full"
    for secret in expected:
        assert redacted(secret) in output, f"{redacted(secret)} missing:\n{output}"


def test_the_redacted_form_shows_a_prefix_the_length_and_a_short_hash():
    assert redacted(GITHUB) == f"ghp_…(40 chars, {secret_hash(GITHUB)})"
    assert secret_hash(GITHUB).startswith("sha256:") and len(secret_hash(GITHUB)) == 19
    assert redacted("hunter2") == "h…(7 chars, " + secret_hash("hunter2") + ")"


def test_lint_shows_each_secret_redacted_never_in_full(leaky: Cli):
    text = leaky("lint")
    as_json = leaky("lint", "--json")
    assert text.exit_code == as_json.exit_code == 1
    for result in (text, as_json):
        _assert_redacted(result.stdout + result.stderr,
                         [GITHUB, AWS, OPENAI, JWT, PRIVATE_KEY, PASSWORD])
    secrets = [f for f in json.loads(as_json.stdout)["findings"] if f["code"] == "secret"]
    keyed = [f for f in secrets if f["field"].startswith("params.ghp_")]
    assert keyed and keyed[0]["field"] == f"params.{redacted(GITHUB)}"


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_diff_shows_secrets_redacted_in_hunks_values_and_findings(leaky: Cli, fmt: str):
    result = leaky("diff", "HEAD~1", "HEAD", "--format", fmt)
    assert result.exit_code == 0
    output = result.stdout + result.stderr
    _assert_redacted(output, [GITHUB, AWS, OPENAI, JWT, PASSWORD])
    assert "-----BEGIN RSA PRIVATE KEY-----" in output  # the header is not the secret
    assert redacted(KEY_BODY[0]) in output  # each line of the block, in the hunk
    if fmt == "json":
        report = json.loads(result.stdout)
        prompt = next(a for a in report["artifacts"] if a["name"] == "support")
        system = next(t for t in prompt["changes"]["templates"] if t["role"] == "system")
        assert f"+Call the API with {redacted(GITHUB)} when asked." in system["diff"]
        assert any(f["code"] == "secret" for f in report["findings"])


def test_diff_check_fails_naming_secrets_only_by_their_redacted_form(leaky: Cli):
    for args in (("HEAD~1", "HEAD"), ("HEAD~1",)):  # a commit, and the working tree
        result = leaky("diff", "--check", *args)
        assert result.exit_code == 1
        _assert_redacted(result.stdout + result.stderr,
                         [GITHUB, AWS, OPENAI, JWT, PRIVATE_KEY, PASSWORD])
        assert "possible secret" in result.stdout


def test_a_removed_secret_is_redacted_from_the_diff_too(leaky: Cli):
    result = leaky("diff", "HEAD", "HEAD~1", "--format", "markdown")
    _assert_redacted(result.stdout + result.stderr, [GITHUB, JWT])


def test_the_workflows_comment_and_job_summary_hold_no_secret(leaky: Cli, tmp_path: Path):
    """Run the workflow's diff step as GitHub would, with promptctl on PATH."""
    repo = git.Repo(leaky.root)
    repo.git.update_ref("refs/remotes/origin/main", repo.commit("HEAD~1").hexsha)
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["review"]["steps"]
    step = next(s for s in steps if s.get("id") == "diff")
    script = step["run"].replace("${{ github.base_ref }}", "main")
    step_env = {k: re.sub(r"\$\{\{[^}]*\}\}", "main", v) for k, v in step["env"].items()}
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    env = {**os.environ, **step_env, "GITHUB_STEP_SUMMARY": str(summary),
           "GITHUB_OUTPUT": str(outputs),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PROMPTCTL_DB": leaky.db}
    proc = subprocess.run(["bash", "-e", "-c", script], cwd=leaky.root, env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "exit_code=1" in outputs.read_text()
    comment = (leaky.root / "review.md").read_text()
    for report in (comment, summary.read_text(), (leaky.root / "review-full.md").read_text()):
        _assert_redacted(report, [GITHUB, JWT, OPENAI, AWS, PASSWORD])
    _assert_redacted(proc.stdout + proc.stderr, [])  # the job log
    assert "possible secret" in comment
