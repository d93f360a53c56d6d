"""Hostile registry files, as a user meets them in `lint`, `release` and `diff --check`.

Every bad file is a one-line finding with a documented exit code (lint and diff --check: 1,
release: 2), never a traceback, and a refused release writes nothing: no row, no tag. The
property test at the end generates such files (hostile YAML, odd names and versions, random
bytes, symlinks) and checks that rows and tags always agree and that a later valid release
still succeeds. ``PROMPTCTL_FUZZ_EXAMPLES`` raises its number of examples.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import git
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from promptctl.cli.app import app
from promptctl.model import ArtifactKey
from promptctl.store import Store
from promptctl.store.releases import all_releases
from tests.conftest import EXAMPLE_PROMPTS, Cli, commit_all, make_repo

MODEL = """\
kind: model
name: {name}
version: {version}
description: a model
provider: openai
model: gpt-4o-mini
params:
  temperature: {temperature}
{extra}"""


def model_text(name: str = "hostile", version: str = "1.0.0", temperature: str = "0.2",
               extra: str = "") -> str:
    return MODEL.format(name=name, version=version, temperature=temperature, extra=extra)


def run(cli: Cli, *args: str):  # type: ignore[no-untyped-def]
    """Run the CLI catching everything, and insist that it ended the documented way."""
    argv = ["--repo", str(cli.root), "--db", cli.db, *args]
    result = cli.runner.invoke(app, argv, catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        args, result.output, result.exception)
    assert "Traceback" not in result.output, (args, result.output)
    return result


def released_rows(cli: Cli) -> set[ArtifactKey]:
    store = Store.open(cli.db)
    with store.session() as session:
        return {ArtifactKey(r.kind, r.name, r.version) for r in all_releases(session)}


def release_tags(root: Path) -> set[str]:
    out = subprocess.run(["git", "tag", "--list"], cwd=root, capture_output=True, text=True,
                         check=True).stdout
    return {t for t in out.splitlines() if t.count("/") == 2}


def assert_rows_and_tags_agree(cli: Cli) -> None:
    rows = {key.tag for key in released_rows(cli)}
    assert rows == release_tags(cli.root), "rows and release tags disagree"


def error_lines(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [line for line in result.stderr.splitlines() if line.strip()]


@pytest.fixture
def repo(example_repo: git.Repo, tmp_path: Path) -> Cli:
    """The example prompts, committed, with a SQLite store (nothing released yet)."""
    return Cli(Path(example_repo.working_tree_dir), f"sqlite:///{tmp_path / 'registry.db'}")


def add_and_commit(cli: Cli, rel: str, data: str | bytes) -> None:
    path = cli.root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    commit_all(git.Repo(cli.root), f"add {rel}")


def assert_refused_everywhere(cli: Cli, rel: str, message: str) -> None:
    """lint and diff --check fail with the finding; release exits 2 and writes nothing."""
    lint = run(cli, "lint")
    assert lint.exit_code == 1
    [line] = [ln for ln in lint.stdout.splitlines() if rel in ln]
    assert line.startswith("error") and message in line
    diff = run(cli, "diff", "HEAD~1", "HEAD", "--check")
    assert diff.exit_code == 1 and message in diff.stdout
    release = run(cli, "release")
    assert release.exit_code == 2
    [line] = error_lines(release)
    assert rel in line and message in line
    assert released_rows(cli) == set() and release_tags(cli.root) == set()


# -- item 1: names and versions git refuses as tag names ----------------------------------------


@pytest.mark.parametrize(("name", "version", "message"), [
    ("a..b", "1.0.0", "git refuses '..'"),
    ("evil.lock", "1.0.0", "git refuses '..' and a trailing '.lock'"),
    ('"nl\\n"', "1.0.0", "is not a valid name"),
    ("lv", "1.0.0+x.lock", "ends with '.lock'"),
    ("pg", "1.0.0-" + "a" * 200, "at most 128 are allowed"),
])
def test_names_and_versions_git_refuses_never_reach_release(
        repo: Cli, name: str, version: str, message: str):
    add_and_commit(repo, "prompts/odd.model.yaml", model_text(name, version))
    assert_refused_everywhere(repo, "prompts/odd.model.yaml", message)


def test_a_ref_git_would_refuse_is_refused_in_prompts(repo: Cli):
    path = repo.root / "prompts/support.prompt.yaml"
    add_and_commit(repo, "prompts/support.prompt.yaml", path.read_text().replace(
        "model: support-chat@1.0.0", "model: support-chat@1.0.0+x.lock"))
    assert_refused_everywhere(repo, "prompts/support.prompt.yaml", "ends with '.lock'")


# -- item 4: symlinks ---------------------------------------------------------------------------


def test_a_symlink_out_of_the_repository_is_refused_and_not_followed(repo: Cli, tmp_path: Path):
    secret = tmp_path / "secret.model.yaml"
    secret.write_text(model_text("stolen", extra="metadata: {password: hunter2}\n"))
    (repo.root / "prompts/stolen.model.yaml").symlink_to(secret)
    commit_all(git.Repo(repo.root), "a symlink")
    assert_refused_everywhere(repo, "prompts/stolen.model.yaml", "is a symbolic link")
    assert "hunter2" not in run(repo, "lint").stdout


def test_a_symlinked_folder_is_refused(repo: Cli, tmp_path: Path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "stolen.model.yaml").write_text(model_text("stolen"))
    (repo.root / "prompts/shared").symlink_to(outside, target_is_directory=True)
    lint = run(repo, "lint")
    assert lint.exit_code == 1 and "prompts/shared: is a symbolic link" in lint.stdout
    release = run(repo, "release")
    assert release.exit_code == 2 and released_rows(repo) == set()


def test_an_uncommitted_symlink_fails_diff_check_against_the_working_tree(
        repo: Cli, tmp_path: Path):
    (tmp_path / "x.model.yaml").write_text(model_text("x"))
    (repo.root / "prompts/x.model.yaml").symlink_to(tmp_path / "x.model.yaml")
    diff = run(repo, "diff", "HEAD", "--check")
    assert diff.exit_code == 1 and "is a symbolic link" in diff.stdout


# -- item 5: alias bombs and merge keys ---------------------------------------------------------


def test_an_alias_bomb_is_refused_at_once(repo: Cli):
    from tests.test_yaml_io import alias_bomb

    bomb = "metadata:\n" + "".join(f"  {line}\n" for line in alias_bomb().splitlines())
    add_and_commit(repo, "prompts/bomb.model.yaml", model_text("bomb", extra=bomb))
    assert_refused_everywhere(repo, "prompts/bomb.model.yaml", "YAML nodes")


def test_merge_keys_are_released_with_the_merged_content(repo: Cli):
    extra = "metadata:\n  base: &b {team: search}\n  more: {<<: *b, owner: ana}\n"
    add_and_commit(repo, "prompts/merged.model.yaml", model_text("merged", extra=extra))
    assert run(repo, "lint").exit_code == 0
    assert run(repo, "release").exit_code == 0
    shown = json.loads(run(repo, "show", "merged", "--json").stdout)
    assert shown["content"]["metadata"]["more"] == {"team": "search", "owner": "ana"}


# -- item 9: size limits ------------------------------------------------------------------------


def test_a_file_over_one_mebibyte_is_refused(repo: Cli):
    padding = "# " + "x" * 1000 + "\n"
    add_and_commit(repo, "prompts/huge.model.yaml", model_text("huge") + padding * 1100)
    assert_refused_everywhere(repo, "prompts/huge.model.yaml", "more than the limit of 1048576")


def test_a_template_over_the_template_limit_is_refused(repo: Cli):
    path = repo.root / "prompts/support.prompt.yaml"
    text = path.read_text().replace("You are the support agent for Acme.",
                                    "You are the support agent. " * 20_000)
    add_and_commit(repo, "prompts/support.prompt.yaml", text)
    assert_refused_everywhere(repo, "prompts/support.prompt.yaml",
                              "more than the limit of 524288 bytes")


# -- item 10: bad files are findings, not tracebacks --------------------------------------------


@pytest.mark.parametrize(("data", "message"), [
    (model_text("u", extra="description2: x\n").encode().replace(b"x\n", b"\xff\xfe\n"),
     "not valid UTF-8"),
    (model_text("u16").encode("utf-16"), "UTF-16 text"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "NUL byte"),
    (model_text("ck", extra="metadata:\n  ? [a, b]\n  : 1\n").encode(), "mapping keys must"),
    (model_text("k").replace("kind: model", "kind: [prompt]").encode(), "unknown kind"),
    (model_text("bi", extra="metadata: {x: !!binary aGVsbG8=}\n").encode(), "!!binary"),
    (model_text("big", extra="metadata: {n: " + "9" * 5000 + "}\n").encode(), "64 bits"),
    (model_text("nan", temperature=".nan").encode(), "not a finite number"),
    (model_text("inf", temperature="-.inf").encode(), "not a finite number"),
    (model_text("tk", extra="metadata: {1: a, '1': b}\n").encode(), "is read as !!int"),
])
def test_bad_files_are_one_line_findings(repo: Cli, data: bytes, message: str):
    add_and_commit(repo, "prompts/bad.model.yaml", data)
    assert_refused_everywhere(repo, "prompts/bad.model.yaml", message)


def test_diff_check_against_the_working_tree_decodes_strictly(repo: Cli):
    (repo.root / "prompts/support-chat.model.yaml").write_bytes(
        (repo.root / "prompts/support-chat.model.yaml").read_bytes()
        .replace(b"Chat model", b"Chat \xe9 model"))
    diff = run(repo, "diff", "HEAD", "--check")
    assert diff.exit_code == 1 and "not valid UTF-8 (byte 0xe9 on line 4)" in diff.stdout


# -- item 13: suffixes --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["extra.model.yml", "EXTRA.MODEL.YAML", "extra.Model.yaml"])
def test_an_almost_right_suffix_is_an_error_everywhere(repo: Cli, name: str):
    add_and_commit(repo, f"prompts/{name}", model_text("extra"))
    assert_refused_everywhere(repo, f"prompts/{name}", "must use the .model.yaml suffix")


# -- the property test --------------------------------------------------------------------------

FUZZ_EXAMPLES = int(os.environ.get("PROMPTCTL_FUZZ_EXAMPLES", "25"))

odd_names = st.one_of(
    st.sampled_from(["ok", "a..b", "evil.lock", "nl\n", "a.", "0", "-x", ".x", "x/y", "x y",
                     "a@{b", "UPPER", "x" * 64, "x" * 65, "support-chat", "é", "a~b"]),
    st.from_regex(r"[a-z0-9][a-z0-9._-]{0,12}", fullmatch=True),
    st.text(max_size=12),
)
odd_versions = st.one_of(
    st.sampled_from(["1.0.0", "2.0.0-rc.1", "1.0.0+x.lock", "1.0.0-x.lock", "1.0.0\n", "v1",
                     "1.0", "1.0.0-" + "a" * 200, "1.0.0-" + "a" * 122, "01.0.0", "1.0.0+b.5"]),
    st.builds(lambda a, b, c, tail: f"{a}.{b}.{c}{tail}", st.integers(0, 99),
              st.integers(0, 99), st.integers(0, 99),
              st.sampled_from(["", "-rc.1", "+build", ".lock", "..", "+a..b", "-é"])),
    st.text(max_size=12),
)
hostile_values = st.one_of(
    st.sampled_from([".nan", "-.inf", ".inf", "1.0e+400", "!!binary aGVsbG8=", "!!set {a}",
                     "!!python/object:os.system x", "!!omap [a: 1]", "*undefined", "<<",
                     "=", "2026-01-01", "~", "'\\0'", '"\\0"', '"\\ud800"', "{1: a, '1': b}",
                     "{a: 1, a: 2}", "[[[[[[]]]]]]", "? [a, b]", "&x [*x]", "0x7fffffffffff",
                     "9223372036854775808", "{<<: {a: 1}}"]),
    st.integers(0, 6000).map(lambda n: "9" * n or "0"),
    st.integers(1, 120).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 8).map(lambda levels: _bomb_value(levels)),
    st.text(max_size=30).map(json.dumps),
)


def _bomb_value(levels: int) -> str:
    parts = ['&l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        parts.append(f"&l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]")
    return "[" + ", ".join(parts) + "]"


@st.composite
def hostile_files(draw: st.DrawFn) -> tuple[str, bytes | None]:
    """``(file name, bytes)``; ``None`` bytes means: a symlink out of the repository.

    About half are clean (a valid, possibly odd, artifact) so that releases succeed too;
    one name overwrites a released example, which must be refused as a conflict."""
    kind = draw(st.sampled_from(["model", "tool", "index", "prompt"]))
    if draw(st.booleans()):
        if kind == "model" and draw(st.booleans()):  # new content for a released version
            return "support-chat.model.yaml", _artifact_text(
                draw, kind, clean=True, identity=("support-chat", "1.0.0")).encode()
        return f"gen-{draw(st.integers(0, 9))}.{kind}.yaml", \
            _artifact_text(draw, kind, clean=True).encode()
    suffix = draw(st.sampled_from([f".{kind}.yaml"] * 6 + [f".{kind}.yml",
                                                           f".{kind.upper()}.YAML"]))
    filename = f"gen-{draw(st.integers(0, 9))}{suffix}"
    shape = draw(st.sampled_from(["yaml", "yaml", "yaml", "bytes", "symlink", "encoded"]))
    if shape == "symlink":
        return filename, None
    if shape == "bytes":
        return filename, draw(st.binary(max_size=300))
    text = _artifact_text(draw, kind)
    if shape == "encoded":
        return filename, text.encode(draw(st.sampled_from(["utf-16", "latin-1", "utf-8-sig"])),
                                     errors="replace")
    return filename, text.encode("utf-8", errors="surrogatepass")


valid_names = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,12}", fullmatch=True).filter(
    lambda n: ".." not in n and not n.endswith(".lock"))
valid_versions = st.sampled_from(["1.0.0", "2.0.0-rc.1", "1.0.0+b.5", "0.0.1-x.y-z",
                                  "1.0.0-" + "a" * 122])


def _artifact_text(draw: st.DrawFn, kind: str, clean: bool = False,
                   identity: tuple[str, str] | None = None) -> str:
    def quoted(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)

    name = quoted(identity[0] if identity else draw(valid_names if clean else odd_names))
    version = quoted(identity[1] if identity else
                     draw(valid_versions if clean else odd_versions))
    kinds = [kind] if clean else [kind, kind, "[" + kind + "]", "agent"]
    lines = [f"kind: {draw(st.sampled_from(kinds))}",
             f"name: {name}", f"version: {version}", "description: generated"]
    if kind == "model":
        temperatures = ["0.3", "1"] if clean else ["0.2", ".nan", "9"]
        lines += ["provider: openai", "model: gpt-4o-mini",
                  f"params: {{temperature: {draw(st.sampled_from(temperatures))}}}"]
    elif kind == "tool":
        lines += ["parameters: {type: object, properties: {q: {type: string}}}"]
    elif kind == "index":
        lines += ["backend: pgvector", "uri: postgresql://db/kb", "embedding_model: e",
                  "build: 2026-11-01T00:00Z"]
    else:
        refs = ["support-chat@1.0.0"] if clean else [
            "support-chat@1.0.0", "support-chat@1.0.0+x.lock", "a..b@1.0.0",
            "support-chat@^1.0.0"]
        lines += [f"model: {quoted(draw(st.sampled_from(refs)))}", "template:",
                  "  user: hello {{ who }}", "variables: {who: {type: string}}"]
    if clean:
        lines += ["metadata:", "  base: &b {team: a}", "  more: {<<: *b, owner: b}"]
    for _ in range(0 if clean else draw(st.integers(0, 3))):
        lines.append(f"metadata: {{k{draw(st.integers(0, 3))}: {draw(hostile_values)}}}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def released_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A repository with the examples committed and released (copied for each example)."""
    base = tmp_path_factory.mktemp("hostile-template")
    repo = make_repo(base / "repo")
    shutil.copytree(EXAMPLE_PROMPTS, base / "repo/prompts")
    (base / "repo/.gitignore").write_text(".promptctl/\n")
    commit_all(repo, "examples")
    db = base / "registry.db"
    assert run(Cli(base / "repo", f"sqlite:///{db}"), "release").exit_code == 0
    return base / "repo", db


