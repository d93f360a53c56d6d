"""Hostile templates against the real CLI: `render` stops with exit 2 and one line, `lint`
names templates that can never render, and nothing hangs, eats memory or prints a traceback.

The renders run ``python -m promptctl.cli`` in a subprocess with a memory cap and a timeout,
so a missing bound fails the test (MemoryError text or TimeoutExpired) instead of taking the
machine down.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import git
import pytest

from tests.conftest import Cli, commit_all

MEMORY_CAP = 1024**3  # address space of the child; a runaway allocation fails inside it


def hostile_prompt(root: Path, name: str, template: str) -> None:
    (root / f"prompts/{name}.prompt.yaml").write_text(json.dumps({
        "kind": "prompt", "name": name, "version": "1.0.0", "description": "hostile",
        "model": "support-chat@1.0.0",
        "variables": {"x": {"type": "integer", "default": 10}},
        "template": {"user": template},
    }))


@pytest.fixture
def repo(example_repo: git.Repo, tmp_path: Path) -> Cli:
    return Cli(Path(example_repo.working_tree_dir), f"sqlite:///{tmp_path / 'registry.db'}")


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run_cli(cli: Cli, *args: str, timeout_seconds: str = "1") -> tuple[int, str, float]:
    """Exit code, stderr and wall time of ``promptctl ARGS`` in a capped subprocess."""
    env = os.environ | {"PROMPTCTL_RENDER_TIMEOUT_SECONDS": timeout_seconds}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "promptctl.cli", "--repo", str(cli.root), "--db", cli.db, *args],
        capture_output=True, text=True, timeout=60, env=env, preexec_fn=_cap_memory)
    return done.returncode, done.stderr, time.monotonic() - started


@pytest.mark.parametrize(("template", "message"), [
    ("{{ 'a' * 10**10 }}", "'*' would build about 10000000000 characters, more than "
                           "max_render_chars (4194304)"),
    ("{{ x ** 999999999 }}", "'**' would build an integer of about 999999999 digits"),
    ("{{ [1]*100000000 }}", "'*' would build about"),
    ("{% set a = ['a' * 4000000] %}{% set b = [a, a, a, a, a, a, a, a, a, a] %}"
     "{% set c = [b, b, b, b, b, b, b, b, b, b] %}{{ c }}", "max_render_chars"),
    ("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
     "render took longer than 1 s (limit render_timeout_seconds)"),
])
def test_render_of_a_hostile_template_exits_2_with_one_line(repo: Cli, template: str,
                                                            message: str):
    hostile_prompt(repo.root, "hostile", template)
    code, stderr, _ = run_cli(repo, "render", "hostile")
    assert code == 2, stderr
    assert message in stderr
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr


def test_nested_loops_stop_within_about_the_timeout(repo: Cli):
    hostile_prompt(repo.root, "spin", "{% for a in range(100000) %}{% for b in range(100000) %}"
                                      "{% endfor %}{% endfor %}")
    code, stderr, fast = run_cli(repo, "render", "spin", timeout_seconds="0.2")
    code_slow, _, slow = run_cli(repo, "render", "spin", timeout_seconds="2")
    assert code == code_slow == 2 and "longer than 0.2 s" in stderr
    # the second run waits 1.8 s more; start-up costs the same in both
    assert 1.0 < slow - fast < 6.0


def test_render_limits_come_from_the_environment(repo: Cli):
    hostile_prompt(repo.root, "wide", "{{ 'a' * 2000 }}")
    result = repo("render", "wide", env={"PROMPTCTL_MAX_RENDER_CHARS": "1000"})
    assert result.exit_code == 2
    assert "'*' would build about 2000 characters, more than max_render_chars (1000)" in (
        result.stderr)
    assert repo("render", "wide").exit_code == 0


@pytest.mark.parametrize(("template", "message"), [
    ("{% for i in [1] %}" * 25 + "{% endfor %}" * 25,
     "blocks nest 25 deep, more than max_template_nesting (16)"),
    ("{{ " + "(" * 5000 + "x" + ")" * 5000 + " }}", "expression nests 5000 deep"),
    ("{% if x %}" * 5000 + "{% endif %}" * 5000, "template nests too deeply to parse"),
    ("{{ " + " + ".join(["x"] * 5000) + " }}", "template nests too deeply to compile"),
])
def test_lint_diff_and_release_refuse_templates_that_can_never_render(repo: Cli, template: str,
                                                                 message: str):
    commit_all(git.Repo(repo.root), "base")
    hostile_prompt(repo.root, "deep", template)
    commit_all(git.Repo(repo.root), "deep template")
    lint = repo("lint")
    assert lint.exit_code == 1
    assert message in lint.stdout + lint.stderr
    check = repo("diff", "--check", "HEAD~1", "HEAD")
    assert check.exit_code == 1 and message in check.output
    release = repo("release")
    assert release.exit_code == 2 and message in release.stderr
    assert "Traceback" not in lint.output + check.output + release.output
    assert "prompt/deep/v1.0.0" not in [t.name for t in git.Repo(repo.root).tags]
