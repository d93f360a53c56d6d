"""Reading released artifacts back from the store."""

from __future__ import annotations

from promptctl.catalog import Catalog
from promptctl.model import ArtifactKey
from promptctl.store import Store
from promptctl.store.releases import load_released
from tests.conftest import Cli


def test_load_released_reads_every_release_or_just_the_named_keys(released: Cli) -> None:
    store = Store(released.db)
    try:
        with store.session() as session:
            everything = load_released(Catalog(), session)
            wanted = [ArtifactKey("prompt", "support", "1.1.0")]
            absent = [ArtifactKey("prompt", f"nope-{i}", "1.0.0") for i in range(700)]
            some = load_released(Catalog(), session, wanted + absent)  # several batches
    finally:
        store.dispose()
    keys = {entry.artifact.key for entry in everything}
    assert {ArtifactKey("prompt", "support", v) for v in ("1.0.0", "1.1.0", "1.2.0")} <= keys
    assert all(entry.released for entry in everything)
    assert [entry.artifact.key for entry in some] == wanted
    assert some.get(wanted[0]) == everything.get(wanted[0])


def test_rows_released_before_revision_0003_keep_their_releaser_and_no_commit_author(
        db_url: str) -> None:
    from sqlalchemy import text

    from promptctl.store.releases import get_release

    store = Store(db_url)
    try:
        store.upgrade("0002_rollout")
        with store.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO releases (kind, name, version, content_hash, content, path, "
                "git_commit, tag, author, released_at) VALUES ('tool', 'old', '1.0.0', 'h', "
                "'{}', 'prompts/old.tool.yaml', 'c', 'tool/old/v1.0.0', 'Rita <r@x>', "
                "'2026-01-01 00:00:00')"))
        store.upgrade()
        with store.session() as session:
            record = get_release(session, ArtifactKey("tool", "old", "1.0.0"))
        assert record is not None
        assert (record.author, record.commit_author) == ("Rita <r@x>", None)
        store.downgrade("0002_rollout")
        assert store.current_revision() == "0002_rollout"
    finally:
        store.dispose()
