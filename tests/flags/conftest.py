"""Fixtures and helpers for the Unleash tests: the real server started by `.ci/services.sh`
(skipped locally without it, a failure in CI) and an app's ``UnleashClient`` connected to it."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from UnleashClient import UnleashClient
from UnleashClient.utils import InstanceAllowType

from promptctl.bucketing import in_rollout
from promptctl.errors import NotFoundError
from promptctl.flags.unleash import UnleashFlagBackend
from promptctl.flags.unleash_reader import connect
from tests.conftest import require_service

KEYS = [f"user-{i}" for i in range(10_000)]
REFRESH_S = 1
SEEN_WITHIN_S = 5.0  # refresh interval plus generous slack for a loaded 2-core machine

ENV_VARS = ("PROMPTCTL_TEST_UNLEASH_URL", "PROMPTCTL_TEST_UNLEASH_ADMIN_TOKEN",
            "PROMPTCTL_TEST_UNLEASH_CLIENT_TOKEN")


@pytest.fixture
def unleash() -> dict[str, str]:
    """URL and tokens of the test Unleash server."""
    present = all(os.environ.get(name) for name in ENV_VARS)
    require_service(present, "Unleash (PROMPTCTL_TEST_UNLEASH_URL and tokens)")
    return {name: os.environ[name] for name in ENV_VARS}


@pytest.fixture
def backend(unleash: dict[str, str]) -> Iterator[UnleashFlagBackend]:
    b = UnleashFlagBackend(unleash["PROMPTCTL_TEST_UNLEASH_URL"],
                           unleash["PROMPTCTL_TEST_UNLEASH_ADMIN_TOKEN"])
    yield b
    b.close()


@pytest.fixture
def client(unleash: dict[str, str], tmp_path: Path) -> Iterator[UnleashClient]:
    """An app's UnleashClient on the same server: client token, 1 s polling, no metrics."""
    c = connect(unleash["PROMPTCTL_TEST_UNLEASH_URL"],
                unleash["PROMPTCTL_TEST_UNLEASH_CLIENT_TOKEN"],
                app_name="promptctl-tests", refresh_interval=REFRESH_S,
                disable_metrics=True, disable_registration=True,
                cache_directory=str(tmp_path / "unleash-cache"),
                multiple_instance_mode=InstanceAllowType.SILENTLY_ALLOW)
    yield c
    c.destroy()


@pytest.fixture
def prompt() -> str:
    return f"p{uuid.uuid4().hex[:10]}"


def wait_until(check: Callable[[], bool], timeout: float = SEEN_WITHIN_S) -> float:
    """Seconds until ``check()`` held; fails the test after ``timeout``.

    A flag the client has not fetched yet reads as not found: that is "not yet", too.
    """
    start = time.monotonic()
    while not _holds(check):
        if time.monotonic() - start > timeout:
            pytest.fail(f"not seen by UnleashClient within {timeout} s")
        time.sleep(0.05)
    return time.monotonic() - start


def _holds(check: Callable[[], bool]) -> bool:
    try:
        return check()
    except NotFoundError:
        return False


def first_key_in(percent: int, prompt: str, outside_of: int = 0) -> str:
    """A key in the ``percent`` canary (and not in the ``outside_of`` one): a probe to wait on."""
    return next(k for k in KEYS if in_rollout(percent, prompt, {"userId": k})
                and not in_rollout(outside_of, prompt, {"userId": k}))
