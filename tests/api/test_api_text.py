"""Text the API records (actor, reason, token names, versions) is printable: control
characters would reach operators' terminals through ``history`` and ``token list``, where
an escape sequence such as ``ESC [2J`` clears the screen or forges output."""

from __future__ import annotations

import pytest

from tests.rollout_fixtures import Api

pytestmark = pytest.mark.slow

BASE = "/v1/envs/production/prompts/support"

CONTROL_TEXT = [
    "\x1b[2Jall clear",  # ESC: C0, starts ANSI sequences
    "ci\x9b31mred",  # CSI: C1, the one-byte form of ESC [
    "line\nforged line",  # newline: a second, made-up row
    "back\rspace",
    "bell\x07",
    "del\x7f",
    "nul\x00",
    "\x85next line",  # NEL, C1
]

FIELDS = [  # method, path, body with the text at "{}"
    ("POST", f"{BASE}/promote", lambda text: {"version": "1.1.0", "actor": text}),
    ("POST", f"{BASE}/promote", lambda text: {"version": "1.1.0", "reason": text}),
    ("POST", f"{BASE}/promote", lambda text: {"version": text}),
    ("POST", f"{BASE}/rollback", lambda text: {"actor": text}),
    ("POST", f"{BASE}/rollback", lambda text: {"reason": text}),
    ("POST", "/v1/tokens", lambda text: {"role": "deployer", "name": text}),
    ("POST", "/v1/tokens", lambda text: {"role": "reader", "env": text}),
]


def test_control_characters_in_api_text_are_refused_and_change_nothing(api: Api
                                                                        ) -> None:
    with api.client("admin") as http:
        history = http.get(f"{BASE}/history").json()
        tokens = http.get("/v1/tokens").json()
        for method, path, body in FIELDS:
            for text in CONTROL_TEXT:
                response = http.request(method, path, json=body(text))
                case = f"{method} {path} {body(text)!r}"
                assert response.status_code == 422, f"{case}: {response.text}"
                data = response.json()
                assert data["error"] == "validation", case
                assert "\n" not in data["detail"], case
        assert http.get(f"{BASE}/history").json() == history
        assert http.get("/v1/tokens").json() == tokens


def test_the_refusal_names_the_field_and_the_character(api: Api) -> None:
    with api.client("deployer") as http:
        response = http.post(f"{BASE}/rollback", json={"actor": "ok\x1b[2J"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "actor" in detail and "U+001B" in detail and "position 2" in detail, detail
    assert "\x1b" not in response.text


def test_printable_unicode_is_accepted(api: Api) -> None:
    """Only controls are refused: accents, scripts, emoji and tabs-free punctuation pass."""
    with api.client("deployer") as http:
        response = http.post(f"{BASE}/promote", json={
            "version": "1.1.0", "percent": 10, "actor": "Zoë Łukasz 山田 🚀",
            "reason": "canary: «ok» — see PR #12 (tested; 100%)"})
        assert response.status_code == 200, response.text
        last = http.get(f"{BASE}/history").json()[-1]
    assert last["actor"].endswith("(Zoë Łukasz 山田 🚀)")
    assert last["reason"] == "canary: «ok» — see PR #12 (tested; 100%)"
