"""The dashboard in a real browser: Debian's chromium driven by Playwright, against the app
behind uvicorn on a loopback port (one browser and one server for the whole module).

Screenshots go to ``$PROMPTCTL_SCREENSHOTS`` (CI keeps ``.ci/.state/screenshots``). Without
chromium the module is skipped, except under ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_PROMPTS, Cli, commit_all, make_repo
from tests.rollout_fixtures import LiveServer, create_token, release_versions

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).with_name("data") / "axe.min.js"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
XSS = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
EVIL = "http://evil.test"


def _require_browser() -> None:
    missing = not CHROMIUM.exists() or not shutil.which("chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing = True
    if missing and os.environ.get("CI") == "true":
        pytest.fail("chromium and playwright are required in CI (apt-get install chromium)")
    if missing:
        pytest.skip("needs /usr/bin/chromium and playwright")


@pytest.fixture(scope="module")
def shots() -> Path:
    where = Path(os.environ.get("PROMPTCTL_SCREENSHOTS")
                 or tempfile.mkdtemp(prefix="promptctl-screenshots-"))
    where.mkdir(parents=True, exist_ok=True)
    return where


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """support 1.0.0-1.2.0 released, 1.0.0 stable in production and staging, a canary of
    1.1.0 at 10% in production; a prompt whose description is hostile; tokens by role (the
    deployer's name is hostile too)."""
    _require_browser()
    base = tmp_path_factory.mktemp("dashboard")
    repo = make_repo(base / "repo")
    root = Path(repo.working_tree_dir or base)
    shutil.copytree(EXAMPLE_PROMPTS, root / "prompts")
    hostile = (root / "prompts" / "support.prompt.yaml").read_text()
    hostile = re.sub(r"(?m)^name: .*$", "name: hostile", hostile, count=1)
    hostile = re.sub(r"(?m)^description: .*$", f"description: {json.dumps(XSS)}", hostile,
                     count=1)
    (root / "prompts" / "hostile.prompt.yaml").write_text(hostile)
    (root / ".gitignore").write_text(".promptctl/\n")
    commit_all(repo, "example prompts")
    cli = Cli(root, f"sqlite:///{base / 'registry.db'}")
    release_versions(cli, "1.1.0", "1.2.0")
    for args in (("support", "1.0.0", "--env", "production"),
                 ("support", "1.0.0", "--env", "staging"),
                 ("support", "1.1.0", "--env", "production", "--percent", "10",
                  "--reason", "friendlier tone")):
        assert cli("promote", *args).exit_code == 0
    tokens = {"deployer": _named_token(cli, "oncall-ann"),
              "hostile": _named_token(cli, XSS[:100]),
              "reader": create_token(cli, "reader", "production")}
    server = LiveServer(cli, tokens)
    server.start()
    yield server
    server.stop()


def _named_token(cli: Cli, name: str) -> str:
    created = cli("token", "create", "--role", "deployer", "--name", name, "--json")
    assert created.exit_code == 0, created.output
    return str(json.loads(created.output)["token"])


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory, site: LiveServer) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")), executable_path=str(CHROMIUM), args=ARGS,
            viewport={"width": 1200, "height": 760})
        context.set_default_timeout(5000)
        yield context
        context.close()


def _page(browser, site: LiveServer, role: str):  # type: ignore[no-untyped-def]
    """A fresh tab signed in as ``role`` (through the sign-in form), recording dialogs."""
    browser.clear_cookies()
    page = browser.new_page()
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    page.goto(f"{site.url}/ui")
    assert page.url.endswith("/ui/login")
    page.get_by_label("API token").fill(site.tokens[role])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{site.url}/ui")
    return page


def _cell(page, env: str):  # type: ignore[no-untyped-def]
    return page.locator(f'tr:has(a[href="/ui/prompts/support"]) td[data-env="{env}"]')


def test_the_overview_loads_is_accessible_and_follows_a_cli_rollback_live(
        browser, site: LiveServer, shots: Path) -> None:  # type: ignore[no-untyped-def]
    page = _page(browser, site, "deployer")
    assert "1.1.0 · 10%" in _cell(page, "production").inner_text()
    page.screenshot(path=str(shots / "overview.png"), full_page=True)
    page.evaluate("window.__stayed = true")  # gone if the page reloads
    page.wait_for_timeout(300)  # the event stream is connected
    result = site.cli("rollback", "support", "--env", "production", "--reason", "cli rollback")
    assert result.exit_code == 0, result.output
    started = time.monotonic()
    page.wait_for_function(
        "() => !document.querySelector('tr:has(a[href=\"/ui/prompts/support\"]) "
        "td[data-env=\"production\"]').textContent.includes('1.1.0')", timeout=3000)
    assert time.monotonic() - started < 1.5
    assert page.evaluate("window.__stayed") is True
    assert _cell(page, "production").inner_text().strip() == "1.0.0"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    violations = _axe(page)
    assert not [v for v in violations if v["impact"] == "critical"], violations
    page.close()


