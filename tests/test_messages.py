"""Chat templates with any number of messages and typed placeholders (issue 13, part a)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError as PydanticValidationError

from promptctl import Registry
from promptctl.errors import RenderError
from promptctl.model import Prompt
from promptctl.rollout import Rollouts
from promptctl.state import Snapshot
from promptctl.store import Store
from promptctl.store.snapshot_builder import build_snapshot
from tests.format_fixtures import CHAT_PROMPT, HISTORY, bundle_of, load, repo_with
from tests.rollout_fixtures import Api, create_token

EXPECTED = [
    {"role": "system", "content": "You answer order questions in one sentence."},
    {"role": "user", "content": "Where is order 1?"},
    {"role": "assistant", "content": "Order 1 left the warehouse today."},
    *HISTORY,
    {"role": "user", "content": "And order 2?"},
]
# Fingerprints of the example prompts as the format before issue 13 computed them.
OLD_FORM = {
    "support": ("2102e2b7f0e43b7504ff84b674d136a0163d4f033291ba65998d6f81d71003dc",
                "1671b739ff9f550bd6823fb1ac18ebb2058649db88796ff1516f64912160b5db"),
    "summarize-ticket": ("c6b0a4b62b2bf40e2e9e4a2f41fa0c0fba9fb3cc153788feb018527ebed3c80a",
                         "2fa229b3a9057ec36e4377f95dcbe9b0b0b5940282e0c335c5f082b0ef830ef0"),
}


def chat(**changes: object) -> Prompt:
    import yaml

    data = yaml.safe_load(CHAT_PROMPT)
    data.update(changes)
    return Prompt.model_validate(data)


def test_few_shot_turns_and_history_render_in_declared_order(tmp_path: Path) -> None:
    _, cli = repo_with(tmp_path, {"prompts/chat.prompt.yaml": CHAT_PROMPT})
    bundle = bundle_of(cli.root, "chat")
    assert bundle.render(question="And order 2?", history=HISTORY) == EXPECTED


def test_an_empty_history_splices_nothing_and_a_default_makes_it_optional() -> None:
    from promptctl.templating import render_prompt

    prompt = chat()
    with pytest.raises(RenderError, match=r"missing required variable.*history"):
        render_prompt(prompt, {"question": "q"})
    assert len(render_prompt(prompt, {"question": "q", "history": []})) == 4
    data = prompt.content()
    data["template"]["messages"][3] = {"placeholder": "history", "default": []}
    optional = Prompt.model_validate(data)
    assert len(render_prompt(optional, {"question": "q"})) == 4


@pytest.mark.parametrize(("value", "message"), [
    ("hello", "placeholder history must be a list of messages, got str"),
    ([{"role": "tool", "content": "x"}], "item 0 has role 'tool'"),
    ([{"role": "user"}], "item 0 needs a string `content`"),
    ([{"role": "user", "content": "x", "name": "n"}], "item 0 has unknown key 'name'"),
    (["hi"], "item 0 must be a message"),
])
def test_a_placeholder_value_that_is_not_a_list_of_messages_is_one_line(
        value: object, message: str) -> None:
    from promptctl.templating import render_prompt

    with pytest.raises(RenderError, match=message) as info:
        render_prompt(chat(), {"question": "q", "history": value})
    assert "\n" not in info.value.message


@pytest.mark.parametrize(("messages", "message"), [
    ([{"role": "tool", "content": "x"}], "Input should be 'system', 'user' or 'assistant'"),
    ([], "at least one message"),
    ([{"role": "user"}], "needs `role`"),
    ([{"placeholder": "h", "role": "user"}], "a placeholder message has no `role`"),
    ([{"placeholder": "h"}, {"placeholder": "h"}], "appears more than once"),
    ([{"placeholder": "not valid"}], "not a valid identifier"),
])
def test_bad_messages_are_refused(messages: list[object], message: str) -> None:
    with pytest.raises(PydanticValidationError, match=message):
        chat(template={"messages": messages})


def test_short_form_and_messages_do_not_mix() -> None:
    with pytest.raises(PydanticValidationError, match="not both"):
        chat(template={"system": "s", "messages": [{"role": "user", "content": "u"}]})


def test_a_placeholder_may_not_also_be_a_variable() -> None:
    with pytest.raises(PydanticValidationError, match="both a placeholder and a variable"):
        chat(variables={"question": {"type": "string"}, "history": {"type": "array"}})


def test_an_unknown_role_fails_lint_with_one_line_and_releases_nothing(tmp_path: Path) -> None:
    bad = CHAT_PROMPT.replace("role: assistant", "role: robot")
    _, cli = repo_with(tmp_path, {"prompts/chat.prompt.yaml": bad})
    result = cli("lint")
    assert result.exit_code == 1
    line = next(ln for ln in result.output.splitlines() if "chat.prompt.yaml" in ln)
    assert "template.messages.2.role" in line and "'system', 'user' or 'assistant'" in line
    assert "Traceback" not in result.output
    result = cli("release")
    assert result.exit_code == 2 and "Traceback" not in result.output
    listed = json.loads(cli("list", "--json").output)
    assert all(not row["released"] for row in listed)  # release wrote nothing


def test_old_form_files_keep_their_content_hashes_and_fingerprints(tmp_path: Path) -> None:
    _, cli = repo_with(tmp_path)
    for name, (content_hash, fingerprint) in OLD_FORM.items():
        bundle = bundle_of(cli.root, name)
        assert bundle.prompt.content_hash() == content_hash
        assert bundle.fingerprint == fingerprint
    assert not [f for f in load(cli.root).findings if f.severity == "error"]


def test_render_and_show_print_every_message(tmp_path: Path) -> None:
    _, cli = repo_with(tmp_path, {"prompts/chat.prompt.yaml": CHAT_PROMPT})
    result = cli("render", "chat", "--var", "question=And order 2?",
                 "--var", f"history={json.dumps(HISTORY)}", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["messages"] == EXPECTED
    result = cli("render", "chat", "--var", "question=q", "--var", "history=nope")
    assert result.exit_code == 2 and "not a JSON list of messages" in result.output
    result = cli("show", "chat")
    assert result.exit_code == 0, result.output
    assert "placeholder: history" in result.output and "role: assistant" in result.output


def test_the_sdk_renders_and_the_api_returns_every_message(tmp_path: Path) -> None:
    _, cli = repo_with(tmp_path, {"prompts/chat.prompt.yaml": CHAT_PROMPT})
    assert cli("release").exit_code == 0
    store = Store.open(cli.db)
    try:
        Rollouts(store).promote("production", "chat", "1.0.0")
        path = tmp_path / "snapshot.json"
        Snapshot(build_snapshot(store, "production")).save(path)
    finally:
        store.dispose()
    bundle = Registry.from_snapshot(path).get("chat", key="user-1")
    assert bundle.render(question="And order 2?", history=HISTORY) == EXPECTED
    with pytest.raises(RenderError, match="placeholder history"):
        bundle.render(question="q", history="not messages")
    tokens = {"reader": create_token(cli, "reader", "production")}
    with Api(cli, tokens) as api:
        body = api.client("reader").get("/v1/envs/production/prompts/chat/resolve",
                                        params={"key": "u"}).json()
    messages = body["templates"]["messages"]
    assert [m.get("role") or m.get("placeholder") for m in messages] == [
        "system", "user", "assistant", "history", "user"]
    assert body["fingerprint"] == bundle.fingerprint


def test_a_placeholder_value_over_max_messages_is_refused() -> None:
    from promptctl.limits import Limits
    from promptctl.templating import render_prompt

    history = [{"role": "user", "content": "x"}] * 3
    with pytest.raises(RenderError, match=r"holds 3 messages, more than max_messages \(2\)"):
        render_prompt(chat(), {"question": "q", "history": history}, Limits(max_messages=2))
