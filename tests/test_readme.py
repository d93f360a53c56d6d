"""Every shell block of the README works where the README says it runs.

Each ```` ```bash ```` block is run, in order, with ``bash -e -o pipefail``, the project's
virtualenv first on ``PATH`` and a ``HOME`` of its own (no git identity, no promptctl
settings from the machine), and must exit 0. An HTML comment on the line before a block says
where it runs:

- none: in an empty folder (the tour, the rollout walk-through);
- ``<!-- run in a clone -->``: in a fresh clone of this repository;
- ``<!-- not run: why -->``: illustrative (a PostgreSQL or Unleash host, the set-up that CI
  runs itself).

The only change made to a block is the walk-through's port, 8700, replaced by a free one so
that a server another process left on 8700 cannot make this fail.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.rollout_fixtures import free_port

pytestmark = pytest.mark.slow

README = REPO_ROOT / "README.md"
BLOCK = re.compile(r"^(?P<marker><!--[^\n]*-->\n)?```bash\n(?P<body>.*?)^```$",
                   re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Block:
    line: int
    where: str  # "empty folder" | "clone" | "not run: ..."
    body: str

    def __str__(self) -> str:
        return f"README.md:{self.line} ({self.where})"


def readme_blocks() -> list[Block]:
    text = README.read_text(encoding="utf-8")
    blocks = []
    for match in BLOCK.finditer(text):
        marker = (match["marker"] or "").strip().removeprefix("<!--").removesuffix("-->").strip()
        where = {"": "empty folder", "run in a clone": "clone"}.get(marker, marker)
        assert where in ("empty folder", "clone") or where.startswith("not run:"), \
            f"README.md:{text.count(chr(10), 0, match.start()) + 1}: unknown marker {marker!r}"
        blocks.append(Block(text.count("\n", 0, match.start("body")), where, match["body"]))
    return blocks


RUN = [b for b in readme_blocks() if not b.where.startswith("not run")]


def test_the_tour_the_walk_through_and_the_review_commands_are_run() -> None:
    bodies = "\n".join(b.body for b in RUN)
    for command in ("promptctl new prompt triage", "promptctl rollback assistant",
                    "promptctl diff --check", "promptctl token revoke"):
        assert command in bodies


@pytest.mark.parametrize("block", RUN, ids=str)
def test_a_readme_block_exits_0_where_it_says_it_runs(block: Block, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    cwd = tmp_path / "work"
    if block.where == "clone":
        subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(cwd)], check=True,
                       capture_output=True)
    else:
        cwd.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PROMPTCTL_", "GIT_", "VIRTUAL_ENV"))}
    env |= {"HOME": str(home), "GIT_CONFIG_NOSYSTEM": "1",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}
    script = block.body.replace("8700", str(free_port()))
    process = subprocess.Popen(["bash", "-e", "-o", "pipefail", "-c", script], cwd=cwd,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=300)
    finally:  # a server the block started in the background goes too
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert process.returncode == 0, f"{block} exited {process.returncode}:\n{output}"
    if block.where == "empty folder":  # no documented flow commits a secret (tokens: pct_...)
        for git_dir in cwd.rglob(".git"):
            history = subprocess.run(["git", "log", "--all", "-p"], cwd=git_dir.parent,
                                     capture_output=True, text=True, check=True).stdout
            assert "pct_" not in history, f"{block} committed a token in {git_dir.parent}"
