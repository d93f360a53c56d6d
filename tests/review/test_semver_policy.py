"""The semver policy of DESIGN §3, one test per rule, each on a real two-commit history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from promptctl.review.report import Report
from tests.review.history import History, codes, entry


@pytest.fixture
def history(git_repo) -> History:
    history = History(git_repo)
    history.commit("base")
    return history


def change(history: History, file: str, edit: Callable[[dict[str, Any]], None],
           version: str | None = None) -> Report:
    """Edit one artifact, optionally set its version, commit, and diff against the parent."""
    data = history[file]
    edit(data)
    if version:
        data["version"] = version
    history.commit("edit")
    return history.diff("HEAD~1", "HEAD")


def required(report: Report, label: str) -> tuple[str, list[str]]:
    item = entry(report, label)
    return item.required_bump or "none", item.reasons


# -- major ---------------------------------------------------------------------------------------


def test_input_variable_added_without_default_requires_major(history):
    report = change(history, "support.prompt.yaml",
                    lambda p: p["variables"].update(locale={"type": "string"}))
    level, reasons = required(report, "prompt/support")
    assert level == "major"
    assert "input variable `locale` added without default → major" in reasons


def test_input_variable_removed_requires_major(history):
    def edit(p):
        del p["variables"]["order_id"]
        p["template"]["user"] = "Customer {{ customer }} asks."

    level, reasons = required(change(history, "support.prompt.yaml", edit), "prompt/support")
    assert level == "major"
    assert "input variable `order_id` removed → major" in reasons


def test_input_variable_retyped_requires_major(history):
    report = change(history, "support.prompt.yaml",
                    lambda p: p["variables"].update(order_id={"type": "integer", "default": 0}))
    level, reasons = required(report, "prompt/support")
    assert level == "major"
    assert "input variable `order_id` retyped from string to integer → major" in reasons


def test_output_schema_made_incompatible_requires_major(history):
    report = change(history, "support.prompt.yaml",
                    lambda p: p["output_schema"]["properties"].pop("sources"))
    level, reasons = required(report, "prompt/support")
    assert level == "major"
    assert "output property `sources` removed → major" in reasons


def test_tool_required_parameters_changed_requires_major(history):
    report = change(history, "search-kb.tool.yaml",
                    lambda t: t["parameters"]["required"].append("top_k"))
    level, reasons = required(report, "tool/search-kb")
    assert level == "major"
    assert "parameter `top_k` made required → major" in reasons


def test_ref_major_version_changed_requires_major(history):
    history["chat.model.yaml"]["version"] = "2.0.0"
    report = change(history, "support.prompt.yaml", lambda p: p.update(model="chat@2.0.0"))
    level, reasons = required(report, "prompt/support")
    assert level == "major"
    assert "model ref `chat` moved from 1.0.0 to 2.0.0 → major" in reasons


# -- minor ---------------------------------------------------------------------------------------


def test_template_text_changed_requires_minor(history):
    report = change(history, "support.prompt.yaml",
                    lambda p: p["template"].update(user="{{ customer }} asks about {{ order_id }}"))
    level, reasons = required(report, "prompt/support")
    assert (level, reasons) == ("minor", ["user template text changed → minor"])


def test_model_id_changed_requires_minor(history):
    report = change(history, "chat.model.yaml", lambda m: m.update(model="gpt-4o"))
    assert required(report, "model/chat") == (
        "minor", ["model changed from `gpt-4o-mini` to `gpt-4o` → minor"])


def test_model_parameter_changed_requires_minor(history):
    report = change(history, "chat.model.yaml", lambda m: m["params"].update(temperature=0.7))
    assert required(report, "model/chat") == (
        "minor", ["parameter `temperature` changed from `0.2` to `0.7` → minor"])


def test_tool_added_requires_minor(history):
    history.files["create-ticket.tool.yaml"] = {
        "kind": "tool", "name": "create-ticket", "version": "1.0.0", "description": "ticket",
        "parameters": {"type": "object", "properties": {"summary": {"type": "string"}}}}
    report = change(history, "support.prompt.yaml",
                    lambda p: p["tools"].append("create-ticket@1.0.0"))
    assert required(report, "prompt/support") == (
        "minor", ["tool `create-ticket@1.0.0` added → minor"])


def test_optional_variable_added_requires_minor(history):
    report = change(history, "support.prompt.yaml",
                    lambda p: p["variables"].update(tone={"type": "string", "default": "warm"}))
    level, reasons = required(report, "prompt/support")
    assert level == "minor"
    assert "optional input variable `tone` added → minor" in reasons


def test_ref_minor_version_changed_requires_minor(history):
    history["search-kb.tool.yaml"]["version"] = "2.1.0"
    report = change(history, "support.prompt.yaml", lambda p: p.update(tools=["search-kb@2.1.0"]))
    assert required(report, "prompt/support") == (
        "minor", ["tool ref `search-kb` moved from 2.0.1 to 2.1.0 → minor"])


# -- patch ---------------------------------------------------------------------------------------


def test_description_change_requires_patch(history):
    report = change(history, "support.prompt.yaml", lambda p: p.update(description="agent"))
    assert required(report, "prompt/support") == ("patch", ["description changed → patch"])


def test_metadata_change_requires_patch(history):
    report = change(history, "chat.model.yaml", lambda m: m.update(metadata={"owner": "ml"}))
    assert required(report, "model/chat") == ("patch", ["metadata changed → patch"])


def test_whitespace_only_change_requires_patch(history):
    def rewrap(p):
        p["template"]["system"] = ("You are a helpful support agent. Answer from the\n"
                                   "knowledge base only and cite the articles you used.\n")

    level, reasons = required(change(history, "support.prompt.yaml", rewrap), "prompt/support")
    assert (level, reasons) == ("patch", ["system template text: whitespace only → patch"])


def test_ref_patch_changed_requires_patch(history):
    history["kb-docs.index.yaml"]["version"] = "3.1.1"
    report = change(history, "support.prompt.yaml", lambda p: p.update(index="kb-docs@3.1.1"))
    assert required(report, "prompt/support") == (
        "patch", ["index ref `kb-docs` moved from 3.1.0 to 3.1.1 → patch"])


# -- check failures ------------------------------------------------------------------------------


def test_declared_bump_smaller_than_required_fails_with_artifact_declared_required_and_reason(
        history):
    def edit(p):
        del p["variables"]["order_id"]
        p["template"]["user"] = "Customer {{ customer }} asks."

    report = change(history, "support.prompt.yaml", edit, version="1.1.0")
    assert not report.passed
    [failure] = report.errors
    assert failure.code == "bump-too-small"
    assert failure.path == "prompts/support.prompt.yaml"
    assert "prompt/support: declared minor bump (1.0.0 → 1.1.0) but major is required" \
        in failure.message
    assert "input variable `order_id` removed → major" in failure.message
    assert failure.fix == "set version to 2.0.0"


def test_sufficient_bump_passes(history):
    report = change(history, "chat.model.yaml", lambda m: m["params"].update(temperature=0.7),
                    version="1.1.0")
    item = entry(report, "model/chat")
    assert (item.status, item.declared_bump, item.required_bump) == ("bumped", "minor", "minor")
    # the prompt still pins chat@1.0.0, which no longer exists in the tree: that is an error
    assert codes(report) == ["unknown-ref"]


def test_content_changed_without_version_change_fails(history):
    report = change(history, "chat.model.yaml", lambda m: m["params"].update(max_tokens=1024))
    assert entry(report, "model/chat").status == "changed"
    [failure] = report.errors
    assert failure.code == "version-unchanged"
    assert "model/chat: content changed without a version change (minor required" \
        in failure.message


def test_version_decreased_fails(history):
    history["search-kb.tool.yaml"]["version"] = "2.0.0"
    history["support.prompt.yaml"]["tools"] = ["search-kb@2.0.0"]
    history["support.prompt.yaml"]["version"] = "1.0.1"
    history.commit("downgrade")
    report = history.diff("HEAD~1")
    failure = next(f for f in report.errors if f.code == "version-decreased")
    assert failure.message == "tool/search-kb: version decreased 2.0.1 → 2.0.0"


def test_released_version_whose_file_changed_fails(history, tmp_path):
    from promptctl.release import release
    from promptctl.workspace import Workspace

    release(Workspace.open(history.root, db=f"sqlite:///{tmp_path / 'r.db'}"))
    assert "model/chat/v1.0.0" in {t.name for t in history.repo.tags}
    report = change(history, "chat.model.yaml", lambda m: m.update(description="edited"))
    [failure] = report.errors
    assert failure.code == "released-modified"
    assert "model/chat@1.0.0 is released and immutable, but its content changed" \
        in failure.message


def test_released_version_re_added_with_other_content_fails(history, tmp_path):
    from promptctl.release import release
    from promptctl.workspace import Workspace

    release(Workspace.open(history.root, db=f"sqlite:///{tmp_path / 'r.db'}"))
    saved = history.files.pop("kb-docs.index.yaml")
    history["support.prompt.yaml"].pop("index")
    history["support.prompt.yaml"]["version"] = "2.0.0"
    base = history.commit("drop index")
    history.files["kb-docs.index.yaml"] = dict(saved, build="2026-12-01T00:00Z")
    history.commit("re-add index with the released version but new content")
    report = history.diff(base)
    assert entry(report, "index/kb-docs").status == "added"
    assert "released-modified" in codes(report)
