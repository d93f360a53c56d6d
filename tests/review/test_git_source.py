"""Loading the registry from git objects: revisions, default base, errors."""

from __future__ import annotations

import pytest
import yaml

from promptctl.errors import NotFoundError, UsageError
from promptctl.loader import load_sources
from promptctl.review.git_source import (
    _PARSE_CACHE,
    LightArtifact,
    clear_caches,
    default_base,
    load_revision,
    resolve_revision,
)
from tests.conftest import REPO_ROOT
from tests.review.history import History


def test_load_revision_reads_the_registry_as_committed(git_repo):
    history = History(git_repo)
    first = history.commit("one")
    history["chat.model.yaml"]["version"] = "1.1.0"
    history.commit("two")
    loaded = load_revision(history.root, resolve_revision(history.root, first), "prompts")
    versions = {i.artifact.key.name: i.artifact.version for i in loaded.artifacts}
    assert versions == {"chat": "1.0.0", "search-kb": "2.0.1", "kb-docs": "3.1.0",
                        "support": "1.0.0"}
    assert loaded.findings == []


def test_unknown_revision_is_not_found(git_repo):
    History(git_repo).commit()
    with pytest.raises(NotFoundError, match="unknown git revision 'no-such-branch'"):
        resolve_revision(git_repo.working_tree_dir, "no-such-branch")
    with pytest.raises(UsageError):
        resolve_revision(git_repo.working_tree_dir, "--output=x")


def test_default_base_is_the_merge_base_of_main_and_head(git_repo):
    history = History(git_repo)
    fork = history.commit("on main")
    git_repo.git.checkout("-b", "feature")
    history["chat.model.yaml"]["version"] = "1.0.1"
    history.commit("on feature")
    git_repo.git.checkout("main")
    (history.root / "README").write_text("main moves on\n")
    history.repo.git.add("README")
    history.repo.git.commit("-m", "main moves on")
    git_repo.git.checkout("feature")
    base = default_base(history.root)
    assert base.commit == fork
    assert base.label == "merge-base(main, HEAD)"


@pytest.mark.parametrize("text", [
    "kind: prompt\nname: p\nversion: '1.0.0'\nmodel: m@1.0.0  # pinned\n"
    "tools:\n  - a@1.0.0\n  - \"b@2.0.0\"\nindex: i@1.0.0\ndescription: d\n",
    "kind: prompt\nname: p\nversion: 1.0.0\nmodel: m@1.0.0\ntools: [a@1.0.0, b@2.0.0]\n",
    "kind: prompt\nname: p\nversion: 1.0.0\nmodel: m@1.0.0\ntools:\n- a@1.0.0\n",
    '{"kind": "prompt", "name": "p", "version": "1.0.0", "model": "m@1.0.0", "tools": []}',
    "kind: model\nname: m\nversion: 1.0.0\nmodel: accounts/fireworks/models/llama\n",
])
def test_light_reading_of_unchanged_files_agrees_with_yaml(text):
    light = LightArtifact.from_text(text)
    data = yaml.safe_load(text)
    assert light is not None
    assert light.key == (data["kind"], data["name"], str(data["version"]))
    expected = [("model", data["model"])] if data["kind"] == "prompt" else []
    expected += [("tool", t) for t in data.get("tools") or []] if data["kind"] == "prompt" else []
    expected += [("index", data["index"])] if data.get("index") else []
    assert [(kind, str(ref)) for kind, ref in light.refs()] == expected


def test_light_reading_agrees_with_the_loader_on_the_example_registry():
    for path in sorted((REPO_ROOT / "prompts").glob("*.yaml")):
        text = path.read_text()
        [item] = load_sources([(path.name, text)]).artifacts
        light = LightArtifact.from_text(text)
        assert light is not None
        assert (light.key, light.refs()) == (item.artifact.key, item.artifact.refs())


def test_a_diff_parses_only_the_files_that_changed(git_repo):
    history = History(git_repo)
    history.commit("one")
    history["search-kb.tool.yaml"].update(version="2.0.2", description="better words")
    history.commit("two")
    clear_caches()
    report = history.diff("HEAD~1")
    assert [a.label for a in report.artifacts] == ["tool/search-kb"]
    assert sorted(path for path, _sha in _PARSE_CACHE) == [
        "prompts/search-kb.tool.yaml", "prompts/search-kb.tool.yaml"]
