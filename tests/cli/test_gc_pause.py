"""``gc_paused`` (the CLI's start-up imports run without the cyclic collector walking them)
changes nothing but when collections happen: the collector is back on after the block, a
nested block does not switch it on early, a caller's own ``gc.disable()`` is kept, and a
garbage cycle made inside the block is still collected afterwards (nothing stays frozen)."""

from __future__ import annotations

import gc
import weakref

from promptctl.cli.context import gc_paused


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_the_collector_is_off_inside_and_on_again_after() -> None:
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block does not resume it early
    assert gc.isenabled()


def test_a_collector_the_caller_switched_off_stays_off() -> None:
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_cycle_made_inside_the_block_is_still_collected_after() -> None:
    with gc_paused():
        a, b = Node(), Node()
        a.other, b.other = b, a
        probe = weakref.ref(a)
        del a, b
    assert probe() is not None  # not collected while paused, nor by refcounting
    gc.collect()
    assert probe() is None
