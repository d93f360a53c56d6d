"""The dashboard through the real app (ASGI, no socket): sign-in, pages, actions, refusals.

The browser tests (``test_ui_browser.py``) show the same behaviours as a person meets them;
these pin the HTTP details: cookies, headers, status codes and what was written.
"""

from __future__ import annotations

import re
import time

from fastapi.testclient import TestClient

from tests.rollout_fixtures import Api

ORIGIN = {"Origin": "http://testserver"}
XSS = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
ROLLBACK = "/ui/envs/production/prompts/support/rollback"


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


def history(api: Api, env: str = "production") -> list[dict[str, object]]:
    path = f"/v1/envs/{env}/prompts/support/history"
    return list(api.client("deployer").get(path).json())


def test_sign_in_keeps_the_token_server_side_and_sign_out_ends_the_session(api: Api) -> None:
    client = api.client(None)
    assert client.get("/ui", follow_redirects=False).headers["location"] == "/ui/login"
    token = csrf_of(client.get("/ui/login").text)
    wrong = client.post("/ui/login", data={"csrf": token, "token": "pct_nope"}, headers=ORIGIN)
    assert wrong.status_code == 401 and "invalid or revoked token" in wrong.text
    response = client.post("/ui/login", data={"csrf": csrf_of(wrong.text),
                                              "token": api.tokens["deployer"]},
                           headers=ORIGIN, follow_redirects=False)
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/ui" in cookie
    assert api.tokens["deployer"] not in cookie
    assert "support" in client.get("/ui").text
    out = client.post("/ui/logout", data={"csrf": csrf_of(client.get("/ui").text)},
                      headers=ORIGIN, follow_redirects=False)
    assert out.headers["location"] == "/ui/login"
    assert client.get("/ui", follow_redirects=False).status_code == 303


