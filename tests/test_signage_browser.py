"""Signage pages in headless Chromium: screenshots in every language at both orientations,
no overflow, CJK glyphs from Noto, no request leaving loopback, axe-core, and the player
(swap in place, keep the last page offline, pick up changes when the daemon is back)."""

from __future__ import annotations

import pytest

from lalert.outputs.signage.screens import LANGS
from tests.browser_support import (
    SHOTS,
    axe_violations,
    chromium,
    keep_on_loopback,
    needs_chromium,
)
from tests.signage_support import FakeState, ThreadServer, alert, shelters_opened

pytest.importorskip("playwright.sync_api")
SIZES = [(1920, 1080), (1080, 1920)]

pytestmark = needs_chromium

OPEN = ("DEMO-431001-01", "DEMO-431001-02", "DEMO-431001-03", "DEMO-431001-04", "DEMO-431001-06",
        "DEMO-431001-12")
STATES = {
    "normal": lambda: [shelters_opened(*OPEN),
                       alert("adv", level=2, kind="weather_warning", title="大雨注意報",
                             headline="熊本地方では、土砂災害や低い土地の浸水に注意してください。",
                             shelters=())],
    "takeover": lambda: [shelters_opened(*OPEN), alert(shelters=()),
                         alert("w3", level=3, kind="weather_warning", title="大雨警報（土砂災害）",
                               issued_at="2025-06-30T09:00:00+09:00", shelters=(),
                               hazard_tags=("landslide",))],
}

OVERFLOW_JS = """() => Array.from(document.querySelectorAll('.blk, h1, h2, li, p, .card'))
  .filter(e => e.offsetParent !== null && e.getClientRects().length)
  .filter(e => e.scrollWidth > e.clientWidth + 1 || (e.classList.contains('card') && e.scrollHeight > e.clientHeight + 2))
  .map(e => e.tagName + '.' + e.className + ': ' + e.textContent.trim().slice(0, 40))"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from lalert.geo.data import demo_geodata

    srv = ThreadServer(FakeState(), tmp_path_factory.mktemp("home"))
    srv.output.ctx.geo = demo_geodata()
    srv.start()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def page_of(browser):
    """A fresh page whose every request is logged; anything off loopback is refused."""
    contexts = []

    def make(w: int = 1920, h: int = 1080, **kw):
        ctx = browser.new_context(viewport={"width": w, "height": h}, **kw)
        contexts.append(ctx)
        seen, _ = keep_on_loopback(ctx)
        pg = ctx.new_page()
        pg.requests = seen
        return pg

    yield make
    for c in contexts:
        c.close()


def platform_fonts(pg, selector: str) -> set[str]:
    cdp = pg.context.new_cdp_session(pg)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument")["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    return {f["familyName"] for f in fonts if f["glyphCount"]}


@pytest.mark.parametrize("mode", ["normal", "takeover"])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("lang", LANGS)
def test_screen_in_every_language_and_orientation(server, page_of, mode, size, lang):
    server.state.set(STATES[mode]())
    pg = page_of(*size)
    pg.goto(f"{server.url}/signage/station?lang={lang}")
    pg.evaluate("document.fonts.ready")
    assert pg.locator("body").get_attribute("class").startswith(f"mode-{mode}")
    SHOTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"station-{mode}-{lang}-{size[0]}x{size[1]}.png"))
    assert pg.evaluate(OVERFLOW_JS) == []
    # the current language is the one shown, and its phrases are real translations
    assert pg.evaluate("document.documentElement.lang") == {"zh_Hans": "zh-Hans",
                                                          "ja_x_easy": "ja-x-easy"}.get(lang, lang)
    visible = pg.locator(f'[data-l="{lang}"]').first
    assert visible.is_visible()
    if mode == "takeover":
        band = pg.locator(".band").inner_text()
        assert "4" in band  # the level number, never colour alone
    # Japanese glyphs come from Noto CJK, not a fallback box
    fonts = platform_fonts(pg, "h1.place")
    assert fonts and all("Noto Sans CJK" in f for f in fonts), fonts
    assert all(u.startswith(server.url) for u in pg.requests), pg.requests
    if size == (1920, 1080):
        assert axe_violations(pg) == []


def test_drill_banner_only_on_the_drill_screen(server, page_of):
    server.state.set([alert("d1", status="exercise", level=5, title="【訓練】緊急安全確保",
                            shelters=())])
    pg = page_of(1080, 1920)
    pg.goto(f"{server.url}/signage/cityhall-portrait?lang=en")
    assert pg.locator(".drill").is_visible() and "Exercise" in pg.locator(".drill").inner_text()
    pg.screenshot(path=str(SHOTS / "cityhall-portrait-drill-en-1080x1920.png"))
    assert pg.evaluate(OVERFLOW_JS) == []
    assert axe_violations(pg) == []
    pg.goto(f"{server.url}/signage/station")
    assert pg.locator(".drill").count() == 0 and "mode-normal" in pg.locator("body").get_attribute("class")


@pytest.mark.parametrize("path", ["/signage/", "/here/DEMO-431001-02?lang=ko",
                                  "/here/431001-5?lang=en"])
def test_listing_and_landing_pages_are_accessible(server, page_of, path):
    server.state.set(STATES["takeover"]())
    pg = page_of(390, 844)
    pg.goto(server.url + path)
    assert axe_violations(pg) == []
    assert all(u.startswith(server.url) for u in pg.requests)
    pg.screenshot(path=str(SHOTS / f"page-{path.strip('/').replace('/', '_').replace('?', '_')}.png"),
                  full_page=True)


def test_without_javascript_meta_refresh_rotates_languages(server, page_of):
    server.state.set([])
    pg = page_of(java_script_enabled=False)
    pg.goto(f"{server.url}/signage/byarea?lang=ja")
    pg.wait_for_url("**/signage/byarea?lang=en", timeout=15_000)
    assert pg.locator('[data-l="en"]').first.is_visible()


def test_player_swaps_in_place_keeps_page_offline_and_resumes(tmp_path, browser):
    from lalert.geo.data import demo_geodata

    state = FakeState()
    srv = ThreadServer(state, tmp_path)
    srv.output.ctx.geo = demo_geodata()
    srv.start()
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        pg = ctx.new_page()
        pg.goto(f"{srv.url}/signage/station")
        pg.evaluate("navigator.serviceWorker.ready.then(() => true)")
        pg.reload()  # now under the service worker, which keeps a copy of page and assets
        pg.wait_for_function("navigator.serviceWorker.controller !== null")
        pg.evaluate("window.__same_document = true")
        state.set(STATES["takeover"]())
        pg.wait_for_function("document.body.classList.contains('mode-takeover')", timeout=10_000)
        assert pg.evaluate("window.__same_document") is True  # swapped, not reloaded
        assert "警戒レベル4" in pg.locator(".band").inner_text() or pg.locator(".band").is_visible()

        srv.stop()  # the daemon goes away
        pg.wait_for_selector("#offline", state="visible", timeout=10_000)
        assert "mode-takeover" in pg.locator("body").get_attribute("class")
        pg.reload()  # a player rebooting while offline still shows the last page
        assert "mode-takeover" in pg.locator("body").get_attribute("class")

        state.set([])  # cancelled while the daemon was down
        srv.start()
        pg.wait_for_function("document.body.classList.contains('mode-normal')", timeout=15_000)
        pg.wait_for_selector("#offline", state="hidden", timeout=10_000)
    finally:
        ctx.close()
        srv.close()