@settings(max_examples=FUZZ_EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(files=st.lists(hostile_files(), min_size=1, max_size=2, unique_by=lambda f: f[0]))
def test_generated_files_end_in_a_finding_and_rows_and_tags_always_agree(
        released_template: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory,
        files: list[tuple[str, bytes | None]]):
    work = tmp_path_factory.mktemp("hostile")
    shutil.copytree(released_template[0], work / "repo", symlinks=True)
    for part in released_template[1].parent.glob("registry.db*"):  # the database and its WAL
        shutil.copy(part, work / part.name)
    cli = Cli(work / "repo", f"sqlite:///{work / 'registry.db'}")
    secret = work / "outside.model.yaml"
    secret.write_text(model_text("outside"))
    for filename, data in files:
        if data is None:
            (cli.root / "prompts" / filename).symlink_to(secret)
        else:
            (cli.root / "prompts" / filename).write_bytes(data)
    repo = git.Repo(cli.root)
    commit_all(repo, "hostile files")

    lint = run(cli, "lint")
    assert lint.exit_code in (0, 1)
    diff = run(cli, "diff", "HEAD~1", "HEAD", "--check")
    assert diff.exit_code in (0, 1)
    if lint.exit_code == 1:
        assert diff.exit_code == 1, (lint.stdout, diff.stdout)
    release = run(cli, "release")
    event(f"lint {lint.exit_code}, release {release.exit_code}")
    assert release.exit_code in (0, 2, 4), release.output
    if release.exit_code:
        assert len(error_lines(release)) == 1, release.stderr
    if lint.exit_code == 0:  # lint does not compare with released content: 4 is immutability
        assert release.exit_code in (0, 4), release.output
    assert_rows_and_tags_agree(cli)

    for filename, _ in files:  # a later valid release still succeeds
        (cli.root / "prompts" / filename).unlink()
    repo.git.checkout("HEAD~1", "--", "prompts/support-chat.model.yaml")
    (cli.root / "prompts/after.model.yaml").write_text(model_text("after-hostile"))
    commit_all(repo, "valid again")
    later = run(cli, "release")
    assert later.exit_code == 0, later.output
    assert "model/after-hostile/v1.0.0" in release_tags(cli.root)
    assert_rows_and_tags_agree(cli)
