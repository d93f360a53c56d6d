"""Session pins: ``reg.get(name, key=..., session=S)`` keeps the bundle a conversation started
with across canary changes, lets go of it on a rollback (unless told not to), and holds a
bounded number of pins for a bounded time. Offline registries, changed by real state deltas;
the last test follows a real server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from promptctl.client import Registry
from promptctl.errors import NotFoundError, UsageError
from promptctl.session_pins import SessionPins
from promptctl.state import delta_doc
from tests.runtime_fixtures import offline_registry


def change(reg: Registry, rollback: bool = False, **fields: Any) -> None:
    """Apply a delta to ``reg``'s state changing support's entry (as the server sends it:
    a rollback's entry carries ``rolled_back_at``, its change id)."""
    state = reg.snapshot
    entry = dict(state.entry("support") or {})
    change_id = state.change_id + 1
    entry.update(fields, change_id=change_id)
    if rollback:
        entry["rolled_back_at"] = change_id
    state.apply(delta_doc(state.env, state.change_id, change_id, {"support": entry}))


def sessions_by_variant(reg: Registry, count: int = 200) -> dict[str, list[str]]:
    """Fresh sessions, pinned, grouped by the variant they got."""
    out: dict[str, list[str]] = {"stable": [], "canary": []}
    for i in range(count):
        session = f"conversation-{i}"
        out[reg.get("support", key=f"user-{i}", session=session).variant].append(session)
    return out


@pytest.fixture
def reg() -> Registry:
    return offline_registry(percent=30)


def test_a_conversation_keeps_its_bundle_across_canary_changes(reg: Registry) -> None:
    pinned = sessions_by_variant(reg)
    assert pinned["stable"] and pinned["canary"]
    for fields in ({"percent": 90}, {"percent": 5},  # raised, lowered
                   {"stable": "1.1.0", "canary": None, "percent": 0}):  # promoted to stable
        change(reg, **fields)
        for variant, sessions in pinned.items():
            version = "1.0.0" if variant == "stable" else "1.1.0"
            for i, session in enumerate(sessions):
                got = reg.get("support", key=f"someone-{i}", session=session)
                assert (got.version, got.variant) == (version, variant), (fields, session)
    fresh = reg.get("support", key="user-new", session="conversation-new")
    assert (fresh.version, fresh.variant) == ("1.1.0", "stable")  # today's rollout


def test_the_first_call_of_a_session_is_the_plain_lookup(reg: Registry) -> None:
    for i in range(100):
        assert reg.get("support", key=f"u{i}", session=f"s{i}") is reg.get("support", key=f"u{i}")
        # with no key, the session is what the rollout buckets on (its sessionId)
        assert reg.get("support", session=f"t{i}") is \
            reg.get("support", context={"sessionId": f"t{i}"})


def test_a_rollback_releases_the_pins_taken_before_it(reg: Registry) -> None:
    canary = sessions_by_variant(reg)["canary"]
    change(reg, canary=None, percent=0, rollback=True)
    for session in canary:
        got = reg.get("support", key="u", session=session)
        assert (got.version, got.variant) == ("1.0.0", "stable")
    # a pin taken after the rollback holds through later changes
    change(reg, canary="1.1.0", percent=99)
    assert reg.get("support", key="u", session=canary[0]).version == "1.0.0"


def test_a_rollback_folded_into_a_later_delta_still_releases(reg: Registry) -> None:
    canary = sessions_by_variant(reg)["canary"]
    state = reg.snapshot
    # one delta over two changes: a rollback (change 2) then a new 1% canary (change 3)
    entry = dict(state.entry("support") or {}, percent=1, change_id=3, rolled_back_at=2)
    state.apply(delta_doc(state.env, state.change_id, 3, {"support": entry}))
    released = [reg.get("support", key=f"user-{i}", session=s).variant
                for i, s in enumerate(canary)]
    assert released.count("canary") < len(canary) // 2  # re-picked at 1%, not kept


def test_pin_through_rollback_keeps_the_pins() -> None:
    reg = offline_registry(percent=30, pin_through_rollback=True)
    canary = sessions_by_variant(reg)["canary"]
    change(reg, canary=None, percent=0, rollback=True)
    assert {reg.get("support", session=s).version for s in canary} == {"1.1.0"}
    assert reg.get("support", key="anyone", session="a-new-one").version == "1.0.0"


def test_pins_expire_when_idle_and_the_least_recently_used_go_first(reg: Registry) -> None:
    now = [0.0]
    pins = SessionPins(ttl=10, max_pins=3, clock=lambda: now[0])
    state = reg.snapshot

    def get(session: str) -> str:
        return pins.get(state, "support", None, {"sessionId": session}, session,
                        state.resolve).variant

    first = {s: get(s) for s in ("a", "b", "c")}
    change(reg, stable="1.1.0", canary=None, percent=0)  # everyone new gets 1.1.0 stable
    now[0] = 5
    assert get("a") == first["a"]  # a used at 5: renewed until 15
    assert get("d") == "stable" and len(pins) == 3  # b (least recently used) went
    assert get("b") == "stable"  # re-picked: the current rollout
    now[0] = 14
    assert get("a") == first["a"] and len(pins) == 3
    now[0] = 30  # everything idle for longer than 10 s
    assert get("c") == "stable" and len(pins) == 1  # the expired ones were dropped
    assert pins.release() == 1 and len(pins) == 0


def test_a_prompt_gone_from_the_state_is_not_found_with_or_without_a_session(
        reg: Registry) -> None:
    reg.get("support", key="u", session="s")
    state = reg.snapshot
    state.apply(delta_doc(state.env, state.change_id, state.change_id + 1, {"support": None}))
    for session in ("s", None):
        with pytest.raises(NotFoundError, match="support"):
            reg.get("support", key="u", session=session)


@pytest.mark.parametrize("options", [{"session_ttl": 0}, {"max_sessions": 0}])
def test_bounds_that_hold_nothing_are_refused_with_a_clear_error(options: dict[str, Any]
                                                                 ) -> None:
    reg = offline_registry(percent=30, **options)
    with pytest.raises(UsageError, match="session pins need a positive TTL"):
        reg.get("support", key="u", session="s")
    assert reg.get("support", key="u").version in ("1.0.0", "1.1.0")  # get() unaffected


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_sdk_following_a_server_keeps_pins_through_canary_changes_not_a_rollback(
        live_server: Any, tmp_path: Path) -> None:
    from tests.proof_fixtures import sdk, wait_until

    def promote(percent: int) -> None:
        with live_server.client("deployer") as http:
            http.post("/v1/envs/production/prompts/support/promote",
                      json={"version": "1.1.0", "percent": percent}).raise_for_status()

    promote(99)
    with sdk(live_server, tmp_path) as reg:
        assert wait_until(lambda: reg.snapshot.entry("support")["percent"] == 99, 5)
        session = next(f"s{i}" for i in range(100)
                       if reg.get("support", key=f"u{i}", session=f"s{i}").variant == "canary")
        promote(1)
        assert wait_until(lambda: reg.snapshot.entry("support")["percent"] == 1, 5)
        assert reg.get("support", key="other", session=session).version == "1.1.0"
        with live_server.client("deployer") as http:
            http.post("/v1/envs/production/prompts/support/rollback").raise_for_status()
        assert wait_until(lambda: reg.snapshot.entry("support")["canary"] is None, 5)
        assert reg.snapshot.entry("support")["rolled_back_at"] == reg.change_id
        assert reg.get("support", key="other", session=session).version == "1.0.0"


def test_a_state_no_registry_holds_refuses_a_session_with_a_clear_error() -> None:
    """The server evaluates states too; pins are the SDK's, so a state on its own says so."""
    from promptctl.bundle_store import BundleStore
    from promptctl.state import state_from_snapshot
    from tests.runtime_fixtures import snapshot_doc

    state = state_from_snapshot(snapshot_doc(30), BundleStore())
    with pytest.raises(UsageError, match=r"Registry.get\(\.\.\., session=\.\.\.\)"):
        state.resolve("support", "u", None, session="s")
    assert state.resolve("support", "u").version in ("1.0.0", "1.1.0")
