"""Malformed requests get a 4xx JSON error and change nothing; never a 500."""

from __future__ import annotations

import socket

import pytest

from tests.rollout_fixtures import Api, LiveServer

pytestmark = pytest.mark.slow

BASE = "/v1/envs/production/prompts/support"


MALFORMED = [  # method, path, body, expected status, expected error
    ("GET", "/v1/envs/moon/prompts/support/resolve", None, 404, "not_found"),
    ("GET", "/v1/envs/moon/snapshot", None, 404, "not_found"),
    ("GET", "/v1/envs/production/prompts/nope/resolve", None, 404, "not_found"),
    ("POST", "/v1/envs/moon/prompts/support/promote", {"version": "1.1.0"}, 404,
     "not_found"),
    ("POST", "/v1/envs/production/prompts/nope/promote", {"version": "1.0.0"}, 404,
     "not_found"),
    ("POST", f"{BASE}/promote", {"version": "9.9.9"}, 404, "not_found"),
    ("POST", f"{BASE}/promote", {"version": "1.1.0", "percent": 0}, 400, "usage"),
    ("POST", f"{BASE}/promote", {"version": "1.1.0", "percent": 101}, 400, "usage"),
    ("POST", f"{BASE}/promote", {"version": "1.1.0", "percent": -5}, 400, "usage"),
    ("POST", f"{BASE}/promote", {"version": "1.1.0", "percent": "ten"}, 422,
     "validation"),
    ("POST", f"{BASE}/promote", {"version": "1.1.0", "percent": 10.5}, 422,
     "validation"),
    ("POST", f"{BASE}/promote", {"version": "1.1.0", "percent": True}, 422,
     "validation"),
    ("POST", f"{BASE}/promote", {"version": 1.1}, 422, "validation"),
    ("POST", f"{BASE}/promote", {"version": ["1.1.0"]}, 422, "validation"),
    ("POST", f"{BASE}/promote", {"percent": 10}, 422, "validation"),
    ("POST", f"{BASE}/promote", {"version": "1.1.0", "sneaky": 1}, 422, "validation"),
    ("POST", f"{BASE}/promote", [1, 2], 422, "validation"),
    ("POST", f"{BASE}/promote", "not json", 422, "validation"),
    ("POST", f"{BASE}/rollback", {"reason": 5}, 422, "validation"),
    ("GET", "/v1/envs/production/prompts/support/resolve?key=" + "k" * 300, None, 422,
     "validation"),
    ("GET", "/v1/envs/Bad Env/snapshot", None, 422, "validation"),
    ("GET", "/v1/envs/production/prompts/support/history/extra", None, 404, "not_found"),
    ("DELETE", f"{BASE}/promote", None, 405, "method_not_allowed"),
    ("POST", f"{BASE}/promote", "x" * 200_000, 413, "payload_too_large"),
    # PostgreSQL text cannot hold NUL: refused up front on every backend, never a 500
    ("POST", f"{BASE}/promote", {"version": "1.1.0\x00"}, 422, "validation"),
    ("POST", f"{BASE}/promote", {"version": "1.1.0", "reason": "a\x00b"}, 422,
     "validation"),
    ("POST", f"{BASE}/rollback", {"actor": "\x00"}, 422, "validation"),
    ("POST", "/v1/tokens", {"role": "deployer", "name": "ci\x00"}, 422, "validation"),
    ("POST", "/v1/tokens", {"role": "reader", "env": "prod\x00"}, 422, "validation"),
    ("POST", "/v1/tokens", {"role": "reader", "env": "Bad Env"}, 422, "validation"),
]


def test_malformed_requests_get_a_json_4xx_and_change_nothing(api: Api) -> None:
    """One app, every malformed request in turn."""
    with api.client("admin") as http:
        before = http.get(f"{BASE}/history").json()
        for method, path, body, status, error in MALFORMED:
            if isinstance(body, str):
                response = http.request(method, path, content=body,
                                        headers={"Content-Type": "application/json"})
            else:
                response = http.request(method, path, json=body)
            case = f"{method} {path[:60]} {str(body)[:40]}"
            assert response.status_code == status, f"{case}: {response.text}"
            data = response.json()
            assert data["error"] == error and data["detail"], case
        assert http.get(f"{BASE}/history").json() == before


def test_a_huge_chunked_body_without_length_is_refused(live_server: LiveServer) -> None:
    """The body limit holds even when the client does not declare a length (raw HTTP/1.1
    over a socket, so through uvicorn's parser too)."""
    token = live_server.tokens["deployer"]
    head = (f"POST {BASE}/promote HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    chunks = [b"x" * 16_384] * 4 + [b"x" * 16]  # just over the 64 KiB limit
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    with socket.create_connection(("127.0.0.1", live_server.port), timeout=10) as sock:
        sock.sendall(head + body)
        reply = b""
        while data := sock.recv(65536):
            reply += data
    assert reply.startswith(b"HTTP/1.1 413"), reply[:100]
    assert b'"payload_too_large"' in reply