def test_a_deployer_rolls_back_from_the_page_and_the_cli_history_shows_it(
        browser, site: LiveServer, shots: Path) -> None:  # type: ignore[no-untyped-def]
    assert site.cli("promote", "support", "1.2.0", "--env", "staging", "--percent",
                    "20").exit_code == 0
    page = _page(browser, site, "deployer")
    page.goto(f"{site.url}/ui/prompts/support")
    page.screenshot(path=str(shots / "prompt.png"), full_page=True)
    rollback = page.locator("#env-staging").get_by_role("link", name="Roll back…")
    for _ in range(60):  # by keyboard alone: Tab to the link, Enter follows it
        page.keyboard.press("Tab")
        if rollback.evaluate("link => link === document.activeElement"):
            break
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/ui/envs/staging/prompts/support/rollback")
    page.get_by_label("Reason (recorded in the history)").fill("canary looked worse")
    page.screenshot(path=str(shots / "confirm-rollback.png"))
    assert not _axe_critical(page)
    page.get_by_role("button", name="Confirm: rollback").click()
    assert "rollback of support in staging done" in page.locator(".flash").inner_text()
    history = site.cli("history", "support", "--env", "staging", "--json")
    last = json.loads(history.output)[-1]
    assert (last["action"], last["reason"]) == ("rollback", "canary looked worse")
    assert last["actor"] == "token:oncall-ann"
    page.goto(f"{site.url}/ui/prompts/support/compare?old=1.0.0&new=1.1.0")
    assert page.locator("ins").count() >= 1
    page.screenshot(path=str(shots / "compare.png"), full_page=True)
    assert not _axe_critical(page)
    page.close()


def test_hostile_text_renders_inert_and_literally(browser, site: LiveServer,
                                                  shots: Path) -> None:  # type: ignore[no-untyped-def]
    with site.client("deployer") as api:
        api.post("/v1/envs/production/prompts/support/promote",
                 json={"version": "1.2.0", "percent": 5, "reason": XSS, "actor": XSS[:100]})
    page = _page(browser, site, "hostile")
    assert XSS[:100] in page.locator(".who").inner_text()  # the token's name
    page.goto(f"{site.url}/ui/prompts/support")
    assert XSS in page.locator("#env-production .reason").first.inner_text()
    assert XSS[:100] in page.locator("#env-production .actor").first.inner_text()
    page.goto(f"{site.url}/ui/prompts/hostile")
    assert page.locator(".description").inner_text() == XSS
    page.screenshot(path=str(shots / "hostile.png"), full_page=True)
    page.wait_for_timeout(200)
    assert page.dialogs == []
    assert page.locator("img[src=x]").count() == 0
    page.close()


def test_a_reader_sees_no_actions_and_its_forged_post_is_refused(
        browser, site: LiveServer, shots: Path) -> None:  # type: ignore[no-untyped-def]
    page = _page(browser, site, "reader")
    page.goto(f"{site.url}/ui/prompts/support")
    assert page.get_by_role("link", name="Roll back…").count() == 0
    assert page.get_by_role("button").all_inner_texts() == ["Sign out"]
    page.screenshot(path=str(shots / "reader.png"), full_page=True)
    before = _history(site)
    status = page.evaluate("""async () => {
        const csrf = document.querySelector('input[name=csrf]').value;
        const r = await fetch('/ui/envs/production/prompts/support/rollback', {method: 'POST',
            headers: {'Content-Type': 'application/x-www-form-urlencoded',
                      'Accept': 'application/json'},
            body: 'csrf=' + encodeURIComponent(csrf) + '&reason=forged'});
        return [r.status, (await r.json()).error];
    }""")
    assert status == [403, "permission_denied"]
    assert _history(site) == before
    page.close()


def test_a_cross_site_form_post_without_the_csrf_token_is_refused(
        browser, site: LiveServer) -> None:  # type: ignore[no-untyped-def]
    page = _page(browser, site, "deployer")
    before = _history(site)
    target = f"{site.url}/ui/envs/production/prompts/support/rollback"
    page.route(f"{EVIL}/**", lambda route: route.fulfill(content_type="text/html", body=(
        f'<form id="f" method="post" action="{target}"><input name="reason" value="evil">'
        '</form><script>document.getElementById("f").submit()</script>')))
    with page.expect_navigation(url=target):
        page.goto(f"{EVIL}/attack")
    assert "cross-site request refused" in page.content()
    assert _history(site) == before
    page.close()


def _history(site: LiveServer) -> list[dict[str, object]]:
    with site.client("deployer") as api:
        return list(api.get("/v1/envs/production/prompts/support/history").json())


def _axe(page) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    page.evaluate(AXE.read_text())  # over the devtools protocol: the CSP allows no inline script
    return list(page.evaluate(
        "async () => (await axe.run()).violations.map("
        "v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))"))


def _axe_critical(page) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    return [v for v in _axe(page) if v["impact"] == "critical"]