def test_pages_have_a_strict_csp_cannot_be_framed_and_go_out_gzipped(api: Api) -> None:
    client = sign_in(api, "deployer")
    for path in ("/ui", "/ui/login", "/ui/prompts/support", "/ui/prompts/support/compare",
                 "/ui/static/htmx.min.js"):
        csp = client.get(path).headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
    raw = client.get("/ui", headers={"Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip" and "support" in raw.text
    assert api.client(None).get("/ui/events").status_code == 401
    assert api.client(None).get("/ui/fragments/overview").status_code == 401
    assert client.get("/ui/static/nope.js").status_code == 404
    assert client.get("/ui/static/panels.py").json()["error"] == "not_found"


def test_the_overview_shows_stable_and_canary_and_finds_by_name(api: Api) -> None:
    api.client("deployer").post("/v1/envs/production/prompts/support/promote",
                                json={"version": "1.1.0", "percent": 10})
    client = sign_in(api, "deployer")
    row = re.search(r'<a href="/ui/prompts/support">support</a>.*?</tr>',
                    client.get("/ui").text, re.S)
    assert row is not None
    assert re.search(r'data-env="production"><span class="stable">1.0.0</span> '
                     r'<span class="canary">1.1.0 · 10%</span>', row.group(0))
    found = client.get("/ui", params={"q": "summ"}).text
    assert "summarize-ticket" in found and 'href="/ui/prompts/support"' not in found
    assert "No prompt name contains “zzz”." in client.get("/ui?q=zzz").text
    reader = sign_in(api, "reader").get("/ui").text
    assert '<th scope="col">production</th>' in reader
    assert '<th scope="col">staging</th>' not in reader


def test_the_prompt_page_lists_releases_history_and_honest_empty_panels(api: Api) -> None:
    deployer = api.client("deployer")
    deployer.post("/v1/envs/production/prompts/support/promote",
                  json={"version": "1.1.0", "percent": 10})
    deployer.post("/v1/envs/production/prompts/support/rollback",
                  json={"reason": XSS, "actor": XSS[:100]})
    page = sign_in(api, "deployer").get("/ui/prompts/support").text
    for version in ("1.0.0", "1.1.0", "1.2.0"):
        assert f"<td>{version}</td>" in page
    assert "No eval results yet." in page and "No outcome telemetry yet." in page
    assert "No plan." in page and "No fleet reports yet." in page
    production = page.split('id="env-production"')[1].split("</section>")[0]
    assert "token:deployer-" in production and "rollback" in production
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" \
        in production
    reader = sign_in(api, "reader").get("/ui/prompts/support").text
    assert "Roll back" not in reader and "Promote" not in reader
    assert "The history needs a deployer token." in reader


def test_compare_renders_the_review_diff_and_refuses_unknown_versions(api: Api) -> None:
    client = sign_in(api, "deployer")
    page = client.get("/ui/prompts/support/compare", params={"old": "1.0.0", "new": "1.1.0"})
    assert "Required bump <strong>minor</strong>" in page.text
    assert "system template text changed → minor" in page.text
    assert "<ins>" in page.text and "template.system" in page.text
    assert page.text.count("Fingerprint:") == 1
    missing = client.get("/ui/prompts/support/compare", params={"old": "1.0.0",
                                                               "new": "9.9.9"})
    assert missing.status_code == 404 and "never released" in missing.text
    bad = client.get("/ui/prompts/support/compare", params={"old": "x", "new": "1.0.0"})
    assert bad.status_code == 400


def test_a_deployer_rolls_back_and_promotes_audited_like_the_api(api: Api) -> None:
    api.client("deployer").post("/v1/envs/production/prompts/support/promote",
                                json={"version": "1.1.0", "percent": 10})
    client = sign_in(api, "deployer")
    confirm = client.get(ROLLBACK).text
    assert "Rolling back clears the canary" in confirm
    done = client.post(ROLLBACK, data={"csrf": csrf_of(confirm), "reason": "error rate up"},
                       headers=ORIGIN, follow_redirects=False)
    assert done.status_code == 303
    assert "rollback of support in production done" in client.get(done.headers["location"]).text
    last = history(api)[-1]
    assert (last["action"], last["reason"]) == ("rollback", "error rate up")
    assert str(last["actor"]).startswith("token:deployer-")
    confirm = client.get("/ui/envs/staging/prompts/support/promote?version=1.2.0").text
    client.post("/ui/envs/staging/prompts/support/promote",
                data={"csrf": csrf_of(confirm), "version": "1.2.0", "percent": "25"},
                headers=ORIGIN)
    (state,) = [s for s in api.client("deployer").get("/v1/status").json()
                if s["env"] == "staging" and s["prompt"] == "support"]
    assert (state["canary"], state["percent"]) == ("1.2.0", 25)
    nothing = client.post("/ui/envs/staging/prompts/support/pause",
                          data={"csrf": csrf_of(confirm)}, headers=ORIGIN)
    assert nothing.status_code == 404 and "has no running or paused plan" in nothing.text


def test_refused_posts_change_nothing(api: Api) -> None:
    before = history(api)
    reader = sign_in(api, "reader")
    forged = reader.post(ROLLBACK, data={"csrf": csrf_of(reader.get("/ui").text)},
                         headers=ORIGIN | {"Accept": "application/json"})
    assert forged.status_code == 403 and forged.json()["error"] == "permission_denied"
    assert reader.get(ROLLBACK).status_code == 403
    client = sign_in(api, "deployer")
    token = csrf_of(client.get("/ui").text)
    assert client.post(ROLLBACK, data={}, headers=ORIGIN).status_code == 403
    assert client.post(ROLLBACK, data={"csrf": "guess"}, headers=ORIGIN).status_code == 403
    evil = client.post(ROLLBACK, data={"csrf": token}, headers={"Origin": "https://evil.example"})
    assert evil.status_code == 403 and "cross-site request refused" in evil.text
    assert client.post(ROLLBACK, data={"csrf": token}).status_code == 403  # no Origin/Referer
    bad = client.post(ROLLBACK, data={"csrf": token, "reason": "a\x1b[2Jb"}, headers=ORIGIN)
    assert bad.status_code == 400 and "printable" in bad.text
    anonymous = api.client(None).post(ROLLBACK, data={"csrf": token}, headers=ORIGIN)
    assert anonymous.status_code == 403
    assert history(api) == before


def test_the_prompt_page_shows_eval_runs_bound_to_their_fingerprint_to_deployers(
        api: Api) -> None:
    deployer = api.client("deployer")
    bundle = deployer.get("/v1/evals/bundles/support/1.1.0").json()
    from promptctl.bundle import Bundle

    fingerprint = Bundle.from_dict(bundle).fingerprint
    summary = {"cases": 120, "passed": 117, "pass_rate": 0.975, "per_assertion": {},
               "p50_latency_ms": None, "p95_latency_ms": None, "p95_tokens": None,
               "cost_per_case": None, "total_cost": None, "errors": 0, "cached": 0}
    run = {"suite": "support-golden", "suite_version": "1.0.0", "suite_hash": "0" * 64,
           "prompt": "support", "version": "1.1.0", "fingerprint": fingerprint,
           "provider": {"type": "python"}, "judges": [], "cases": [], "summary": summary}
    stored = deployer.post("/v1/evals/runs", json={
        "run": run, "cases_expected": 0, "env": "production",
        "baseline": {"version": "1.0.0", "fingerprint": "f" * 64},
        "comparison": {"regressions": ["delivery-01", "delivery-02", "delivery-03"]},
        "gate": {"passed": False, "checks": []}})
    assert stored.status_code == 201, stored.text
    page = sign_in(api, "deployer").get("/ui/prompts/support").text
    evals = page.split('id="evals-h"')[1].split("</section>")[0]
    assert fingerprint[:12] in evals and "support-golden@1.0.0" in evals
    assert "97.5%" in evals and "<td>1.0.0</td><td>3</td>" in evals and "failed" in evals
    reader = sign_in(api, "reader").get("/ui/prompts/support").text
    assert fingerprint[:12] not in reader
    assert "Eval results are shown to deployer tokens." in reader


def test_plan_outcome_and_fleet_panels_show_what_the_sdks_reported(api: Api) -> None:
    deployer = api.client("deployer")
    deployer.post("/v1/envs/production/prompts/support/promote", json={"version": "1.0.0"})
    plan = {"name": "careful", "steps": [10, 50, 100], "hold_seconds": 600,
            "min_samples": 100, "guards": {"cost_per_call": 1.2}}
    started = deployer.post("/v1/envs/production/prompts/support/plan",
                            json={"version": "1.1.0", "plan": plan})
    assert started.status_code == 201, started.text
    change = deployer.get("/v1/envs/production/state").json()["change_id"]

    def window(version: str, variant: str, cost: float) -> dict[str, object]:
        return {"prompt": "support", "version": version, "variant": variant,
                "start": float(int(time.time()) - 30), "calls": 200, "errors": {"timeout": 2},
                "latency": {"count": 200, "sum": 100.0, "buckets": {"72": 200}},
                "input_tokens": 40_000, "output_tokens": 10_000, "cost": 200 * cost,
                "feedback": {"up": 0, "down": 0}, "schema": {"checked": 200, "valid": 198},
                "tool_args": {"checked": 0, "valid": 0}}
    report = {"instance": {"id": "i-1", "app": "web", "change_id": change,
                           "source": "stream"},
              "window_seconds": 10.0,
              "windows": [window("1.1.0", "canary", 0.014), window("1.0.0", "stable", 0.01)]}
    sent = api.client("reader").post("/v1/envs/production/outcomes", json=report)
    assert sent.status_code == 202, sent.text

    grid = sign_in(api, "deployer").get("/ui/").text
    assert "step 1/3 · 10%" in grid
    page = sign_in(api, "deployer").get("/ui/prompts/support").text
    production = page.split('id="env-production"')[1].split("</section>")[0]
    assert "Plan to 1.1.0: running, step 1 of 3" in production
    assert "Pause plan" in production and "Abort plan" in production
    assert "No outcome telemetry yet." not in production and "<svg" in production
    assert "<strong>1 of 1</strong> instances on change" in production
    paused = sign_in(api, "deployer")
    confirm = paused.get("/ui/envs/production/prompts/support/pause").text
    done = paused.post("/ui/envs/production/prompts/support/pause",
                       data={"csrf": csrf_of(confirm), "reason": "look first"},
                       headers=ORIGIN, follow_redirects=True)
    assert done.status_code == 200, done.text
    assert deployer.get("/v1/plans?env=production").json()[0]["status"] == "paused"
