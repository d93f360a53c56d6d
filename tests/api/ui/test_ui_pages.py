"""The dashboard through the real app (ASGI, no socket): sign-in, pages, actions, refusals."""

from __future__ import annotations

import gzip
import json
import re

from fastapi.testclient import TestClient

from tests.rollout_fixtures import Api

ORIGIN = {"Origin": "http://testserver"}
XSS = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def sign_in(api: Api, role: str) -> TestClient:
    client = api.client(None)
    token = csrf_of(client.get("/ui/login").text)
    response = client.post("/ui/login", data={"csrf": token, "token": api.tokens[role]},
                           headers=ORIGIN, follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


def test_pages_need_a_sign_in_and_the_cookie_holds_no_token(api: Api) -> None:
    client = api.client(None)
    assert client.get("/ui", follow_redirects=False).headers["location"] == "/ui/login"
    token = csrf_of(client.get("/ui/login").text)
    response = client.post("/ui/login", data={"csrf": token, "token": api.tokens["deployer"]},
                           headers=ORIGIN, follow_redirects=False)
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    assert api.tokens["deployer"] not in cookie
    assert "support" in client.get("/ui").text


def test_a_wrong_token_is_refused_with_a_one_line_message(api: Api) -> None:
    client = api.client(None)
    token = csrf_of(client.get("/ui/login").text)
    response = client.post("/ui/login", data={"csrf": token, "token": "pct_nope"},
                           headers=ORIGIN)
    assert response.status_code == 401
    assert "invalid or revoked token" in response.text


def test_sign_out_ends_the_session(api: Api) -> None:
    client = sign_in(api, "deployer")
    token = csrf_of(client.get("/ui").text)
    response = client.post("/ui/logout", data={"csrf": token}, headers=ORIGIN,
                           follow_redirects=False)
    assert response.headers["location"] == "/ui/login"
    assert client.get("/ui", follow_redirects=False).status_code == 303


def test_every_page_has_a_strict_csp_and_cannot_be_framed(api: Api) -> None:
    client = sign_in(api, "deployer")
    for path in ("/ui", "/ui/login", "/ui/prompts/support", "/ui/prompts/support/compare"):
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]


