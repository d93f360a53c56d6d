"""``track()`` and the in-process aggregation behind it.

``track()`` is on the app's hot path, next to an LLM call, so it only appends one tuple to a
bounded ``collections.deque`` (atomic under the GIL: no lock, no I/O, nothing that raises on
bad input). The background thread drains the queue, checks what needs checking (outputs,
tool arguments), and adds each call to the aggregate of its (prompt, version, variant) and
fixed time window. Memory is bounded twice: the queue holds at most ``max_queued`` calls
(more are counted as dropped), and at most ``max_windows`` windows wait to be sent, each for
at most ``keep_seconds`` (older ones are dropped and counted too).
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any

from promptctl.telemetry.checks import Checker
from promptctl.telemetry.window import Aggregate

MAX_QUEUED = 100_000
MAX_WINDOWS = 5_000
MAX_KIND = 64  # error kinds longer than this are cut: they are labels, not messages

WindowKey = tuple[str, str, str, float]  # prompt, version, variant, window start


class Recorder:
    def __init__(self, *, window_seconds: float = 10.0, keep_seconds: float = 600.0,
                 max_queued: int = MAX_QUEUED, max_windows: int = MAX_WINDOWS) -> None:
        self.window_seconds = window_seconds
        self.keep_seconds = keep_seconds
        self.max_windows = max_windows
        self._queue: deque[tuple[Any, ...]] = deque()
        self._cap = max_queued
        self._windows: dict[WindowKey, Aggregate] = {}
        self._checker = Checker()
        self.dropped_calls = 0  # the queue was full
        self.dropped_windows = 0  # kept too long (server down) or too many
        self.rejected_calls = 0  # arguments track() could not use

    def track(self, bundle: Any, latency: float | None = None, input_tokens: int = 0,
              output_tokens: int = 0, cost: float = 0.0, error: str | None = None,
              feedback: int = 0, output: object = None, tool_calls: object = None
              ) -> None:
        """Record one LLM call made with ``bundle`` (a ``ResolvedBundle``).

        ``latency`` in seconds; ``error`` a short kind (``"timeout"``, ``"rate_limit"``) or
        None; ``feedback`` +1/-1 (or 0); ``output``: the model's answer (parsed, or JSON
        text) to check against the prompt's ``output_schema``; ``tool_calls``:
        ``[{"name", "arguments"}]`` to check against the tools' parameters. Never blocks,
        never does I/O, never raises: the call is checked and counted on the background
        thread.
        """
        queue = self._queue
        if len(queue) < self._cap:
            queue.append((time.time(), bundle, latency, input_tokens, output_tokens, cost,
                          error, feedback, output, tool_calls))
        else:
            self.dropped_calls += 1

    # -- the background thread ----------------------------------------------------------------

    def drain(self) -> int:
        """Aggregate every queued call; how many were."""
        queue, done = self._queue, 0
        while True:
            try:
                item = queue.popleft()
            except IndexError:
                return done
            done += 1
            try:
                self._add(*item)
            except Exception:
                self.rejected_calls += 1

    def _add(self, at: float, bundle: Any, latency: Any, input_tokens: Any, output_tokens: Any,
             cost: Any, error: Any, feedback: Any, output: object, tool_calls: object) -> None:
        if latency is not None:
            latency = float(latency)
            if not math.isfinite(latency) or latency < 0:
                raise ValueError("latency")
        numbers = (_count(input_tokens), _count(output_tokens), _amount(cost))
        kind = None if error is None or error is False else (
            "error" if error is True else str(error)[:MAX_KIND] or "error")
        start = math.floor(at / self.window_seconds) * self.window_seconds
        key = (bundle.name, bundle.version, bundle.variant, start)
        window = self._windows.get(key)
        if window is None:
            if len(self._windows) >= self.max_windows:
                del self._windows[next(iter(self._windows))]  # the oldest
                self.dropped_windows += 1
            window = self._windows[key] = Aggregate()
        window.add(latency, *numbers, kind, int(feedback))
        if output is not None:
            valid = self._checker.output_valid(bundle, output)
            if valid is not None:
                window.schema_checked += 1
                window.schema_valid += valid
        if tool_calls is not None:
            checked, valid_calls = self._checker.tool_calls_valid(bundle, tool_calls)
            window.tool_checked += checked
            window.tool_valid += valid_calls

    def closed(self, now: float, *, everything: bool = False, limit: int = 200
               ) -> list[tuple[WindowKey, dict[str, Any]]]:
        """Up to ``limit`` windows that ended by ``now`` (all of them with
        ``everything``), oldest first, in their wire form. They stay held until
        :meth:`sent`; windows older than ``keep_seconds`` are dropped (and counted)."""
        self.expire(now)
        out = []
        for key, window in self._windows.items():
            if everything or key[3] + self.window_seconds <= now:
                out.append((key, window.to_dict(*key)))
                if len(out) >= limit:
                    break
        return out

    def sent(self, keys: list[WindowKey]) -> None:
        for key in keys:
            self._windows.pop(key, None)

    def expire(self, now: float) -> None:
        old = [k for k in self._windows if k[3] + self.window_seconds < now - self.keep_seconds]
        for key in old:
            del self._windows[key]
        self.dropped_windows += len(old)

    @property
    def pending_windows(self) -> int:
        return len(self._windows)


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("count")
    return value


def _amount(value: Any) -> float:
    amount = float(value)
    if not math.isfinite(amount) or amount < 0:
        raise ValueError("amount")
    return amount
