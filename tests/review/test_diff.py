"""The semantic diff on real git histories: renames, deletions, refs, fingerprints, secrets."""

from __future__ import annotations

import pytest

from promptctl.review.diff import diff_revisions
from promptctl.review.git_source import WORKTREE, resolve_revision
from tests.review.history import History, codes, entry


@pytest.fixture
def history(git_repo) -> History:
    history = History(git_repo)
    history.commit("base")
    return history


def test_unchanged_registry_has_an_empty_passing_report(history):
    history.commit("nothing")
    report = history.diff("HEAD~1")
    assert report.artifacts == [] and report.findings == [] and report.passed


def test_rename_of_an_artifact_is_reported_as_renamed(history):
    tool = history.files.pop("search-kb.tool.yaml")
    history.files["find-docs.tool.yaml"] = dict(tool, name="find-docs", version="1.0.0")
    history["support.prompt.yaml"].update(tools=["find-docs@1.0.0"], version="1.1.0")
    history.commit("rename search-kb to find-docs")
    report = history.diff("HEAD~1")
    item = entry(report, "tool/find-docs")
    assert (item.status, item.renamed_from) == ("renamed", "search-kb")
    assert item.old.path == "prompts/search-kb.tool.yaml"
    assert not any(a.status in ("added", "removed") for a in report.artifacts)
    prompt = entry(report, "prompt/support")
    assert [(r.name, r.old, r.new) for r in prompt.refs] == [
        ("tool find-docs", None, "1.0.0"), ("tool search-kb", "2.0.1", None)]
    assert prompt.required_bump == "major"  # a tool removed from the prompt
    assert "bump-too-small" in codes(report)


def test_deletion_is_reported_and_breaks_prompts_that_still_pin_it(history):
    history.files.pop("kb-docs.index.yaml")
    history.commit("delete index")
    report = history.diff("HEAD~1")
    item = entry(report, "index/kb-docs")
    assert (item.status, item.old.version, item.new) == ("removed", "3.1.0", None)
    [affected] = report.affected
    assert (affected.prompt, affected.via) == ("support@1.0.0", "index/kb-docs@3.1.0")
    assert "removed from the tree" in affected.reason
    assert codes(report) == ["unknown-ref"]


def test_deleting_a_released_artifact_that_is_still_pinned_is_fine(history, tmp_path):
    from promptctl.release import release
    from promptctl.workspace import Workspace

    release(Workspace.open(history.root, db=f"sqlite:///{tmp_path / 'r.db'}"))
    history.files.pop("kb-docs.index.yaml")
    history.commit("delete released index")
    report = history.diff("HEAD~1")
    assert entry(report, "index/kb-docs").status == "removed"
    assert report.passed, report.errors


def test_ref_bump_changes_the_dependent_prompts_fingerprint(history):
    history["search-kb.tool.yaml"].update(version="2.1.0", description="search the kb, better")
    history["support.prompt.yaml"].update(tools=["search-kb@2.1.0"], version="1.1.0")
    history.commit("bump search-kb")
    report = history.diff("HEAD~1")
    prompt = entry(report, "prompt/support")
    assert [(r.name, r.old, r.new) for r in prompt.refs] == [("tool search-kb", "2.0.1", "2.1.0")]
    assert prompt.old.fingerprint and prompt.new.fingerprint
    assert prompt.old.fingerprint != prompt.new.fingerprint
    assert prompt.old.content_hash != prompt.new.content_hash
    assert entry(report, "tool/search-kb").status == "bumped"
    assert report.passed, report.errors


def test_editing_a_pinned_version_in_place_changes_unchanged_prompts_fingerprint(history):
    history["chat.model.yaml"]["params"]["temperature"] = 0.9
    history.commit("edit model in place")
    report = history.diff("HEAD~1")
    [affected] = report.affected
    assert (affected.prompt, affected.via) == ("support@1.0.0", "model/chat@1.0.0")
    assert affected.old_fingerprint != affected.new_fingerprint
    assert codes(report) == ["version-unchanged"]


def test_prompt_pinning_a_superseded_version_is_listed_as_affected(history):
    old = dict(history["chat.model.yaml"])
    history.files["chat-v2.model.yaml"] = dict(old, version="1.1.0", model="gpt-4o")
    history.commit("add chat 1.1.0 next to 1.0.0")
    report = history.diff("HEAD~1")
    item = entry(report, "model/chat")
    assert (item.status, item.old.version, item.new.version) == ("bumped", "1.0.0", "1.1.0")
    assert [(f.name, f.old, f.new) for f in item.fields] == [("model", "gpt-4o-mini", "gpt-4o")]
    [affected] = report.affected
    assert affected.reason == "still pins chat@1.0.0; chat@1.1.0 is the new version"
    assert report.passed


def test_moved_file_with_same_content_needs_no_bump(history):
    history.files["models/chat.model.yaml"] = history.files.pop("chat.model.yaml")
    (history.root / "prompts" / "models").mkdir()
    history.commit("move")
    report = history.diff("HEAD~1")
    item = entry(report, "model/chat")
    assert (item.status, item.new.path) == ("moved", "prompts/models/chat.model.yaml")
    assert report.passed


def test_secret_in_a_template_fails_the_check(history):
    history["support.prompt.yaml"]["template"]["system"] += (
        "Use the admin key sk-ant-api03-Xk29fj3LqPz8vW0aa7Rt5Yb2Nc4Md6Ee8Gg0Hh when stuck.\n")
    history["support.prompt.yaml"]["version"] = "1.1.0"
    history.commit("leak")
    report = history.diff("HEAD~1")
    [secret] = [f for f in report.errors if f.code == "secret"]
    assert secret.path == "prompts/support.prompt.yaml"
    assert secret.field == "template.system"
    assert "Anthropic API key" in secret.message
    assert not report.passed


