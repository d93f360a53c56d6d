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
