"""Snapshots: which version each key gets, Unleash-exact, built from the database and evaluated
in memory (the SDK's and the API's one evaluation path)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from promptctl.errors import NotFoundError, ValidationError
from promptctl.rollout import Rollouts
from promptctl.state import Snapshot
from promptctl.store import Store
from promptctl.store.snapshot_builder import build_snapshot
from tests.conftest import Cli
from tests.rollout_fixtures import unleash_client

KEYS = [f"user-{i}" for i in range(10_000)]


@pytest.fixture
def rollouts(released: Cli) -> Rollouts:
    store = Store.open(released.db)
    rollouts = Rollouts(store)
    rollouts.promote("production", "support", "1.0.0")
    yield rollouts
    store.dispose()


def canary_at(rollouts: Rollouts, percent: int) -> Snapshot:
    rollouts.promote("production", "support", "1.1.0", percent=percent)
    return Snapshot(build_snapshot(rollouts.store, "production"))


def canary_keys(snapshot: Snapshot, keys: list[str]) -> set[str]:
    return {k for k in keys if snapshot.resolve("support", k).variant == "canary"}


@pytest.mark.parametrize("percent", [1, 10, 50, 99])
def test_the_split_over_10000_keys_is_within_1_5_points(rollouts: Rollouts,
                                                        percent: int) -> None:
    share = 100 * len(canary_keys(canary_at(rollouts, percent), KEYS)) / len(KEYS)
    assert abs(share - percent) <= 1.5, share


def test_raising_the_percent_only_adds_keys(rollouts: Rollouts) -> None:
    previous: set[str] = set()
    for percent in (1, 10, 25, 50, 99):
        current = canary_keys(canary_at(rollouts, percent), KEYS)
        assert previous <= current, f"{len(previous - current)} keys left at {percent}%"
        previous = current
    assert canary_keys(canary_at(rollouts, 5), KEYS) < previous  # lowering removes keys


def test_the_snapshot_matches_unleash_client_exactly(rollouts: Rollouts, tmp_path: Path
                                                     ) -> None:
    percents = (1, 10, 33, 50, 99)
    client = unleash_client({f"support-{p}": p for p in percents}, "support", tmp_path)
    try:
        for percent in percents:
            snapshot = canary_at(rollouts, percent)
            ours = [snapshot.resolve("support", k).variant == "canary" for k in KEYS]
            theirs = [client.is_enabled(f"support-{percent}", {"userId": k}) for k in KEYS]
            assert ours == theirs, f"differs at {percent}%"
            # the sessionId fallback of the default stickiness, through a context
            ours = [snapshot.resolve("support", context={"sessionId": k}).variant == "canary"
                    for k in KEYS[:2000]]
            theirs = [client.is_enabled(f"support-{percent}", {"sessionId": k})
                      for k in KEYS[:2000]]
            assert ours == theirs
    finally:
        client.destroy()


def test_resolved_bundle_carries_what_an_app_needs(rollouts: Rollouts) -> None:
    snapshot = canary_at(rollouts, 50)
    bundle = snapshot.resolve("support", "user-1")
    assert bundle.name == "support" and bundle.env == "production"
    assert bundle.version in ("1.0.0", "1.1.0")
    assert bundle.model == "gpt-4o-mini-2024-07-18" and bundle.provider == "openai"
    assert bundle.params["temperature"] == 0.2
    assert [t["name"] for t in bundle.tools] == ["search-kb", "create-ticket"]
    assert bundle.index is not None and bundle.index["name"] == "kb-docs"
    assert len(bundle.fingerprint) == 64
    assert bundle.fingerprint == bundle.bundle.fingerprint
    messages = bundle.render(customer="Ann", question="Where is my parcel?")
    assert messages[0]["role"] == "system" and "Ann" in messages[1]["content"]
    trace = bundle.trace()
    assert trace["prompt"] == "support" and trace["fingerprint"] == bundle.fingerprint
    assert trace["variant"] == bundle.variant and trace["change_id"] == snapshot.change_id
    # the same key always gets the same answer
    assert all(snapshot.resolve("support", "user-1") is bundle for _ in range(5))


def test_snapshot_round_trips_through_a_file(rollouts: Rollouts, tmp_path: Path) -> None:
    snapshot = canary_at(rollouts, 30)
    path = tmp_path / "nested" / "snapshot.json"
    snapshot.save(path)
    loaded = Snapshot.load(path)
    assert loaded.etag == snapshot.etag
    assert [loaded.resolve("support", k).version for k in KEYS[:500]] == \
        [snapshot.resolve("support", k).version for k in KEYS[:500]]


def test_change_id_grows_with_every_change(rollouts: Rollouts) -> None:
    first = canary_at(rollouts, 10).change_id
    second = canary_at(rollouts, 20).change_id
    rollouts.rollback("production", "support")
    third = Snapshot(build_snapshot(rollouts.store, "production")).change_id
    assert first < second < third


def test_unknown_prompts_and_bad_snapshots_are_clear_errors(rollouts: Rollouts,
                                                            tmp_path: Path) -> None:
    snapshot = canary_at(rollouts, 10)
    with pytest.raises(NotFoundError, match="no rollout in production"):
        snapshot.resolve("summarize-ticket", "k")
    (tmp_path / "bad.json").write_text('{"format": 1, "env": "x"}')
    with pytest.raises(ValidationError, match="invalid snapshot"):
        Snapshot.load(tmp_path / "bad.json")
    with pytest.raises(NotFoundError):
        Snapshot.load(tmp_path / "missing.json")


def test_a_snapshot_whose_bundle_lacks_its_model_is_refused_at_load(rollouts: Rollouts,
                                                                    tmp_path: Path) -> None:
    """Bundles are not validated again (they were at release), but the fields every reader
    relies on are checked at load, so a broken file fails there and not at get()."""
    doc = build_snapshot(rollouts.store, "production")
    bundle = doc["prompts"]["support"]["versions"]["1.0.0"]["bundle"]
    del bundle["model"]["provider"]
    (tmp_path / "broken.json").write_text(json.dumps(doc))
    with pytest.raises(ValidationError, match="invalid snapshot"):
        Snapshot.load(tmp_path / "broken.json")
