"""Stable error codes on the wire: every error class has one code in ERROR_TABLE, the server
sends it as ``{"error": code, "detail": message}``, and the SDK (and the CLI's remote mode)
turn that body back into the same class, from the same table."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from promptctl import errors
from promptctl.api import create_app
from promptctl.config import load_settings
from promptctl.errors import ERROR_TABLE, PromptctlError, error_class, error_from_code
from promptctl.http_errors import error_from_body, error_from_response
from promptctl.store import Store
from tests.conftest import Cli
from tests.rollout_fixtures import create_token


def every_error_class(base: type[PromptctlError] = PromptctlError
                      ) -> Iterator[type[PromptctlError]]:
    yield base
    for sub in base.__subclasses__():
        yield from every_error_class(sub)


CLASSES = sorted(set(every_error_class()), key=lambda cls: cls.__name__)


def body_of(error: PromptctlError) -> bytes:
    """What the API's error handler sends for ``error``."""
    items = {"items": error.detail} if error.detail is not None else {}
    return httpx.Response(200, json={"error": error.code, "detail": error.message,
                                     **items}).content


@pytest.mark.parametrize("cls", CLASSES, ids=[cls.__name__ for cls in CLASSES])
def test_every_error_class_has_its_own_code_in_the_one_table(cls: type[PromptctlError]
                                                             ) -> None:
    assert cls in ERROR_TABLE, f"{cls.__name__} needs its own row in ERROR_TABLE"
    mapping = ERROR_TABLE[cls]
    assert cls.code == mapping.code and cls("x").code == mapping.code
    assert mapping.code.isidentifier() and mapping.code == mapping.code.lower()
    assert error_class(mapping.code) is cls


def test_no_two_classes_share_a_code() -> None:
    codes = [mapping.code for mapping in ERROR_TABLE.values()]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("cls", CLASSES, ids=[cls.__name__ for cls in CLASSES])
def test_every_error_class_round_trips_through_the_sdk_decoding(cls: type[PromptctlError]
                                                                ) -> None:
    sent = cls("prompt 'x' went wrong", detail=[{"path": "a.yaml", "line": 3}])
    back = error_from_body(sent.http_status, body_of(sent))
    assert type(back) is cls
    assert back.message == sent.message and back.detail == sent.detail
    assert (back.exit_code, back.http_status) == (sent.exit_code, sent.http_status)
    # the CLI's remote mode decodes an httpx response the same way
    response = httpx.Response(sent.http_status, content=body_of(sent))
    assert type(error_from_response(response)) is cls
    assert type(error_from_code(cls.code, "m")) is cls


def test_bodies_without_a_known_code_fall_back_to_the_status() -> None:
    """A proxy's HTML 502, or a code from a newer server, still becomes a sensible class."""
    assert type(error_from_body(502, b"<html>Bad Gateway</html>", "Bad Gateway")) is \
        errors.BackendUnavailable
    assert error_from_body(502, b"<html>Bad Gateway</html>").message == \
        "<html>Bad Gateway</html>"
    assert type(error_from_body(404, b"")) is errors.NotFoundError
    assert type(error_from_body(409, b'{"error": "some_future_code", "detail": "d"}')) is \
        errors.ConflictError
    assert type(error_from_body(418, b"{}")) is errors.UsageError
    # class names (what `error` carried before codes) are still understood
    assert type(error_from_body(409, b'{"error": "DirtyTreeError", "detail": "d"}')) is \
        errors.DirtyTreeError


@pytest.fixture
def api(released: Cli) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The real app in process, plus a route that fails on a bug (to see the 500 body)."""
    assert released("promote", "support", "1.0.0", "--env", "production").exit_code == 0
    tokens = {"reader": create_token(released, "reader", "production"),
              "reader_staging": create_token(released, "reader", "staging"),
              "deployer": create_token(released, "deployer")}
    store = Store.open(released.db)
    app = create_app(load_settings(released.root, db=released.db), store=store, max_body=1024)

    def bug() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/test/bug", bug)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, tokens
    store.dispose()


def test_every_code_the_server_sends_decodes_to_its_class(
        api: tuple[TestClient, dict[str, str]]) -> None:
    client, tokens = api
    reader = {"Authorization": f"Bearer {tokens['reader']}"}
    deployer = {"Authorization": f"Bearer {tokens['deployer']}"}
    staging = {"Authorization": f"Bearer {tokens['reader_staging']}"}
    base = "/v1/envs/production/prompts/support"
    cases = [  # (request, the class the SDK must see)
        (lambda: client.get(f"{base}/resolve"), errors.AuthError),
        (lambda: client.get(f"{base}/resolve", headers={"Authorization": "Bearer pct_x"}),
         errors.AuthError),
        (lambda: client.get(f"{base}/resolve", headers=staging), errors.PermissionDenied),
        (lambda: client.get("/v1/envs/moon/snapshot", headers=deployer), errors.NotFoundError),
        (lambda: client.get("/v1/no/such/route", headers=reader), errors.NotFoundError),
        (lambda: client.delete(f"{base}/promote", headers=deployer), errors.MethodNotAllowed),
        (lambda: client.post(f"{base}/promote", headers=deployer, content=b"x" * 4096),
         errors.PayloadTooLarge),
        (lambda: client.post(f"{base}/promote", headers=deployer, json={"percent": 10}),
         errors.ValidationError),
        (lambda: client.get("/v1/envs/Bad Env/snapshot", headers=reader),
         errors.ValidationError),
        (lambda: client.post(f"{base}/promote", headers=deployer,
                             json={"version": "1.1.0", "percent": 0}), errors.UsageError),
        (lambda: client.post(f"{base}/promote", headers=deployer, json={"version": "9.9.9"}),
         errors.NotFoundError),
        (lambda: client.get("/test/bug"), errors.InternalError),
    ]
    for send, expected in cases:
        response = send()
        body = response.json()
        case = f"{response.request.method} {response.request.url.path}: {response.text}"
        assert set(body) >= {"error", "detail"} and body["detail"], case
        assert body["error"] == expected.code, case
        decoded = error_from_body(response.status_code, response.content)
        assert type(decoded) is expected, case
        assert decoded.http_status == response.status_code, case
        assert decoded.message == body["detail"], case
