"""States and deltas: an environment followed change by change gives every key the answer a
fresh full state gives, key for key, whatever the sequence of promotes, rollbacks and new
releases, and however the changes are grouped into deltas."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import git
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promptctl.api.states import StateCache
from promptctl.bundle_store import BundleStore
from promptctl.errors import PromptctlError, ValidationError
from promptctl.rollout import Rollouts
from promptctl.state import State, delta_doc
from promptctl.store import Store
from promptctl.store.snapshot_builder import build_snapshot
from tests.conftest import Cli, commit_all
from tests.rollout_fixtures import bump_prompt, release_versions

EXAMPLES = int(os.environ.get("PROMPTCTL_FUZZ_EXAMPLES", "25"))
ENV = "production"
KEYS = [f"user-{i}" for i in range(300)]
PROMPTS = ("support", "summarize-ticket")


@dataclass
class World:
    """One released repository and database, shared by every example (each starts from
    whatever the previous ones left: the comparison is relative to a fresh state)."""

    cli: Cli
    store: Store
    rollouts: Rollouts
    server: StateCache
    versions: dict[str, list[str]]
    next_minor: int = 3
    follower: State | None = None
    follower_store: BundleStore = field(default_factory=BundleStore)

    def release_new(self) -> None:
        version = f"1.{self.next_minor}.0"
        self.next_minor += 1
        bump_prompt(self.cli.root, "support", version)
        commit_all(git.Repo(self.cli.root), f"support {version}")
        assert self.cli("release").exit_code == 0
        self.versions["support"].append(version)

    def sync(self, follower: State, store: BundleStore, server: StateCache) -> None:
        """What an SDK does with the server's answer to ``state?since=``."""
        current = server.get(ENV, 2**31 - 1)  # catch up with everything committed
        delta = server.delta(ENV, follower.change_id)
        assert delta is not None
        needed = {fp for entry in delta["changes"].values() if entry
                  for fp in entry["fingerprints"].values()}
        store.add(server.bundle_raws(sorted(needed)), needed)
        follower.apply(delta)
        assert follower.change_id == current.change_id


@pytest.fixture
def world(cli: Cli) -> Iterator[World]:
    release_versions(cli, "1.1.0", "1.2.0")
    release_versions(cli, "1.2.0", name="summarize-ticket")  # it starts at 1.1.0
    store = Store.open(cli.db)
    rollouts = Rollouts(store)
    rollouts.promote(ENV, "support", "1.0.0")
    rollouts.promote(ENV, "summarize-ticket", "1.1.0")
    server = StateCache(store)
    world = World(cli, store, rollouts, server,
                  {"support": ["1.0.0", "1.1.0", "1.2.0"],
                   "summarize-ticket": ["1.1.0", "1.2.0"]})
    first = server.get(ENV, 0)
    world.follower = State.parse(first.to_json(), world.follower_store)
    world.follower_store.add(server.bundle_raws(sorted(first.fingerprints())))
    yield world
    store.dispose()


def answers(state: State) -> dict[tuple[str, str], tuple[str, str, str, int]]:
    out = {}
    for name, key in itertools.product(state.names(), KEYS):
        got = state.resolve(name, key)
        out[(name, key)] = (got.version, got.variant, got.fingerprint, got.change_id)
    return out


OPS = st.one_of(
    st.tuples(st.just("promote"), st.sampled_from(PROMPTS), st.integers(0, 9),
              st.sampled_from([100, 100, 1, 10, 50, 99])),
    st.tuples(st.just("rollback"), st.sampled_from(PROMPTS)),
    st.tuples(st.just("release")),
)


def run(world: World, op: tuple) -> None:  # type: ignore[type-arg]
    try:
        if op[0] == "promote":
            versions = world.versions[op[1]]
            world.rollouts.promote(ENV, op[1], versions[op[2] % len(versions)], percent=op[3])
        elif op[0] == "rollback":
            world.rollouts.rollback(ENV, op[1])
        elif world.next_minor < 6:  # a few new releases per run: each is a real release
            world.release_new()
    except PromptctlError:
        pass  # refused (already stable, nothing to roll back...): nothing was written


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(OPS, min_size=1, max_size=8), syncs=st.lists(st.booleans(), min_size=1))
def test_deltas_give_the_answers_of_a_fresh_full_state_key_for_key(
        world: World, ops: list[tuple], syncs: list[bool]) -> None:  # type: ignore[type-arg]
    follower = world.follower
    assert follower is not None
    for op, sync in zip(ops, itertools.cycle(syncs)):
        run(world, op)
        if sync:  # sometimes one change per delta, sometimes several folded into one
            world.sync(follower, world.follower_store, world.server)
    world.sync(follower, world.follower_store, world.server)

    fresh = StateCache(world.store).get(ENV, 0)  # a fresh full state, from the database
    assert follower.change_id == fresh.change_id == world.server.get(ENV, 0).change_id
    assert answers(follower) == answers(fresh) == answers(world.server.get(ENV, 0))
    # ... and the format-1 snapshot (another process's build) agrees on the fingerprints
    old = build_snapshot(world.store, ENV)
    assert {n: {v: e["fingerprint"] for v, e in p["versions"].items()}
            for n, p in old["prompts"].items()} == \
        {n: e["fingerprints"] for n, e in fresh.entries()}


def test_a_delta_older_than_the_log_comes_from_the_audit_table(world: World) -> None:
    """A server started after the follower's change id answers ``since`` from the database."""
    follower, store = world.follower, world.follower_store
    assert follower is not None
    world.rollouts.promote(ENV, "support", "1.1.0", percent=30)
    world.rollouts.promote(ENV, "summarize-ticket", "1.2.0")
    restarted = StateCache(world.store)  # its log starts at the current change id
    world.sync(follower, store, restarted)
    assert answers(follower) == answers(restarted.get(ENV, 0))


def test_stale_deltas_are_ignored_and_gaps_refused(world: World) -> None:
    follower = world.follower
    assert follower is not None
    before = follower.change_id
    stale = delta_doc(ENV, before - 1, before, {"support": None})
    assert follower.check_delta(stale) == "stale" and follower.apply(stale) == []
    assert "support" in follower.names()  # never gone back
    gap = delta_doc(ENV, before + 5, before + 9, {})
    assert follower.check_delta(gap) == "gap"
    with pytest.raises(ValidationError, match="does not start at or before"):
        follower.apply(gap)
    assert follower.change_id == before