def test_secret_in_a_tool_description_fails_the_check(history):
    history["search-kb.tool.yaml"]["description"] = (
        "search the kb; call with token ghp_R4nd0mT0k3nV4lu3F0rT3st1ngXyZ1234567")
    history["search-kb.tool.yaml"]["version"] = "2.0.2"
    history.commit("leak in tool")
    report = history.diff("HEAD~1")
    [secret] = [f for f in report.errors if f.code == "secret"]
    assert (secret.path, secret.field) == ("prompts/search-kb.tool.yaml", "description")
    assert "GitHub Token" in secret.message


def test_diff_between_two_arbitrary_past_commits(history):
    first = history.repo.head.commit.hexsha
    history["chat.model.yaml"].update(version="1.0.1", description="chat model, tuned")
    history["support.prompt.yaml"]["model"] = "chat@1.0.1"
    history["support.prompt.yaml"]["version"] = "1.0.1"
    second = history.commit("second")
    history["search-kb.tool.yaml"].update(version="3.0.0")
    history["search-kb.tool.yaml"]["parameters"]["properties"].pop("top_k")
    history["support.prompt.yaml"].update(tools=["search-kb@3.0.0"], version="2.0.0")
    third = history.commit("third")
    history.files.pop("kb-docs.index.yaml")
    history["support.prompt.yaml"].pop("index")
    history.commit("fourth")

    report = history.diff(second, third)
    assert {a.label: a.status for a in report.artifacts} == {
        "tool/search-kb": "bumped", "prompt/support": "bumped"}
    assert entry(report, "tool/search-kb").tool_parameters == ["parameter `top_k` removed → major"]
    assert report.passed

    report = history.diff(first, third)
    assert {a.label for a in report.artifacts} == {"model/chat", "tool/search-kb",
                                                   "prompt/support"}
    assert (report.base.commit, report.head.commit) == (first, third)


def test_working_tree_is_the_default_head_side(history):
    history["chat.model.yaml"]["params"]["top_p"] = 0.9
    history["chat.model.yaml"]["version"] = "1.1.0"
    history.write_all()
    report = diff_revisions(history.root, resolve_revision(history.root, "HEAD"),
                            resolve_revision(history.root, WORKTREE))
    assert report.head.commit is None
    item = entry(report, "model/chat")
    assert [(p.name, p.old, p.new) for p in item.params] == [("top_p", None, 0.9)]


def test_a_file_that_no_longer_loads_is_invalid_not_removed(history):
    (history.root / "prompts" / "chat.model.yaml").write_text("kind: model\nname: [oops\n")
    history.repo.git.add("-A")
    history.repo.git.commit("-m", "break")
    report = history.diff("HEAD~1")
    item = entry(report, "model/chat")
    assert item.status == "invalid"
    assert [f.code for f in item.findings] == ["yaml"]
    assert not report.passed


def test_template_diff_ignores_rewrapping_and_shows_the_changed_sentence(history):
    history["support.prompt.yaml"]["template"]["system"] = (
        "You are a helpful support agent. Answer from the knowledge\nbase only and cite the "
        "article titles you used.\n")
    history["support.prompt.yaml"]["version"] = "1.1.0"
    history.commit("edit one sentence and re-wrap")
    [diff] = entry(history.diff("HEAD~1"), "prompt/support").templates
    assert diff.role == "system"
    assert [line for line in diff.lines if line[:1] in "+-"] == [
        "-Answer from the knowledge base only and cite the articles you used.",
        "+Answer from the knowledge base only and cite the article titles you used."]


def test_diff_does_not_modify_the_working_tree_or_the_index(history):
    history["chat.model.yaml"]["params"]["temperature"] = 0.5
    history.commit("second")
    (history.root / "prompts" / "chat.model.yaml").write_text("kind: model\n")  # unstaged edit
    (history.root / "prompts" / "new.tool.yaml").write_text("kind: tool\n")  # untracked
    history.repo.git.add("prompts/new.tool.yaml")
    status = history.repo.git.status("--porcelain")
    index = (history.root / ".git" / "index").read_bytes()
    history.diff("HEAD~1", "HEAD")
    diff_revisions(history.root, resolve_revision(history.root, "HEAD~1"),
                   resolve_revision(history.root, WORKTREE))
    assert history.repo.git.status("--porcelain") == status
    assert (history.root / ".git" / "index").read_bytes() == index


def test_word_marks_never_show_part_of_a_secret_that_changed_by_a_few_characters(history):
    from promptctl.review.render import render_json, render_markdown

    old_key = "sk-ant-api03-Xk29fj3LqPz8vW0aa7Rt5Yb2Nc4Md6Ee8Gg0Hh"
    new_key = old_key.replace("Xk29", "Xk30")
    history["support.prompt.yaml"]["template"]["system"] += f"Use the key {old_key} if stuck.\n"
    history.commit("a secret")
    history["support.prompt.yaml"]["template"]["system"] = \
        history["support.prompt.yaml"]["template"]["system"].replace(old_key, new_key)
    history.commit("rotate it")
    report = history.diff("HEAD~1")
    [template] = entry(report, "prompt/support").templates
    assert any("[-" in line for line in template.marked)
    for text in (render_markdown(report), render_json(report), "\n".join(template.marked)):
        for secret in (old_key, new_key):
            assert secret[12:] not in text and secret[20:40] not in text
