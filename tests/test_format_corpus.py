"""The corpus of issue 13's "Must show": prompts as real repositories hold them (CRLF, a
BOM, tabs, trailing spaces, non-ASCII text, ``{#anchors}``, ``{{ }}`` in examples, lines
over 1,000 characters, a 200 KB prompt) import, lint, release and render byte-identical to
their source files, with fingerprints that are the same on every run and machine."""

from __future__ import annotations

import json
import random
from pathlib import Path

from tests.format_fixtures import bundle_of, repo_with, write


def corpus() -> dict[str, bytes]:
    """The source files, made the same way on every machine (a seeded generator)."""
    rng = random.Random(13)
    words = ["Acme", "order", "refund", "naïve", "café", "日本語", "Ünïcödé", "ship", "—", "🙂"]
    long_line = " ".join(rng.choice(words) for _ in range(400))
    assert len(long_line) > 1000
    big = "\n".join(" ".join(rng.choice(words) for _ in range(20)) for _ in range(2400))
    data = big.encode()[: 200 * 1024 - 8].decode("utf-8", "ignore")  # whole characters
    big = data + "." * (200 * 1024 - 1 - len(data.encode())) + "\n"  # exactly 200 KB
    return {
        "crlf/system.md": b"You are Acme's agent.\r\nAnswer in one sentence.\r\n",
        "crlf/user.md": b"Customer {{ customer }} asks:\r\n{{ question }}\r\n",
        "bom.md": "\ufeffBe brief.\n".encode(),
        "tabs.md": b"Steps:\n\t1. look up the order\t \n\t2. answer  \n",
        "unicode.md": "Réponds en français, s'il te plaît. 日本語でも可。🙂\n".encode(),
        "anchors.md": b"## Refunds {#refunds}\n\nSee [refunds](#refunds).\n",
        "vue-docs.md": b"Example: `{{ ok ? 'yes' : 'no' }}` and `{{}}` stay as written.\n",
        "long-line.md": (long_line + "\n").encode(),
        "big.md": big.encode(),
    }


def imported_repo(tmp_path: Path):  # type: ignore[no-untyped-def]
    _, cli = repo_with(tmp_path)
    write(tmp_path / "src", dict(corpus()))
    result = cli("import", "markdown", str(tmp_path / "src"), "--model", "support-chat@1.0.0",
                 "--into", "corpus", "--prefix", "c-")
    assert result.exit_code == 0, result.output
    return cli


# What the files above fingerprint to, on any machine (bundles with the example model).
FINGERPRINTS = {
    "c-anchors": "9211a0aa74f991f8f3cea843a317ed3ce70ea2ff173a3289eb666fe413515c94",
    "c-big": "b12b865d60b35aae52c3a93a55285eb193845016f3e086c7500cef674e537db3",
    "c-bom": "5592bef4e3d4280493651bdcd2686ca22b4f048b70952ae6698529cc1ec9e99b",
    "c-crlf": "b3672b607a6d11222c8967355b690c97b260a878116fc256f04d615a6902a32f",
    "c-long-line": "07f3bc1309e258c27bf05a79ba5b6efedaeda8dea3371718c36004e81d6019cc",
    "c-tabs": "9d3df23a9535052a954a70cf2ef830fa5b0f984556cb290cab4caa95f3445c59",
    "c-unicode": "79a7312a7cc53f6a51118d7469af870a95fe80e858093d771335ef0428ec4da0",
    "c-vue-docs": "dd1ae23c0f978a3abf12c6c000faec19f14a49662977820f4cf5b22b330dc34d",
}


def test_the_corpus_imports_lints_releases_and_renders_byte_identical(tmp_path: Path) -> None:
    cli = imported_repo(tmp_path)
    source = corpus()
    assert (cli.root / "prompts/corpus/c-big/system.md").stat().st_size == 200 * 1024
    result = cli("lint")
    assert result.exit_code == 0, result.output
    import git

    repo = git.Repo(cli.root)
    repo.git.add("-A")
    repo.git.commit("-m", "import the corpus")
    result = cli("release")
    assert result.exit_code == 0, result.output
    for name in FINGERPRINTS:
        stem = name.removeprefix("c-")
        if stem == "crlf":
            continue
        messages = bundle_of(cli.root, name).render()
        assert [m["content"].encode("utf-8") for m in messages] == [source[f"{stem}.md"]]
    crlf = bundle_of(cli.root, "c-crlf").render(customer="Ann", question="Where?")
    assert [m["content"].encode() for m in crlf] == [
        source["crlf/system.md"], b"Customer Ann asks:\r\nWhere?\r\n"]
    released = cli("render", "c-big@1.0.0", "--json")
    assert json.loads(released.output)["messages"][0]["content"].encode() == source["big.md"]


def test_corpus_fingerprints_are_stable_across_runs_and_machines(tmp_path: Path) -> None:
    first = imported_repo(tmp_path / "one")
    second = imported_repo(tmp_path / "two")
    found = {name: bundle_of(first.root, name).fingerprint for name in FINGERPRINTS}
    assert found == {name: bundle_of(second.root, name).fingerprint for name in FINGERPRINTS}
    assert found == FINGERPRINTS