def test_the_overview_is_gzipped_when_the_browser_accepts_it(api: Api) -> None:
    client = sign_in(api, "deployer")
    raw = client.get("/ui", headers={"Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip"
    assert "support" in raw.text  # httpx decodes it
    assert gzip.compress(raw.content)  # a real body


def test_the_overview_shows_stable_and_canary_per_environment(api: Api) -> None:
    deployer = api.client("deployer")
    deployer.post("/v1/envs/production/prompts/support/promote",
                  json={"version": "1.1.0", "percent": 10})
    html = sign_in(api, "deployer").get("/ui").text
    row = re.search(r'<a href="/ui/prompts/support">support</a>.*?</tr>', html, re.S)
    assert row is not None
    assert re.search(r'data-env="production"><span class="stable">1.0.0</span> '
                     r'<span class="canary">1.1.0 · 10%</span>', row.group(0))


def test_a_reader_sees_only_its_environment_and_no_actions(api: Api) -> None:
    client = sign_in(api, "reader")
    overview = client.get("/ui").text
    assert '<th scope="col">production</th>' in overview
    assert '<th scope="col">staging</th>' not in overview
    page = client.get("/ui/prompts/support").text
    assert "Roll back" not in page and "Promote" not in page
    assert "The history needs a deployer token." in page


def test_the_prompt_page_lists_releases_history_and_honest_empty_panels(api: Api) -> None:
    api.client("deployer").post("/v1/envs/production/prompts/support/promote",
                                json={"version": "1.1.0", "percent": 10})
    api.client("deployer").post("/v1/envs/production/prompts/support/rollback",
                                json={"reason": "tone"})
    page = sign_in(api, "deployer").get("/ui/prompts/support").text
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        assert f"<td>{version}</td>" in page
    assert "No eval results yet." in page and "No outcome telemetry yet." in page
    assert "No plan." in page and "No fleet reports yet." in page
    history = page.split('id="env-production"')[1].split("</section>")[0]
    assert "token:deployer-" in history and "tone" in history and "rollback" in history


def test_compare_shows_the_word_diff_params_and_fingerprints(api: Api) -> None:
    page = sign_in(api, "deployer").get("/ui/prompts/support/compare",
                                        params={"old": "1.0.0", "new": "1.1.0"}).text
    assert "Required bump <strong>minor</strong>" in page
    assert "<ins>(v1.1.0)</ins>" in page or "<ins>" in page
    assert "template.system" in page
    assert page.count("Fingerprint:") == 1


def test_compare_of_an_unreleased_version_is_a_404_page(api: Api) -> None:
    response = sign_in(api, "deployer").get("/ui/prompts/support/compare",
                                            params={"old": "1.0.0", "new": "9.9.9"})
    assert response.status_code == 404
    assert "never released" in response.text


def test_a_deployer_rolls_back_with_a_reason_audited_like_the_api(api: Api) -> None:
    api.client("deployer").post("/v1/envs/production/prompts/support/promote",
                                json={"version": "1.1.0", "percent": 10})
    client = sign_in(api, "deployer")
    confirm = client.get("/ui/envs/production/prompts/support/rollback").text
    assert "Rolling back clears the canary" in confirm
    response = client.post("/ui/envs/production/prompts/support/rollback",
                           data={"csrf": csrf_of(confirm), "reason": "error rate up"},
                           headers=ORIGIN, follow_redirects=False)
    assert response.status_code == 303
    assert "rollback of support in production done" in client.get(response.headers["location"]).text
    (last, *_) = reversed(api.client("deployer").get(
        "/v1/envs/production/prompts/support/history").json())
    assert last["action"] == "rollback" and last["reason"] == "error rate up"
    assert last["actor"].startswith("token:deployer-")
    assert last["after"]["canary"] is None


def test_a_deployer_sets_a_canary_percent(api: Api) -> None:
    client = sign_in(api, "deployer")
    confirm = client.get("/ui/envs/staging/prompts/support/promote?version=1.2.0").text
    client.post("/ui/envs/staging/prompts/support/promote",
                data={"csrf": csrf_of(confirm), "version": "1.2.0", "percent": "25"},
                headers=ORIGIN)
    (state,) = [s for s in api.client("deployer").get("/v1/status").json()
                if s["env"] == "staging" and s["prompt"] == "support"]
    assert (state["canary"], state["percent"]) == ("1.2.0", 25)


def test_a_reader_forging_a_rollback_post_is_refused_and_nothing_changes(api: Api) -> None:
    client = sign_in(api, "reader")
    token = csrf_of(client.get("/ui").text)
    before = api.client("deployer").get("/v1/envs/production/prompts/support/history").json()
    response = client.post("/ui/envs/production/prompts/support/rollback",
                           data={"csrf": token}, headers=ORIGIN | {"Accept": "application/json"})
    assert response.status_code == 403
    assert response.json()["error"] == "permission_denied"
    assert client.get("/ui/envs/production/prompts/support/rollback").status_code == 403
    after = api.client("deployer").get("/v1/envs/production/prompts/support/history").json()
    assert after == before


def test_a_post_without_the_csrf_token_or_from_another_site_is_refused(api: Api) -> None:
    client = sign_in(api, "deployer")
    token = csrf_of(client.get("/ui").text)
    path = "/ui/envs/production/prompts/support/rollback"
    assert client.post(path, data={}, headers=ORIGIN).status_code == 403
    assert client.post(path, data={"csrf": "guess"}, headers=ORIGIN).status_code == 403
    evil = client.post(path, data={"csrf": token}, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and "cross-site request refused" in evil.text
    assert client.post(path, data={"csrf": token}).status_code == 403  # no Origin/Referer
    history = api.client("deployer").get("/v1/envs/production/prompts/support/history").json()
    assert [c["action"] for c in history] == ["promote"]


def test_user_supplied_text_is_escaped(api: Api) -> None:
    api.client("deployer").post("/v1/envs/production/prompts/support/promote",
                                json={"version": "1.1.0", "percent": 10})
    api.client("deployer").post("/v1/envs/production/prompts/support/rollback",
                                json={"reason": XSS, "actor": XSS[:100]})
    page = sign_in(api, "deployer").get("/ui/prompts/support").text
    assert "<script>alert" not in page and "<img src=x" not in page
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;"
    assert escaped in page


def test_the_event_stream_needs_a_session(api: Api) -> None:
    assert api.client(None).get("/ui/events").status_code == 401
    assert api.client(None).get("/ui/fragments/overview").status_code == 401


def test_static_files_are_served_and_nothing_else(api: Api) -> None:
    client = api.client(None)
    js = client.get("/ui/static/htmx.min.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert client.get("/ui/static/nope.js").status_code == 404
    assert client.get("/ui/static/..%2Fpanels.py").status_code in (404, 422)
    assert json.loads(client.get("/ui/static/x.py").text)["error"] == "not_found"
