"""The one bounded memo the diff, lint, API and SDK caches are built on."""

from __future__ import annotations

import pytest

from promptctl.bounded_cache import BoundedCache


def test_a_full_cache_empties_before_it_takes_a_new_key() -> None:
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.put("c", 3) == 3
    assert dict(cache) == {"c": 3}


def test_replacing_a_key_of_a_full_cache_keeps_the_others() -> None:
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 10)
    assert dict(cache) == {"a": 10, "b": 2}


def test_making_room_for_a_batch_keeps_the_whole_batch_readable() -> None:
    """What ``lint``'s secret scan relies on: a batch added after ``make_room`` is all
    there to read back, even when it alone is larger than the limit."""
    cache: BoundedCache[int, int] = BoundedCache(3)
    cache.put(0, 0)
    cache.make_room(5)
    assert not cache
    for key in range(5):
        cache[key] = key
    assert sorted(cache) == [0, 1, 2, 3, 4]
    cache.make_room(0)
    assert len(cache) == 0


def test_room_left_is_not_emptied() -> None:
    cache: BoundedCache[int, int] = BoundedCache(3)
    cache.put(1, 1)
    cache.make_room(2)
    assert dict(cache) == {1: 1}


def test_a_cache_holds_at_least_one_entry() -> None:
    with pytest.raises(ValueError, match="at least one"):
        BoundedCache(0)
