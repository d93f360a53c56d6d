"""How `promptctl diff` grows with registry size (100, 1,000, 5,000 artifacts, 1% changed).

Each size gets a fresh git repository with two commits: the synthetic registry,
then 1% of its artifacts changed (prompt templates reworded with a minor bump,
model parameters tuned with a minor bump). The timed part is one full
``diff_revisions`` between the two commits (list both trees, read every blob
from git, parse and validate both sides, pair, apply the semver policy, lint
the changed artifacts, fingerprint the changed prompts) with the parse cache
cleared first, run in-process so interpreter start-up is not counted; the
end-to-end ``promptctl diff --check`` process is timed too for the largest size.
Growth is the ratio of time per artifact against the smallest size: ~1.0 means
linear, below 1.0 better.

    python bench/diff_scale.py [--sizes 100,1000,5000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from registry_gen import artifact_contents, write_registry

from promptctl.review import git_source
from promptctl.review.diff import diff_revisions
from promptctl.review.git_source import resolve_revision
from promptctl.review.secrets import scan_value

TARGET_SECONDS = 3.0


def build_history(root: Path, n: int) -> int:
    """Commit a registry of ``n`` artifacts, then a commit changing 1% of them."""
    contents = artifact_contents(n)
    write_registry(root / "prompts", contents)
    git = ["git", "-C", str(root)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    commit = [*git, "-c", "user.name=bench", "-c", "user.email=b@x", "commit", "-qm"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*commit, "registry"], check=True)
    step = 100
    for i, data in enumerate(contents):
        if i % step != step - 1:
            continue
        if data["kind"] == "prompt":
            data["template"]["system"] += " Be brief."
        elif data["kind"] == "model":
            data["params"]["temperature"] = 0.3
        else:
            data["description"] += " (reviewed)"
        data["version"] = "1.1.0" if data["kind"] in ("prompt", "model") else "1.0.1"
    changed_names = {d["name"] for d in contents if d["version"] != "1.0.0"}
    # prompts pin exact versions: keep their refs pointing at versions that exist
    for data in contents:
        if data["kind"] == "prompt":
            refs = [data["model"], *data["tools"], data["index"]]
            if any(r.split("@")[0] in changed_names for r in refs):
                data["model"] = _repin(data["model"], contents)
                data["tools"] = [_repin(t, contents) for t in data["tools"]]
                data["index"] = _repin(data["index"], contents)
                if data["version"] == "1.0.0":
                    data["version"] = "1.0.1"
    # every artifact starts at 1.0.0, so the changed ones are those with another version now
    changed = [d for d in contents if d["version"] != "1.0.0"]
    write_registry(root / "prompts", changed)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*commit, "change 1%"], check=True)
    return len(changed)


def _repin(ref: str, contents: list[dict]) -> str:
    name = ref.split("@")[0]
    version = next(d["version"] for d in contents if d["name"] == name)
    return f"{name}@{version}"


def time_diff(n: int) -> tuple[float, int, int, bool, Path]:
    tmp = Path(tempfile.mkdtemp(prefix=f"diff-bench-{n}-"))
    changed = build_history(tmp, n)
    git_source.clear_caches()
    start = time.perf_counter()
    report = diff_revisions(tmp, resolve_revision(tmp, "HEAD~1"), resolve_revision(tmp, "HEAD"))
    elapsed = time.perf_counter() - start
    assert len(report.artifacts) == changed, (len(report.artifacts), changed)
    return elapsed, n, changed, report.passed, tmp


def time_cli(root: Path) -> float:
    promptctl = Path(sys.executable).with_name("promptctl")
    start = time.perf_counter()
    proc = subprocess.run([str(promptctl), "--repo", str(root), "diff", "--check", "--format",
                           "markdown", "HEAD~1", "HEAD"], capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    assert proc.returncode in (0, 1), proc.stderr.decode()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,5000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    scan_value("warm-up", "load the detect-secrets plugins before timing")
    results = [time_diff(n) for n in sizes]
    base_per = results[0][0] / results[0][1]
    print(f"{'artifacts':>9}  {'changed':>7}  {'seconds':>8}  {'ms/artifact':>11}  "
          f"{'growth vs first':>15}")
    for elapsed, n, changed, _passed, _ in results:
        per = elapsed / n
        print(f"{n:>9}  {changed:>7}  {elapsed:>8.2f}  {per * 1000:>11.3f}  "
              f"{per / base_per:>15.2f}x")
    largest = results[-1]
    cli = time_cli(largest[4])
    verdict = "within" if largest[0] < TARGET_SECONDS else "OVER"
    print(f"\n{largest[1]} artifacts: in-process {largest[0]:.2f} s ({verdict} the "
          f"{TARGET_SECONDS:.0f} s target); `promptctl diff --check` process end to end "
          f"{cli:.2f} s")
    for *_, root in results:
        subprocess.run(["rm", "-rf", str(root)], check=False)


if __name__ == "__main__":
    main()
