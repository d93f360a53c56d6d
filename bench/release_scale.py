"""How `promptctl release` grows with registry size (100, 1,000, 5,000 artifacts).

Each size gets a fresh git repository and SQLite database; the timed part is one
full `release` (load + validate + hash + write rows + create tags), run in-process
so interpreter start-up is not counted. Growth is read as the ratio of time per
artifact against the smallest size: ~1.0 means linear, below 1.0 better.

    python bench/release_scale.py [--sizes 100,1000,5000]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

from registry_gen import artifact_contents, write_registry

from promptctl.release import release
from promptctl.workspace import Workspace


def time_release(n: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_registry(root / "prompts", artifact_contents(n))
        git = ["git", "-C", str(root)]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "-c", "user.name=bench", "-c", "user.email=b@x", "commit", "-qm",
                        "registry"], check=True)
        ws = Workspace.open(root, db=f"sqlite:///{root / 'bench.db'}")
        ws.store  # migrate outside the timed part  # noqa: B018
        start = time.perf_counter()
        report = release(ws)
        elapsed = time.perf_counter() - start
        tags = subprocess.run([*git, "tag", "-l"], capture_output=True, text=True, check=True)
        assert len(tags.stdout.split()) == n == len(report.released)
        return elapsed, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,5000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    results = [time_release(n) for n in sizes]
    base_per = results[0][0] / results[0][1]
    print(f"{'artifacts':>9}  {'seconds':>8}  {'ms/artifact':>11}  {'growth vs first':>15}")
    for elapsed, n in results:
        per = elapsed / n
        print(f"{n:>9}  {elapsed:>8.2f}  {per * 1000:>11.2f}  {per / base_per:>15.2f}x")


if __name__ == "__main__":
    main()
