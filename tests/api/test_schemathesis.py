"""Property-based fuzzing of the running API from its own OpenAPI schema (schemathesis):
whatever a client sends, with valid tokens of the right role, the server never answers 5xx.

Each generated case is sent twice: as generated (mostly unknown environments and prompts,
so the 4xx paths) and with the path pointing at the real ``production``/``support`` rollout
and a released version (so the success paths, including promotions and rollbacks).
Bounded by ``MAX_EXAMPLES`` per operation (``PROMPTCTL_FUZZ_EXAMPLES``, default 30).
The event stream (an endless SSE response) is left to ``test_api_lookup``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from promptctl.api.routes import router
from tests.conftest import EXAMPLE_PROMPTS, Cli, commit_all, make_repo, pg_test_database
from tests.proof_fixtures import deploy
from tests.rollout_fixtures import LiveServer

pytestmark = pytest.mark.slow

MAX_EXAMPLES = int(os.environ.get("PROMPTCTL_FUZZ_EXAMPLES", "30"))  # raise for a deeper local run
REAL_PATH = {"env": "production", "name": "support"}
RELEASED = ["1.0.0", "1.1.0", "1.2.0"]
ROLE_BY_TAG = {"lookup": "reader", "service": "reader", "rollout": "deployer",
               "admin": "admin"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fuzzed_db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('schemathesis-db') / 'registry.db'}"
        return
    yield from pg_test_database()


@pytest.fixture(scope="module")
def fuzzed_server(fuzzed_db: str, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[LiveServer]:
    """One server per database (the app on an in-process uvicorn thread, fuzzed over real
    HTTP): support 1.0.0-1.2.0 released, 1.0.0 stable in production."""
    tmp = tmp_path_factory.mktemp("schemathesis")
    repo = make_repo(tmp / "repo")
    shutil.copytree(EXAMPLE_PROMPTS, tmp / "repo" / "prompts")
    commit_all(repo, "example prompts")
    cli = Cli(tmp / "repo", fuzzed_db)
    server = LiveServer(cli, deploy(cli))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api_schema(fuzzed_server: LiveServer):  # type: ignore[no-untyped-def]
    return schemathesis.openapi.from_url(f"{fuzzed_server.url}/openapi.json")


@pytest.fixture(scope="module")
def our_token_ids(fuzzed_server: LiveServer) -> set[int]:
    with fuzzed_server.client("admin") as http:
        return {t["id"] for t in http.get("/v1/tokens").json()}


def operations() -> list[tuple[str, str]]:
    """Every (method, path) of the API but the endless event stream, known without a server."""
    return sorted((method, route.path) for route in router.routes
                  if isinstance(route, APIRoute) and not route.path.endswith("/events")
                  for method in route.methods)


# schemathesis' own pytest plugin does not run on pytest 9 yet, so each operation drives
# Hypothesis directly with schemathesis' strategy for it: valid and invalid requests alike.
@pytest.mark.parametrize(("method", "path"), operations())
def test_no_request_makes_the_server_fail(method: str, path: str, api_schema,  # type: ignore[no-untyped-def]
                                          fuzzed_server: LiveServer,
                                          our_token_ids: set[int]) -> None:
    operation = api_schema[path][method]
    tags = operation.tags or ["service"]
    headers = {"Authorization": f"Bearer {fuzzed_server.tokens[ROLE_BY_TAG[tags[0]]]}"}
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                      operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def fuzz(case) -> None:  # type: ignore[no-untyped-def]
        params = case.path_parameters or {}
        if params.get("token_id") in our_token_ids:
            params["token_id"] = 10**6  # keep the tokens this test runs with
        case.call_and_validate(base_url=fuzzed_server.url, headers=headers,
                               checks=[not_a_server_error], timeout=30)
        if set(REAL_PATH) & set(params):
            params.update({k: v for k, v in REAL_PATH.items() if k in params})
            if isinstance(case.body, dict) and "version" in case.body:
                case.body["version"] = RELEASED[len(str(case.body)) % len(RELEASED)]
            case.call_and_validate(base_url=fuzzed_server.url, headers=headers,
                                   checks=[not_a_server_error], timeout=30)

    fuzz()


def test_the_fuzzer_reached_real_rollouts(fuzzed_server: LiveServer) -> None:
    """Guard against a vacuous run: the real rollout was resolved and changed."""
    text = httpx.get(f"{fuzzed_server.url}/metrics", timeout=10).text
    requests = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("promptctl_http_requests_total{"))
    print(f"\nschemathesis sent {requests:.0f} requests; none was answered 5xx")
    assert requests > 200
    assert 'status="5' not in text
    assert 'route="/v1/envs/{env}/prompts/{name}/resolve",status="200"' in text
    assert 'route="/v1/envs/{env}/prompts/{name}/promote",status="200"' in text \
        or 'route="/v1/envs/{env}/prompts/{name}/rollback",status="200"' in text
