"""Hostile web input against a real ``lalert run``: message text is text, never markup.

A CAP, a JMA and two Commons messages carry XSS payloads (``<img onerror>``,
``<script>``, ``"><svg onload>``) and bidi controls in every free-text field. Headless
Chromium then visits the public map (and its "where am I" panel), the text twin, a
signage screen, a Wi-Fi landing page and the desk, and must see: the payload shown as
text, no dialog, no handler or script run (a window flag stays unset), no injected
element, no Content-Security-Policy violation (our own pages run under the policy), and
every bidi-carrying string isolated (``dir=auto`` / ``<bdi>``). Every HTML response
carries the policy and the other security headers.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lalert.server.sessions import hash_password
from tests.browser_support import SHOTS, chromium, keep_on_loopback, needs_chromium
from tests.daemon_helpers import Daemon, start_daemon
from tests.hostile_messages import HOSTILE, MARK, hostile

pytest.importorskip("playwright.sync_api")
pytestmark = needs_chromium

PASSWORD = "hostile-web-pw"
CONFIG = f"""
[[desk.users]]
name = "sato"
password_hash = "{hash_password(PASSWORD)}"
[[outputs.signage.screens]]
id = "inside"
name = "熊本市中心部 テスト画面"
lat = 32.80
lon = 130.73
"""
OUTPUTS = ["signage", "map", "tiles", "feeds"]
PUBLIC = ["/?lang=ja", "/?lang=en", "/text?lang=ja", "/text?lang=en", "/signage/inside",
          "/here/DEMO-431001-02?lang=ja", "/here/DEMO-431001-02?lang=en"]
DESK = ["/desk/", *(f"/desk/messages/{{{name}}}" for name in HOSTILE)]

# Records what must never happen: CSP violations and injected nodes (any <img src=x>,
# element with an on* handler, or inline <script>) appearing at any time.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
  e => window.__violations.push(e.violatedDirective + " " + e.blockedURI));
"""
INJECTED = """() => [...document.querySelectorAll(
  'img[src="x"], svg[onload], [onerror], [onload], script:not([src])')]
  .map(e => e.outerHTML.slice(0, 80))"""
# Every text node carrying a bidi override must sit in an isolating element.
UNISOLATED = """() => {
  const bad = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!/[\\u202a-\\u202e\\u2066-\\u2069]/.test(n.data)) continue;
    const el = n.parentElement;
    if (el.closest("svg")) continue;
    const ub = getComputedStyle(el).unicodeBidi;
    if (!["isolate", "isolate-override", "plaintext"].includes(ub))
      bad.push(el.tagName + "." + el.className + ": " + ub);
  }
  return bad;
}"""


@pytest.fixture(scope="module")
def d(tmp_path_factory) -> Iterator[Daemon]:
    home = tmp_path_factory.mktemp("hostile_web") / "home"
    dm = start_daemon(home, demo=True, outputs=OUTPUTS, config_text=CONFIG)
    dm.wait_applied()
    before = dm.health()["journal"]["messages"]
    dm.ids = {}
    for name in HOSTILE:
        status, body = dm.post(hostile(name))
        assert status == 202, (name, body)
        assert body["outcome"] == "accepted", (name, body)
        dm.ids[name] = body["id"]
    dm.wait_applied(before + len(HOSTILE))
    dm.journaled = before + len(HOSTILE)
    yield dm
    dm.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def visit(browser, url: str, *, login: Daemon | None = None, where: bool = False) -> dict:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900},
                              geolocation={"latitude": 32.80, "longitude": 130.73},
                              permissions=["geolocation"])
    _, outside = keep_on_loopback(ctx)
    ctx.add_init_script(WATCH)
    dialogs: list[str] = []
    errors: list[str] = []
    pg = ctx.new_page()
    pg.on("dialog", lambda dl: (dialogs.append(dl.message), dl.dismiss()))
    pg.on("pageerror", lambda e: errors.append(str(e)))
    try:
        if login is not None:
            pg.goto(f"{login.url}/desk/login")
            pg.fill("#name", "sato")
            pg.fill("#secret", PASSWORD)
            pg.click("button[type=submit]")
            pg.wait_for_url("**/desk/")
        resp = pg.goto(url)
        assert resp is not None and resp.status == 200, url
        if "/?lang" in url:
            pg.wait_for_selector("#lalert-alerts li.alert")
            pg.wait_for_selector(".level-label")
            if where:
                pg.click("#lalert-where")
                pg.wait_for_selector("#lalert-nearest li")
        pg.wait_for_load_state("load")
        SHOTS.mkdir(parents=True, exist_ok=True)
        shot = "".join(c if c.isalnum() else "_" for c in url.split("//", 1)[1].split("/", 1)[1])
        pg.screenshot(path=str(SHOTS / f"hostile_{shot or 'root'}.png"))
        return {
            "headers": resp.headers, "text": pg.inner_text("body"),
            "flag": pg.evaluate("window.__xss"), "violations": pg.evaluate("window.__violations"),
            "injected": pg.evaluate(INJECTED), "unisolated": pg.evaluate(UNISOLATED),
            "dialogs": dialogs, "errors": errors, "outside": outside,
        }
    finally:
        ctx.close()


def assert_safe(seen: dict, url: str) -> None:
    assert MARK in seen["text"], f"{url}: the hostile text is not shown at all"
    assert seen["flag"] is None, url
    assert seen["dialogs"] == [], url
    assert seen["injected"] == [], url
    assert seen["violations"] == [], url
    assert seen["errors"] == [], url
    assert seen["outside"] == [], url
    assert seen["unisolated"] == [], (url, seen["unisolated"])
    csp = seen["headers"].get("content-security-policy", "")
    assert "default-src 'self'" in csp and "script-src 'self'" in csp, url
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0], url
    assert seen["headers"].get("x-content-type-options") == "nosniff", url
    assert "frame-ancestors" in csp and seen["headers"].get("referrer-policy"), url


@pytest.mark.parametrize("path", PUBLIC)
def test_public_pages_show_hostile_text_as_text(d, browser, path):
    assert_safe(visit(browser, d.url + path, where=path.startswith("/?")), path)


@pytest.mark.parametrize("path", DESK)
def test_desk_shows_hostile_text_as_text(d, browser, path):
    assert_safe(visit(browser, d.url + path.format(**d.ids), login=d), path)


def test_every_html_and_json_response_has_the_headers(d):
    for path in [*PUBLIC, "/signage/", "/desk/login", "/nonexistent", "/healthz",
                 "/api/v1/alerts", "/map/data.json", "/signage/inside.json"]:
        status, headers, _ = d.get(path)
        h = {k.lower(): v for k, v in headers.items()}
        assert h.get("x-content-type-options") == "nosniff", path
        if h.get("content-type", "").startswith("text/html"):
            assert "script-src 'self'" in h.get("content-security-policy", ""), path
            assert h.get("x-frame-options") == "DENY", path


def test_nothing_accepted_is_lost(d):
    """Last in the module: every hostile message is still journaled and in force."""
    assert d.health()["journal"]["messages"] == d.journaled
    ids = {f["properties"]["id"] for f in d.get_json("/api/v1/alerts")[1]["features"]}
    for name in ("cap", "commons"):
        assert any(i.endswith("xss") for i in ids), (name, ids)
