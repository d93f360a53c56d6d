"""Session pins: one conversation keeps the bundle it started with, across canary changes.

``reg.get("support", key=user, session=conversation_id)`` answers the first call of a
conversation as ``get()`` always does and *pins* that bundle to ``(prompt, session)``; every
later call with the same session gets the same bundle, whatever the rollout did meanwhile
(a canary raised, lowered, replaced, or promoted to stable), so a conversation never
switches prompts halfway. Without ``session``, ``get()`` is untouched (and as fast).

A pin is released, and the next call resolves afresh and pins again, when:

- the prompt was **rolled back** after the pin was taken: a rollback means "stop serving
  that", so conversations let go of it too. The state tells: each entry of a prompt that was
  ever rolled back carries ``rolled_back_at``, the change id of its latest rollback, which a
  pin compares with the change id it was taken at (so a rollback followed by other changes,
  folded into one delta, is still seen). ``Registry(..., pin_through_rollback=True)`` keeps
  pins through rollbacks instead.
- it was **idle** longer than the TTL (``session_pin_ttl_seconds``, default one hour; each
  use renews it), or
- it is the **least recently used** of more than ``max_session_pins`` (default 100,000).

Both bounds come from :mod:`promptctl.limits` and can be set per ``Registry``
(``session_ttl=``, ``max_sessions=``). Pins live in the process's memory: an app with several
processes should route a conversation to one of them, or accept a re-pick at a process switch.
Standard library only; the SDK loads this module on the first ``get()`` with a session.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from promptctl.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from promptctl.snapshot import ResolvedBundle
    from promptctl.state import State

__all__ = ["SessionPins"]

Resolve = Callable[[str, object, "Mapping[str, object] | None"], "ResolvedBundle"]


class _Pin:
    __slots__ = ("bundle", "checked", "expires")

    def __init__(self, bundle: ResolvedBundle, checked: int, expires: float) -> None:
        self.bundle = bundle
        self.checked = checked  # the state's change id up to which no rollback released it
        self.expires = expires


class SessionPins:
    """The pins of one Registry: ``(prompt, session) -> bundle``, bounded by TTL and LRU."""

    def __init__(self, ttl: float | None = None, max_pins: int | None = None, *,
                 through_rollback: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        from promptctl.limits import DEFAULT_LIMITS

        self.ttl = DEFAULT_LIMITS.session_pin_ttl_seconds if ttl is None else ttl
        self.max_pins = DEFAULT_LIMITS.max_session_pins if max_pins is None else max_pins
        if not self.ttl > 0 or self.max_pins < 1:
            raise UsageError(f"session pins need a positive TTL and room for one pin, not "
                             f"ttl={self.ttl!r}, max_pins={self.max_pins!r}")
        self.through_rollback = through_rollback
        self._clock = clock
        self._pins: OrderedDict[tuple[str, str], _Pin] = OrderedDict()  # oldest use first
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._pins)

    def get(self, state: State, name: str, key: object, context: Mapping[str, object] | None,
            session: object, resolve: Resolve) -> ResolvedBundle:
        """The bundle pinned to ``(name, session)``, or the one ``resolve`` picks now (then
        pinned)."""
        slot = (name, str(session))
        try:
            latest = state.rollout(name).stable.change_id  # the entry's last change
        except NotFoundError:
            with self._lock:
                self._pins.pop(slot, None)
            raise
        now = self._clock()
        with self._lock:
            pin = self._pins.get(slot)
            if pin is not None and pin.expires > now and self._holds(state, name, pin, latest):
                pin.expires = now + self.ttl
                self._pins.move_to_end(slot)
                return pin.bundle
        seen = state.change_id  # read before resolving: a rollback after it is still seen
        bundle = resolve(name, key, context)
        with self._lock:
            self._pins[slot] = _Pin(bundle, seen, now + self.ttl)
            self._pins.move_to_end(slot)
            self._evict(now)
        return bundle

    def release(self, name: str | None = None) -> int:
        """Drop every pin (of prompt ``name``, or all); how many were dropped."""
        with self._lock:
            slots = [s for s in self._pins if name is None or s[0] == name]
            for slot in slots:
                del self._pins[slot]
            return len(slots)

    def _holds(self, state: State, name: str, pin: _Pin, latest: int) -> bool:
        """Whether ``pin`` survives what changed its prompt since it was last checked."""
        if latest <= pin.checked:
            return True  # the prompt's rollout has not changed since: the common case
        if not self.through_rollback:
            entry = state.entry(name) or {}
            if int(entry.get("rolled_back_at") or 0) > pin.checked:
                return False
        pin.checked = latest
        return True

    def _evict(self, now: float) -> None:
        """Drop expired pins from the least recently used end, then any past the bound.
        Uses renew a pin's expiry and move it to the other end, so the expired ones are all
        at this end: each call costs O(what it drops)."""
        pins = self._pins
        while pins:
            oldest = next(iter(pins.values()))
            if oldest.expires > now and len(pins) <= self.max_pins:
                return
            pins.popitem(last=False)
