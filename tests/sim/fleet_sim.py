"""A simulated fleet: SDK instances (each a real :class:`promptctl.client.Registry` with its
follower and reporter threads) serving traffic on app threads, with a cost, latency, error
and output-validity profile per prompt version. Used by the guarded-rollout simulations and
by ``bench/guards.py``."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from promptctl.client import Registry

VALID = {"answer": "Your parcel ships today.", "sources": ["Shipping times"]}
INVALID = {"reply": "missing the required fields"}


@dataclass
class Profile:
    """How calls served by one version behave."""

    cost: float = 0.01
    latency: float = 0.4
    schema_valid: float = 0.99
    error_rate: float = 0.0


@dataclass
class Fleet:
    url: str
    env: str
    token: str
    size: int = 20
    calls_per_second: float = 150.0  # per instance
    profiles: dict[str, Profile] = field(default_factory=dict)
    flush_interval: float = 0.4
    prompt: str = "support"
    instances: list[Registry] = field(default_factory=list)
    traffic: bool = True
    _counters: dict[str, itertools.count[int]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self, urls: list[str] | None = None) -> Fleet:
        for index in range(self.size):
            url = (urls or [self.url])[index % len(urls or [self.url])]
            self.instances.append(Registry(url, self.env, self.token, app_name="checkout",
                                           instance_id=f"{self.env}-{index:02d}",
                                           flush_interval=self.flush_interval,
                                           poll_interval=0.2))
        starting = [threading.Thread(target=reg.start) for reg in self.instances]
        for thread in starting:  # together: each start is a few requests
            thread.start()
        for thread in starting:
            thread.join(30)
        for index, reg in enumerate(self.instances):
            thread = threading.Thread(target=self._serve, args=(reg, index), daemon=True,
                                      name=f"app-{index}")
            thread.start()
            self._threads.append(thread)
        return self

    def _serve(self, reg: Registry, index: int) -> None:
        rng = random.Random(index)
        batch = max(1, int(self.calls_per_second / 20))
        while not self._stop.wait(0.05):
            if not self.traffic:
                continue
            for _ in range(batch):
                bundle = reg.get(self.prompt, key=f"user-{rng.randrange(10**9)}")
                p = self.profiles.get(bundle.version, Profile())
                # Deterministic shares over the whole fleet: the n-th call of a version is
                # invalid (or failed) exactly as often as the profile says.
                n = next(self._counters.setdefault(bundle.version, itertools.count()))
                valid = (n % 100) < round(p.schema_valid * 100)
                failed = (n % 100) < round(p.error_rate * 100)
                reg.track(bundle, p.latency * rng.uniform(0.95, 1.05), 200, 50, p.cost,
                          "timeout" if failed else None, output=VALID if valid else INVALID)

    def stop_instance(self, index: int) -> None:
        """Close instance ``index`` (its app goes away: no more reports)."""
        self.instances[index].close()

    def freeze_instance(self, index: int) -> None:
        """Stop instance ``index`` applying changes, while it keeps reporting (a hung
        follower thread): the instance ``--wait`` must name."""
        reg = self.instances[index]
        reg._stop.set()  # the follower exits; the reporter keeps going
        sock = reg._stream_socket
        if sock is not None:
            import socket

            sock.shutdown(socket.SHUT_RDWR)

    def versions(self, keys: int = 200) -> set[str]:
        """The versions the live instances serve, over ``keys`` keys each."""
        return {reg.get(self.prompt, key=f"k{k}").version
                for reg in self.instances if not reg._closed for k in range(keys)}

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        closing = [threading.Thread(target=reg.close) for reg in self.instances]
        for thread in closing:  # together: each sends its last windows
            thread.start()
        for thread in closing:
            thread.join(10)


def until(check: Callable[[], Any], timeout: float, every: float = 0.05) -> Any:
    """Poll ``check`` until it returns something true (returned), within ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {timeout} s: {check}")
        time.sleep(every)


def api_get(url: str, token: str, path: str, **params: str) -> Any:
    response = httpx.get(f"{url}{path}", params=params, timeout=5,
                         headers={"Authorization": f"Bearer {token}"})
    response.raise_for_status()
    return response.json()
