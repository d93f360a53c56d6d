"""A process-wide memo that cannot grow without bound.

Several hot paths remember work per key for the life of the process: parsed files by
blob id (``diff``), detect-secrets' verdict per line (``lint``), looked-up tokens (the
API), bundles by fingerprint (the SDK). Their keys come from input, so each cache has a
ceiling; when it is reached the cache is emptied and refills from what is used next. That
is cruder than LRU but costs nothing per hit, and a full cache means the working set is
larger than the ceiling anyway.

Standard library only, so the SDK can use it.
"""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(dict[K, V]):
    """A dict of at most about ``limit`` entries: :meth:`put` empties it when full."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        if limit < 1:
            raise ValueError(f"a cache holds at least one entry, not {limit}")
        self.limit = limit

    def put(self, key: K, value: V) -> V:
        """Remember ``value`` under ``key`` (emptying the cache first if it is full)."""
        if key not in self:
            self.make_room()
        self[key] = value
        return value

    def make_room(self, count: int = 1) -> None:
        """Empty the cache if ``count`` more entries would pass the limit. A caller about
        to add a batch that it then reads back whole calls this once, first, and adds the
        batch with plain item assignment, so nothing it added is forgotten midway."""
        if len(self) + count > self.limit:
            self.clear()


class BytesCache:
    """Byte strings by key, at most ``budget_bytes`` of them in all: the least recently
    used go first. For values that are expensive to make but can always be made again
    (the server's bundle bytes, computed from the store), so memory stays bounded whatever
    the number of keys. Not thread-safe: callers hold their own lock."""

    def __init__(self, budget_bytes: int) -> None:
        from collections import OrderedDict  # only the server needs it

        if budget_bytes < 1:
            raise ValueError(f"a cache holds at least one byte, not {budget_bytes}")
        self.budget_bytes = budget_bytes
        self.bytes = 0
        self._items: OrderedDict[str, bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def get(self, key: str) -> bytes | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: bytes) -> None:
        """Keep ``value`` (one larger than the whole budget is not kept)."""
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= len(old)
        if len(value) > self.budget_bytes:
            return
        self._items[key] = value
        self.bytes += len(value)
        while self.bytes > self.budget_bytes:
            _, dropped = self._items.popitem(last=False)
            self.bytes -= len(dropped)
