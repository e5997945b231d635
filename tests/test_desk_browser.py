"""The desk console in headless Chromium against a real demo daemon: log in, the overview
with level colours and the map (screenshots in tests/screenshots, looked at by a person),
live refresh without reload, rejected text shown as text, paste → preview → confirm,
no request off loopback, and axe-core with no serious or critical violations."""

from __future__ import annotations

import pytest

from lalert.server.sessions import hash_password
from tests.browser_support import (
    SHOTS,
    axe_violations,
    chromium,
    keep_on_loopback,
    needs_axe,
    needs_chromium,
)
from tests.daemon_helpers import cap, start_daemon

pytest.importorskip("playwright.sync_api")
PASSWORD = "desk-browser-pw"

pytestmark = [needs_chromium, needs_axe]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    home = tmp_path_factory.mktemp("deskb") / "home"
    config = f'[[desk.users]]\nname = "sato"\npassword_hash = "{hash_password(PASSWORD)}"\n'
    d = start_daemon(home, demo=True, config_text=config, outputs=["signage"])
    d.wait_applied(8)
    yield d
    d.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser, demo):
    """A logged-in page at 1280x800; requests off loopback are refused and recorded.
    ``bypass_csp`` only so that axe can be injected (the desk forbids inline script)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    _, outside = keep_on_loopback(ctx)
    pg = ctx.new_page()
    pg.goto(f"{demo.url}/desk")
    assert pg.url.startswith(f"{demo.url}/desk/login")
    assert axe_violations(pg) == []
    pg.fill("#name", "sato")
    pg.fill("#secret", PASSWORD)
    pg.click("button[type=submit]")
    pg.wait_for_url("**/desk/")
    yield pg
    ctx.close()
    assert outside == [], f"requests left loopback: {outside}"


def test_overview_screenshot_levels_map_and_live_refresh(page, demo):
    page.evaluate("document.fonts.ready")
    cards = page.locator("article.alert")
    assert cards.count() >= 4
    first = cards.first.locator(".badge").first
    assert first.inner_text().startswith("警戒レベル")  # the level is printed, not only coloured
    assert page.locator("svg.deskmap path").count() >= 1
    # Japanese glyphs are drawn with a CJK font, not as boxes
    assert page.evaluate("document.fonts.check('16px \"Noto Sans CJK JP\"', '発表中の情報')")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "desk_overview_1280x800.png"))
    assert axe_violations(page) == []

    status, _ = demo.post(cap("desk-browser-live", headline="ライブ更新の確認（テスト）"))
    assert status == 202
    # desk.js polls /desk/live and swaps the part in place (no navigation)
    page.wait_for_selector('[data-alert-id="desk-browser-live"]', timeout=20_000)
    assert page.url.endswith("/desk/")

    page.goto(f"{demo.url}/desk/?lang=en")
    assert "Alerts in force" in page.inner_text("main")
    page.screenshot(path=str(SHOTS / "desk_overview_en_1280x800.png"))


def test_rejected_raw_text_is_text_not_markup(page, demo):
    status, body = demo.post(b'<?xml version="1.0"?><x><script>window.pwned=1</script><img '
                             b'src=x onerror="window.pwned=2">')
    assert status == 400
    page.goto(f"{demo.url}/desk/rejected")
    # the newest rejected message is shown open
    raw = page.inner_text("article.rejected pre.raw")
    assert "<script>window.pwned=1</script>" in raw
    assert page.evaluate("window.pwned === undefined")
    assert page.locator("article.rejected .reason").first.inner_text().strip() != ""
    page.screenshot(path=str(SHOTS / "desk_rejected_1280x800.png"))
    assert axe_violations(page) == []


def test_paste_preview_confirm(page, demo):
    page.goto(f"{demo.url}/desk/submit")
    assert axe_violations(page) == []
    page.fill("#text", cap("desk-browser-manual", headline="デスクから手動投入（テスト）").decode())
    page.click("form.submit button[type=submit]")
    page.wait_for_url("**/desk/submit")
    assert "デスクから手動投入（テスト）" in page.inner_text("main")
    page.screenshot(path=str(SHOTS / "desk_preview_1280x800.png"), full_page=True)
    assert axe_violations(page) == []
    page.click("button.primary")
    page.wait_for_url("**/desk/messages/*")
    assert "投入しました" in page.inner_text("main")
    history = demo.get_json("/api/v1/history")[1]["items"]
    assert any(i["sender"] == "sato" and i["source"] == "desk" for i in history)


def test_screens_and_feeds_pages_are_accessible(page, demo):
    for path in ("/desk/screens", "/desk/feeds", "/desk/history"):
        page.goto(f"{demo.url}{path}")
        assert axe_violations(page) == [], path
    page.goto(f"{demo.url}/desk/screens")
    page.screenshot(path=str(SHOTS / "desk_screens_1280x800.png"), full_page=True)


@pytest.fixture(scope="module")
def push_desk(tmp_path_factory):
    """A daemon with the webhook output and a failing receiver: one delivery each sent,
    dead, retrying and pending (see ``tests.test_desk.HookReceiver``)."""
    from tests.test_desk import PUSH_CONFIG, HookReceiver, deliveries_api, subscribe_webhooks

    rx = HookReceiver()
    home = tmp_path_factory.mktemp("deskpushb") / "home"
    d = start_daemon(home, outputs=["webhook"], config_text=PUSH_CONFIG.format(
        user="sato", hash=hash_password(PASSWORD)))
    try:
        subscribe_webhooks(d, rx)
        status, _ = d.post(cap("desk-browser-push", event="避難指示", category="Safety",
                               headline="白川沿いに避難指示（配信画面のテスト）"))
        assert status == 202
        d.wait(lambda: deliveries_api(d, "channel=webhook")["states"] == {
            "sent": 1, "dead": 1, "retrying": 1, "pending": 1}, what="one of each state")
        yield d
    finally:
        rx.release.set()
        d.stop()
        rx.close()


def test_deliveries_page_screenshot_and_accessibility(browser, push_desk):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    try:
        pg = ctx.new_page()
        pg.goto(f"{push_desk.url}/desk/login?next=/desk/deliveries")
        pg.fill("#name", "sato")
        pg.fill("#secret", PASSWORD)
        pg.click("button[type=submit]")
        pg.wait_for_url("**/desk/deliveries")
        pg.evaluate("document.fonts.ready")
        assert pg.locator("table.deliveries tbody tr").count() == 4
        assert pg.locator("table.counts td.dead-count").inner_text().strip() == "1"
        SHOTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(SHOTS / "desk_deliveries_1280x800.png"), full_page=True)
        assert axe_violations(pg) == []

        # filter to the dead letter, open it, retry it from its page
        pg.select_option("#f-state", "dead")
        pg.click("form.filters button[type=submit]")
        pg.wait_for_url("**/desk/deliveries?*state=dead*")
        assert pg.locator("table.deliveries tbody tr").count() == 1
        pg.click("table.deliveries tbody tr a")
        pg.wait_for_url("**/desk/deliveries/msg_*")
        assert pg.locator("table.attempts tbody tr").count() == 2
        pg.screenshot(path=str(SHOTS / "desk_delivery_1280x800.png"), full_page=True)
        assert axe_violations(pg) == []
        pg.click("form.actions button.primary")
        pg.wait_for_url("**retried=*")
        assert pg.locator("p.ok-line").count() == 1

        pg.goto(f"{push_desk.url}/desk/deliveries?lang=en")
        assert "Push deliveries" in pg.inner_text("main")
        pg.screenshot(path=str(SHOTS / "desk_deliveries_en_1280x800.png"), full_page=True)
        assert axe_violations(pg) == []
    finally:
        ctx.close()
