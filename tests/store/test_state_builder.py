"""The server builds each bundle's bytes straight from the released rows
(``store.state_builder.bundle_bytes``): they are the canonical JSON of the bundle the model
objects resolve, byte for byte, whether they were spliced from the stored texts or encoded
again because a stored text was not canonical."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from promptctl.canonical import canonical_json
from promptctl.evals.records import released_bundle
from promptctl.store import Store, state_builder
from promptctl.store.state_builder import bundle_bytes, spliced
from promptctl.store.tables import ReleaseRecord
from tests.guard_fixtures import released_repo


def released_prompts(store: Store) -> list[tuple[str, str]]:
    with store.session() as session:
        return sorted((r.name, r.version) for r in session.exec(
            select(ReleaseRecord).where(ReleaseRecord.kind == "prompt")))


def expected(store: Store, keys: list[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
    with store.session() as session:
        return {(n, v): canonical_json(released_bundle(session, n, v).to_dict())
                for n, v in keys}


def test_every_released_prompt_gets_the_canonical_bytes_of_its_bundle(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Spliced from the stored texts: no bundle document is encoded again."""
    cli = released_repo(tmp_path / "repo")
    store = Store.open(cli.db)
    try:
        keys = released_prompts(store)
        assert len(keys) >= 4  # support 1.0.0-1.2.0 and summarize-ticket
        want = expected(store, keys)

        def encoded_again(value: object) -> bytes:
            raise AssertionError("a bundle was encoded again, not spliced")

        monkeypatch.setattr(state_builder, "canonical_json", encoded_again)
        with store.session() as session:
            built = bundle_bytes(session, keys)
        assert built == want
        assert any(json.loads(raw)["tools"] for raw in built.values())
        assert any(json.loads(raw)["index"] for raw in built.values())
    finally:
        store.dispose()


def test_a_stored_text_that_is_not_canonical_is_encoded_again(tmp_path: Path) -> None:
    """A row edited by hand (here: re-indented, so its text no longer matches its content
    hash) cannot be spliced; its bundle still gets the canonical bytes."""
    cli = released_repo(tmp_path / "repo")
    store = Store.open(cli.db)
    try:
        keys = released_prompts(store)
        want = expected(store, keys)
        with store.write() as session:
            for row in session.exec(select(ReleaseRecord)):
                row.content = json.dumps(json.loads(row.content), indent=2)
                session.add(row)
        with store.session() as session:
            assert bundle_bytes(session, keys) == want
    finally:
        store.dispose()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=12)
objects = st.dictionaries(st.text(max_size=6), json_values, max_size=4)


@given(prompt=objects, model=objects, tools=st.lists(objects, max_size=3),
       index=st.none() | objects)
def test_splicing_canonical_parts_gives_the_canonical_document(
        prompt: dict[str, Any], model: dict[str, Any], tools: list[dict[str, Any]],
        index: dict[str, Any] | None) -> None:
    doc = {"prompt": prompt, "model": model, "tools": tools, "index": index}
    assert spliced(canonical_json(prompt), canonical_json(model),
                   [canonical_json(t) for t in tools],
                   canonical_json(index) if index is not None else None) == canonical_json(doc)
