"""The API server dies (SIGKILL) while SDKs follow its event stream: they keep serving from
memory, reconnect when it is back on the same port, and converge to what changed meanwhile."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.proof_fixtures import sdk, wait_until
from tests.rollout_fixtures import Server

pytestmark = pytest.mark.slow

KEYS = [f"user-{i}" for i in range(200)]
CONVERGE_BOUND_S = 15.0  # SDK reconnect backoff is capped at 5 s; generous on a noisy CI box


def served(reg) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {key: reg.get("support", key=key).version for key in KEYS}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sdks_keep_serving_through_a_crash_and_converge_after_restart(
        server: Server, tmp_path: Path) -> None:
    with server.client("deployer") as http:
        http.post("/v1/envs/production/prompts/support/promote",
                  json={"version": "1.1.0", "percent": 50}).raise_for_status()
    sdks = [sdk(server, tmp_path, f"sdk-{i}") for i in range(3)]
    try:
        assert all(wait_until(lambda r=r: set(served(r).values()) == {"1.0.0", "1.1.0"}, 5)
                   for r in sdks)
        before = [served(r) for r in sdks]
        assert before[0] == before[1] == before[2]

        server.kill()  # mid-stream: every SDK holds an open event stream
        time.sleep(1.0)  # let the SDKs notice and start retrying
        assert [served(r) for r in sdks] == before  # serving from memory, same answers

        # A change while the server is down, straight to the database.
        result = server.cli("rollback", "support", "--env", "production", "--reason", "down")
        assert result.exit_code == 0, result.output
        time.sleep(0.5)
        assert [served(r) for r in sdks] == before  # nobody could have told them yet

        server.start()  # same port
        start = time.monotonic()
        for reg in sdks:
            assert wait_until(lambda r=reg: set(served(r).values()) == {"1.0.0"},
                              CONVERGE_BOUND_S), "an SDK did not converge after the restart"
        converged = time.monotonic() - start
        assert converged < CONVERGE_BOUND_S
        assert all(r.get("support", key="k").variant == "stable" for r in sdks)
    finally:
        for reg in sdks:
            reg.close()
