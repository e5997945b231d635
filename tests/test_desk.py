"""Desk console against a real ``lalert run`` process: login, sessions, CSRF, login
throttling, manual submission through the journal, rejected messages shown escaped,
delivery per output, push deliveries with their attempt log and "retry now" (a real
failing webhook receiver on loopback), screens and the 00000JAPAN declaration handed to
signage."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest

from lalert.server.sessions import check_login, hash_password, verify_password
from lalert.store import flags
from tests.daemon_helpers import Daemon, cap, start_daemon

PASSWORD = "correct horse battery"
OPERATOR = "tanaka"


@pytest.fixture(scope="module")
def desk_daemon(tmp_path_factory) -> Daemon:
    home = tmp_path_factory.mktemp("desk") / "home"
    config = f"""
[[desk.users]]
name = "{OPERATOR}"
password_hash = "{hash_password(PASSWORD)}"

[[poller.feeds]]
name = "dead-feed"
url = "http://127.0.0.1:9/feed.xml"
interval = 0.2
silence_after = 3600
"""
    d = start_daemon(home, config_text=config, env={"LALERT_POLLER__ENABLED": "true"},
                     outputs=["signage", "tests.daemon_helpers:RecordingOutput"])
    yield d
    d.stop()


@pytest.fixture
async def anon(desk_daemon: Daemon) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(desk_daemon.url,
                                     cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        yield s


async def csrf_of(s: aiohttp.ClientSession, path: str) -> str:
    async with s.get(path) as r:
        assert r.status == 200, (path, r.status)
        m = re.search(r'name="csrf" value="([^"]+)"', await r.text())
    assert m, f"no CSRF field on {path}"
    return m.group(1)


async def login(s: aiohttp.ClientSession, name: str, secret: str) -> aiohttp.ClientResponse:
    token = await csrf_of(s, "/desk/login")
    return await s.post("/desk/login", data={"csrf": token, "name": name, "secret": secret,
                                             "next": "/desk/"}, allow_redirects=False)


def operator_config() -> str:
    """The ``[[desk.users]]`` table of a daemon the tests log in to as OPERATOR."""
    return f"""
[[desk.users]]
name = "{OPERATOR}"
password_hash = "{hash_password(PASSWORD)}"
"""


@contextlib.asynccontextmanager
async def operator_session(d: Daemon) -> AsyncIterator[aiohttp.ClientSession]:
    """A client of ``d`` logged in as OPERATOR (``operator_config``)."""
    async with aiohttp.ClientSession(d.url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        r = await login(s, OPERATOR, PASSWORD)
        assert r.status == 303
        yield s


@pytest.fixture
async def operator(anon: aiohttp.ClientSession) -> aiohttp.ClientSession:
    r = await login(anon, OPERATOR, PASSWORD)
    assert r.status == 303 and r.headers["Location"] == "/desk/"
    return anon


# --- passwords (pure) ------------------------------------------------------------------


def test_password_hash_round_trip_and_rejects_wrong_or_malformed():
    h = hash_password("秘密の合言葉")
    assert h.startswith("scrypt:") and "秘密" not in h
    assert verify_password("秘密の合言葉", h)
    assert not verify_password("秘密の合言葉 ", h)
    assert not verify_password("x", "scrypt:broken")
    assert not verify_password("x", "md5:abc")


def test_check_login_by_user_or_by_ingest_token_name():
    from lalert.server.sessions import DeskUser

    users = [DeskUser("sato", hash_password("pw1"))]
    tokens = {"prefecture-gw": "tok-abc"}
    assert check_login(users, tokens, "sato", "pw1") == "sato"
    assert check_login(users, tokens, "sato", "tok-abc") is None  # a user must use its password
    assert check_login(users, tokens, "", "tok-abc") == "prefecture-gw"
    assert check_login(users, tokens, "", "nope") is None
    assert check_login(users, tokens, "sato", "") is None


# --- auth ------------------------------------------------------------------------------


async def test_no_session_redirects_to_login(anon):
    async with anon.get("/desk", allow_redirects=True) as r:
        assert r.url.path == "/desk/login"
        assert "ログイン" in await r.text()
    for path in ("/desk/", "/desk/rejected", "/desk/submit", "/desk/live"):
        async with anon.get(path, allow_redirects=False) as r:
            assert r.status == 303
            assert r.headers["Location"].startswith("/desk/login?next=")


async def test_bad_password_is_refused_with_a_message(anon):
    r = await login(anon, OPERATOR, "wrong")
    assert r.status == 401
    assert "名前またはパスワード（トークン）が違います" in await r.text()
    async with anon.get("/desk/", allow_redirects=False) as r2:
        assert r2.status == 303  # still not logged in


async def test_login_sets_a_strict_httponly_cookie_and_shows_the_operator(anon):
    r = await login(anon, OPERATOR, PASSWORD)
    assert r.status == 303
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/desk" in cookie
    async with anon.get("/desk/") as page:
        html = await page.text()
        assert page.headers["Cache-Control"] == "no-store"
        assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert f"<strong>{OPERATOR}</strong>" in html
    assert "発表中の情報" in html


async def test_ingest_token_logs_in_under_its_name(anon, desk_daemon):
    r = await login(anon, "", desk_daemon.token)
    assert r.status == 303
    async with anon.get("/desk/") as page:
        assert "<strong>env</strong>" in await page.text()  # LALERT_INGEST_TOKEN is "env"


async def test_logout_ends_the_session(operator):
    token = await csrf_of(operator, "/desk/")
    async with operator.post("/desk/logout", data={"csrf": token}, allow_redirects=False) as r:
        assert r.status == 303
    async with operator.get("/desk/", allow_redirects=False) as r:
        assert r.status == 303


async def test_csrf_missing_or_forged_is_403_and_nothing_is_journaled(operator, desk_daemon):
    before = desk_daemon.health()["journal"]["messages"]
    await csrf_of(operator, "/desk/submit")
    body = cap("desk-csrf-1").decode()
    for data in ({"text": body}, {"text": body, "csrf": "forged-token"}):
        async with operator.post("/desk/submit", data=data) as r:
            assert r.status == 403
            assert "CSRF" in await r.text()
    async with operator.post("/desk/japan", data={"open": "1", "csrf": ""}) as r:
        assert r.status == 403
    assert desk_daemon.health()["journal"]["messages"] == before
    assert not flags.japan_open(desk_daemon.home)


async def test_a_cookie_from_another_key_is_not_a_session(anon):
    from cryptography.fernet import Fernet

    forged = Fernet(Fernet.generate_key()).encrypt(json.dumps(
        {"created": 1, "session": {"user": "mallory", "csrf": "x"}}).encode()).decode()
    async with anon.get("/desk/", headers={"Cookie": f"lalert_desk={forged}"},
                        allow_redirects=False) as r:
        assert r.status == 303


# --- manual submission -----------------------------------------------------------------


async def test_preview_then_confirm_goes_through_the_journal(operator, desk_daemon):
    msg = cap("desk-manual-1", headline="手動投入のテスト（熊本市）")
    before = desk_daemon.health()["journal"]["messages"]
    token = await csrf_of(operator, "/desk/submit")
    form = aiohttp.FormData()
    form.add_field("csrf", token)
    form.add_field("text", "")
    form.add_field("file", msg, filename="alert.xml", content_type="application/xml")
    async with operator.post("/desk/submit", data=form) as r:
        assert r.status == 200
        html = await r.text()
    assert "読み取り結果の確認" in html
    assert "警戒レベル4相当情報" in html and "熊本市中心部" in html  # a Met event: not an order
    assert "手動投入のテスト（熊本市）" in html
    assert 'class="deskmap"' in html and "<path" in html  # the CAP polygon on the map
    assert desk_daemon.health()["journal"]["messages"] == before  # preview journals nothing
    pending = re.search(r'name="pending" value="([^"]+)"', html).group(1)
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)

    async with operator.post("/desk/submit/confirm", data={"csrf": csrf, "pending": pending},
                             allow_redirects=False) as r:
        assert r.status == 303
        location = r.headers["Location"]
    msg_id = re.match(r"^/desk/messages/(\d+)\?sent=1$", location).group(1)
    async with operator.get(location) as r:
        page = await r.text()
    assert "投入しました" in page and f"#{msg_id}" in page

    status, hist = desk_daemon.get_json("/api/v1/history")
    item = next(i for i in hist["items"] if i["id"] == msg_id)
    assert item["source"] == "desk" and item["sender"] == OPERATOR
    assert item["outcome"] in ("active", "pending")
    desk_daemon.wait(lambda: any(f["id"] == "desk-manual-1" for f in
                                 desk_daemon.get_json("/api/v1/alerts")[1]["features"]),
                     what="the submitted alert to be active")

    # the same preview cannot be confirmed twice
    async with operator.post("/desk/submit/confirm", data={"csrf": csrf, "pending": pending},
                             allow_redirects=False) as r:
        assert r.status == 409


async def test_preview_of_unreadable_text_says_why(operator):
    token = await csrf_of(operator, "/desk/submit")
    async with operator.post("/desk/submit", data={"csrf": token,
                                                   "text": "<notanalert/>"}) as r:
        html = await r.text()
    assert r.status == 200
    assert "このメッセージは読み取れません" in html
    async with operator.post("/desk/submit", data={"csrf": token, "text": "  "}) as r:
        assert r.status == 400


async def test_delivery_status_per_output(operator, desk_daemon):
    status, _ = desk_daemon.post(cap("desk-delivery-1"))
    assert status == 202
    desk_daemon.wait(lambda: (desk_daemon.home / "recorder.log").exists() and "desk-delivery-1"
                     in (desk_daemon.home / "recorder.log").read_text(), what="recorder")

    async with operator.get("/desk/live") as r:
        html = await r.text()
        etag = r.headers["ETag"]
    start = html.index('data-alert-id="desk-delivery-1"')
    card = html[start:html.index("</article>", start)]
    assert "熊本市に避難指示（テスト用）" in card and "警戒レベル4相当情報" in card  # a Met event: JMA-style, not an order
    assert "recorder: 送信済" in card  # its outbox record says sent
    assert re.search(r"サイネージ: (処理済|待機中)", card)  # from the bus cursor
    async with operator.get("/desk/live", headers={"If-None-Match": etag}) as r:
        assert r.status == 304  # nothing changed: the poller gets a 304


# --- rejected messages -----------------------------------------------------------------


async def test_rejected_message_shows_reason_and_escaped_raw_text(operator, desk_daemon):
    evil = b'<?xml version="1.0"?><alert><script>alert("x")</script><b>broken'
    status, body = desk_daemon.post(evil)
    assert status == 400
    async with operator.get("/desk/rejected") as r:
        html = await r.text()
    assert body["reason"].split(" (line")[0] in html.replace("&#39;", "'").replace("&#34;", '"')
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    async with operator.get(f"/desk/messages/{body['id']}") as r:
        detail = await r.text()
    assert "&lt;script&gt;" in detail and "<script>alert" not in detail


# --- screens and 00000JAPAN ------------------------------------------------------------


async def test_add_screen_persists_in_home_and_reaches_signage(operator, desk_daemon):
    token = await csrf_of(operator, "/desk/screens")
    data = [("csrf", token), ("id", "desk-test-screen"), ("name", "テスト画面 熊本駅"),
            ("lat", "32.7898"), ("lon", "130.6886"), ("languages", "ja"),
            ("languages", "en"), ("orientation", "portrait"), ("min_level", "3")]
    async with operator.post("/desk/screens", data=data, allow_redirects=False) as r:
        assert r.status == 303
    saved = json.loads((desk_daemon.home / "screens.json").read_text())
    assert [s["id"] for s in saved] == ["desk-test-screen"]
    assert saved[0]["orientation"] == "portrait" and saved[0]["languages"] == ["ja", "en"]
    status, _, page = desk_daemon.get("/signage/desk-test-screen")
    assert status == 200 and "テスト画面 熊本駅" in page.decode()

    # a bad id is refused with the reason, nothing saved
    token = await csrf_of(operator, "/desk/screens")
    async with operator.post("/desk/screens", data={"csrf": token, "id": "Bad Id!",
                                                    "name": "x", "lat": "32", "lon": "130"}) as r:
        assert r.status == 400
        assert "screen id" in await r.text()
    assert len(json.loads((desk_daemon.home / "screens.json").read_text())) == 1


async def test_00000japan_declaration_reaches_signage(operator, desk_daemon):
    token = await csrf_of(operator, "/desk/screens")
    data = [("csrf", token), ("id", "japan-check"), ("name", "Wi-Fi 確認"),
            ("lat", "32.80"), ("lon", "130.70"), ("languages", "ja")]
    async with operator.post("/desk/screens", data=data, allow_redirects=False) as r:
        assert r.status == 303
    token = await csrf_of(operator, "/desk/screens")
    async with operator.post("/desk/japan", data={"csrf": token, "open": "1"},
                             allow_redirects=False) as r:
        assert r.status == 303
    assert flags.japan_open(desk_daemon.home)
    assert flags.load_flags(desk_daemon.home)[flags.JAPAN]["by"] == OPERATOR
    body = desk_daemon.get_json("/signage/japan-check.json")[1]
    assert body["wifi"]["japan_open"] is True
    token = await csrf_of(operator, "/desk/screens")
    async with operator.post("/desk/japan", data={"csrf": token, "open": "0"},
                             allow_redirects=False) as r:
        assert r.status == 303
    assert desk_daemon.get_json("/signage/japan-check.json")[1]["wifi"]["japan_open"] is False


async def test_silent_feed_is_an_alarm_on_the_overview_and_the_feeds_page(operator,
                                                                          desk_daemon):
    desk_daemon.wait(lambda: desk_daemon.health()["alarms"], what="the feed alarm")
    async with operator.get("/desk/") as r:
        html = await r.text()
    assert 'class="alarm-list" role="alert"' in html and "dead-feed" in html
    async with operator.get("/desk/feeds") as r:
        html = await r.text()
    row = html[html.index("<strong>dead-feed</strong>"):]
    row = row[:row.index("</tr>")]
    assert "途絶" in row and "no successful fetch for 3 intervals" in row
    assert "ClientConnectorError" in row or "Cannot connect" in row  # the last error


async def test_english_on_request(operator):
    async with operator.get("/desk/?lang=en") as r:
        html = await r.text()
    assert '<html lang="en">' in html and "Alerts in force" in html
    async with operator.get("/desk/history") as r:  # the choice sticks to the session
        assert "Message history" in await r.text()
    async with operator.get("/desk/?lang=ja") as r:
        assert "発表中の情報" in await r.text()


async def test_restart_keeps_sessions_screens_and_the_declaration(operator, desk_daemon):
    token = await csrf_of(operator, "/desk/screens")
    data = [("csrf", token), ("id", "after-restart"), ("name", "再起動後も残る画面"),
            ("lat", "32.80"), ("lon", "130.70"), ("languages", "ja")]
    async with operator.post("/desk/screens", data=data, allow_redirects=False) as r:
        assert r.status == 303
    async with operator.post("/desk/japan", data={"csrf": token, "open": "1"},
                             allow_redirects=False) as r:
        assert r.status == 303
    desk_daemon.restart()  # comes back on another port; cookies do not care about ports
    # the session key lives in the home: operators stay logged in across a restart
    async with aiohttp.ClientSession(desk_daemon.url, cookie_jar=operator.cookie_jar) as again:
        async with again.get("/desk/screens", allow_redirects=False) as r:
            assert r.status == 200
            assert "after-restart" in await r.text()
    # the home's screens and 00000JAPAN reach signage from the first request
    body = desk_daemon.get_json("/signage/after-restart.json")[1]
    assert body["wifi"]["japan_open"] is True


async def test_post_without_a_session_is_refused(anon):
    async with anon.post("/desk/japan", data={"open": "1"}) as r:
        assert r.status == 403
        assert "ログインしていないか" in await r.text()


def test_flags_survive_in_the_home(tmp_path: Path):
    assert flags.output_settings(tmp_path) == {}
    flags.set_flag(tmp_path, flags.JAPAN, True, by="sato")
    flags.save_screens(tmp_path, [{"id": "a", "name": "A", "lat": 1.0, "lon": 2.0}])
    assert flags.output_settings(tmp_path) == {
        flags.JAPAN: True, flags.SCREENS: [{"id": "a", "name": "A", "lat": 1.0, "lon": 2.0}]}
    assert not list(tmp_path.glob(".*.tmp"))


def test_push_deliveries_are_summarised_per_change(tmp_path: Path):
    from lalert.outputs.delivery import logged
    from lalert.server.desk.views import summarise_push
    from lalert.store.push import PushStore
    from tests.push_fakes import change, flood

    store = PushStore(tmp_path / "push.sqlite")
    store.fan_out("webhook", logged(change(7, flood())), ["sub-a", "sub-b"])
    store.fan_out("webpush", logged(change(8, flood(serial=2))), ["sub-c"])
    assert store.seq_states([7, 8, 9]) == {7: {"webhook": {"pending": 2}},
                                           8: {"webpush": {"pending": 1}}}
    assert summarise_push({"sent": 5, "retrying": 1}) == {
        "state": "retrying", "detail": "", "counts": {"retrying": 1, "sent": 5}}
    assert summarise_push({"sent": 3})["state"] == "sent"
    assert summarise_push({"dead": 1, "pending": 2})["state"] == "dead"


# --- alert kinds, info types and severities in words -------------------------------------


async def test_kind_info_type_and_severity_are_words_in_both_languages(operator, desk_daemon):
    status, _ = desk_daemon.post(cap("desk-words-1", event="避難指示", category="Safety"))
    assert status == 202
    desk_daemon.wait_applied()

    async def card(lang: str) -> str:
        async with operator.get(f"/desk/live?lang={lang}") as r:
            html = await r.text()
        start = html.index('data-alert-id="desk-words-1"')
        return html[start:html.index("</article>", start)]

    ja = await card("ja")
    assert "避難指示・高齢者等避難・緊急安全確保 · 発表 · 重大" in ja
    assert "evacuation · issue · Severe" not in ja
    en = await card("en")
    assert "Evacuation information · Issued · severe" in en
    async with operator.get("/desk/?lang=ja") as r:
        assert r.status == 200


def test_kind_words_cover_every_vocab_kind():
    from lalert.outputs.phrases import KIND_NAMES
    from lalert.server.desk.text import kind_word
    from lalert.vocab import KINDS

    assert set(KIND_NAMES) == set(KINDS)
    assert kind_word("tsunami", "ja") == KINDS["tsunami"]
    assert kind_word("other", "ja") == "その他" and kind_word(None, "en") == "Other"
    assert kind_word("not-a-kind", "ja") == "not-a-kind"  # unknown codes stay visible


# --- login throttling --------------------------------------------------------------------


def test_login_throttle_window_and_reset():
    from lalert.server.sessions import LoginThrottle

    now = [1000.0]
    th = LoginThrottle(failures=5, window=300, clock=lambda: now[0])
    for _ in range(4):
        th.failed("10.0.0.1")
        now[0] += 10
    assert th.retry_after("10.0.0.1") == 0  # four failures: still allowed
    th.failed("10.0.0.1")  # the fifth, at t=1040; the first was at t=1000
    assert th.retry_after("10.0.0.1") == 260
    assert th.retry_after("10.0.0.2") == 0  # per address
    now[0] = 1299.5
    assert th.retry_after("10.0.0.1") == 1
    now[0] = 1300.0  # the first failure left the window: four remain
    assert th.retry_after("10.0.0.1") == 0
    th.succeeded("10.0.0.1")
    th.failed("10.0.0.1")
    assert th.retry_after("10.0.0.1") == 0


async def _session_from(desk_daemon: Daemon, addr: str) -> aiohttp.ClientSession:
    """A client whose connections come from another loopback address (127.0.0.0/8)."""
    return aiohttp.ClientSession(desk_daemon.url, cookie_jar=aiohttp.CookieJar(unsafe=True),
                                 connector=aiohttp.TCPConnector(local_addr=(addr, 0)))


async def test_five_failed_logins_from_one_address_get_429_with_retry_after(desk_daemon):
    async with await _session_from(desk_daemon, "127.0.0.2") as s:
        for _ in range(5):
            r = await login(s, OPERATOR, "wrong-password")
            assert r.status == 401
        r = await login(s, OPERATOR, PASSWORD)  # even the right password, for now
        assert r.status == 429
        assert 1 <= int(r.headers["Retry-After"]) <= 300
        assert "ログインの失敗が続いた" in await r.text()
        async with s.get("/desk/", allow_redirects=False) as page:
            assert page.status == 303  # no session was started
    async with await _session_from(desk_daemon, "127.0.0.3") as other:
        r = await login(other, OPERATOR, PASSWORD)  # another address is not affected
        assert r.status == 303


# --- push deliveries ---------------------------------------------------------------------

LONG_TOKEN = "AbCdEf0123456789xyzPUSHTOKEN"


class HookReceiver:
    """A webhook receiver on loopback (hand-made for these tests), one behaviour per path:
    ``/ok`` answers 204; ``/fail`` 500 until ``healed``; ``/flaky`` 500 once, then holds
    the retry until ``release``; ``/hold/…`` holds every request until ``release``. Held
    requests keep a delivery in a known state (pending, retrying) for as long as needed."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.ids: dict[str, list[str]] = {}
        self.healed = False
        self.release = threading.Event()
        rx = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = "/" + urlsplit(self.path).path.strip("/").split("/")[0]
                seen = rx.ids.setdefault(path, [])
                seen.append(self.headers.get("webhook-id", ""))
                status = 204
                if path == "/fail" and not rx.healed:
                    status = 500
                elif path == "/flaky" and len(seen) == 1:
                    status = 500
                elif path in ("/flaky", "/hold"):
                    rx.release.wait(120)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str, user: str = "") -> str:
        return f"http://{user}127.0.0.1:{self.server.server_port}{path}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


PUSH_CONFIG = """
[[desk.users]]
name = "{user}"
password_hash = "{hash}"

[push]
allow_destinations = ["127.0.0.0/8"]

[outputs.webhook]
max_attempts = 2
base_delay_s = 0.05
max_delay_s = 0.1
timeout_s = 120
"""


def subscribe_webhooks(d: Daemon, rx: HookReceiver) -> dict[str, str]:
    """Four webhook subscriptions near the test polygon; name → subscription id."""
    urls = {"ok": rx.url("/ok", user="alice:pw-secret@"),
            "fail": rx.url("/fail?token=s3cr3t-query&v=1"),
            "flaky": rx.url("/flaky"),
            "hold": rx.url(f"/hold/{LONG_TOKEN}")}
    out = {}
    for name, url in urls.items():
        body = {"channel": "webhook", "url": url,
                "where": {"point": {"lat": 32.80, "lon": 130.70}, "radius_m": 200}}
        status, _, resp = d.request("POST", "/api/v1/subscriptions", json.dumps(body).encode(),
                                    {"Authorization": f"Bearer {d.token}",
                                     "Content-Type": "application/json"})
        assert status == 201, resp
        out[name] = json.loads(resp)["id"]
    return out


def deliveries_api(d: Daemon, query: str = "") -> dict:
    status, _, body = d.get(f"/api/v1/deliveries?{query}",
                            headers={"Authorization": f"Bearer {d.token}"})
    assert status == 200, body
    return json.loads(body)


@pytest.fixture(scope="module")
def push_desk(tmp_path_factory):
    """A daemon with the webhook output (2 attempts, 50 ms backoff), a receiver, and one
    alert that left one delivery in each state: sent, dead, retrying and pending."""
    rx = HookReceiver()
    home = tmp_path_factory.mktemp("deskpush") / "home"
    d = start_daemon(home, outputs=["webhook"], config_text=PUSH_CONFIG.format(
        user=OPERATOR, hash=hash_password(PASSWORD)))
    try:
        subs = subscribe_webhooks(d, rx)
        status, _ = d.post(cap("desk-push-1", event="避難指示", category="Safety"))
        assert status == 202
        d.wait(lambda: deliveries_api(d, "channel=webhook")["states"] == {
            "sent": 1, "dead": 1, "retrying": 1, "pending": 1} and len(rx.ids.get("/flaky", ()))
            == 2, what="one delivery in each state")
        yield d, rx, subs
    finally:
        rx.release.set()
        d.stop()
        rx.close()


@pytest.fixture
async def push_operator(push_desk) -> AsyncIterator[aiohttp.ClientSession]:
    d = push_desk[0]
    async with aiohttp.ClientSession(d.url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        r = await login(s, OPERATOR, PASSWORD)
        assert r.status == 303
        yield s


def _rows(html: str) -> dict[str, str]:
    """delivery id → its table row."""
    return {m.group(1): m.group(0) for m in re.finditer(
        r'<tr class="st-row-\w+" data-delivery-id="([^"]+)">.*?</tr>', html, re.S)}


async def test_deliveries_page_counts_lists_and_masks_recipients(push_desk, push_operator):
    d, rx, subs = push_desk
    async with push_operator.get("/desk/deliveries") as r:
        assert r.status == 200
        html = await r.text()
    assert '<a href="/desk/deliveries" aria-current="page">配信</a>' in html  # in the nav
    for state, word in (("pending", "送信中"), ("retrying", "再試行中"), ("sent", "送信済"),
                        ("dead", "失敗")):
        assert f'aria-label="Webhook {word} 1"' in html, state
    assert 'aria-label="MQTT' not in html  # zero counts are not links
    rows = _rows(html)
    assert len(rows) == 4
    api = {x["sub_id"]: x for x in deliveries_api(d, "channel=webhook")["deliveries"]}
    title = d.get_json("/api/v1/alerts")[1]["features"][0]["properties"]["title"]
    for name, sub in subs.items():
        row = rows[api[sub]["id"]]
        assert title in row
        assert f'href="/desk/deliveries/{api[sub]["id"]}"' in row
        assert ("/desk/deliveries/" + api[sub]["id"] + "/retry" in row) == (name == "fail")
    dead = rows[api[subs["fail"]]["id"]]
    assert "失敗" in dead and "HTTP 500" in dead and ">2<" in dead  # two attempts
    assert "再試行中" in rows[api[subs["flaky"]]["id"]]
    assert "JST" in rows[api[subs["flaky"]]["id"]].split("HTTP 500")[1]  # next retry time
    # recipients are shown, their secrets are not
    assert "***@127.0.0.1" in html and "pw-secret" not in html and "alice" not in html
    assert "token=***&amp;v=***" in html and "s3cr3t" not in html
    assert f"/hold/{LONG_TOKEN[:4]}…" in html and LONG_TOKEN not in html

    async with push_operator.get("/desk/deliveries?channel=webhook&state=dead") as r:
        html = await r.text()
    assert list(_rows(html)) == [api[subs["fail"]]["id"]]
    # the language switch keeps the filters
    assert 'href="/desk/deliveries?channel=webhook&amp;state=dead&amp;lang=en"' in html
    async with push_operator.get("/desk/deliveries?channel=mqtt") as r:
        html = await r.text()
    assert _rows(html) == {} and "該当する配信はありません" in html
    async with push_operator.get("/desk/deliveries?state=bogus&lang=en") as r:
        html = await r.text()
    assert len(_rows(html)) == 4  # an unknown filter value means "all"
    assert "Push deliveries" in html and 'aria-label="Webhook failed 1"' in html
    async with push_operator.get("/desk/deliveries?lang=ja") as r:
        assert "プッシュ配信の状況" in await r.text()


async def test_delivery_attempt_log_and_retry_now(push_desk, push_operator):
    d, rx, subs = push_desk
    dead = next(x for x in deliveries_api(d, "state=dead")["deliveries"]
                if x["sub_id"] == subs["fail"])
    page = f"/desk/deliveries/{dead['id']}"
    async with push_operator.get(page) as r:
        assert r.status == 200
        html = await r.text()
    log = html[html.index('<table class="grid attempts">'):]
    assert log.count('<tr class="failed">') == 2 and log.count(">500<") == 2
    assert re.search(r"\d+ ms", log) and "JST" in log
    assert "s3cr3t" not in html and "token=***" in html

    async with push_operator.post(page + "/retry", data={"csrf": "forged"}) as r:
        assert r.status == 403  # CSRF-protected
    assert deliveries_api(d, "state=dead")["states"]["dead"] == 1

    rx.healed = True
    token = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    async with push_operator.post(page + "/retry", data={"csrf": token},
                                  allow_redirects=False) as r:
        assert r.status == 303
        assert r.headers["Location"] == page + "?retried=queued"
    d.wait(lambda: next(x for x in deliveries_api(d)["deliveries"]
                        if x["id"] == dead["id"])["state"] == "sent", what="the retry")
    assert rx.ids["/fail"] == [dead["id"]] * 3  # the same webhook-id on every attempt
    async with push_operator.get(page + "?retried=queued") as r:
        html = await r.text()
    assert "再送を予約しました" in html
    log = html[html.index('<table class="grid attempts">'):]
    assert [int(n) for n in re.findall(r'<td class="num">(\d{3})</td>', log)] == [500, 500, 204]

    async with push_operator.post(page + "/retry", data={"csrf": token}) as r:
        assert r.status == 409  # only dead deliveries are retried
        assert "再送できません" in await r.text()
    async with push_operator.get("/desk/deliveries/msg_nope") as r:
        assert r.status == 404


def test_mask_url_hides_credentials_and_tokens():
    from lalert.server.desk.deliveries import mask_url

    assert mask_url("https://u:p@hooks.example.org:8443/in?token=abc&x=") == (
        "https://***@hooks.example.org:8443/in?token=***&x=***")
    assert mask_url("https://fcm.googleapis.com/fcm/send/dGhpcyBpcyBhIHRva2VuLCBsb25n") == (
        "https://fcm.googleapis.com/fcm/send/dGhp…")
    assert mask_url("https://x.example/api/v1/hooks/ab12cd34#frag") == (
        "https://x.example/api/v1/hooks/…")
    assert mask_url("not a url") == "…"


def test_requeue_only_dead_deliveries(tmp_path: Path):
    from lalert.outputs.delivery import logged
    from lalert.storage import Outcome
    from lalert.store.push import PushStore
    from tests.push_fakes import change, flood

    store = PushStore(tmp_path / "push.sqlite")
    [job] = store.fan_out("webhook", logged(change(3, flood())), ["sub-a"])
    assert store.requeue(job.id) is None  # pending: nothing to do
    job.attempts = 2
    store.record([(job, "dead", Outcome(False, 500, "HTTP 500"), 1.0, 3.0)])
    again = store.requeue(job.id)
    assert again is not None and again.id == job.id and again.attempts == 2
    assert store.delivery(job.id)["state"] == "pending"
    assert store.change_titles([3, 4]) == {3: "避難指示"}
    assert store.requeue(job.id) is None


def test_retry_without_a_running_output_waits_for_the_next_start(tmp_path: Path):
    from lalert.outputs.delivery import logged
    from lalert.server.desk import deliveries as dd
    from lalert.storage import Outcome
    from lalert.store.backends import Backends
    from lalert.store.push import PushStore
    from tests.push_fakes import change, flood

    store = PushStore.for_home(tmp_path)
    stores = Backends("sqlite", tmp_path)
    try:
        [job] = store.fan_out("mqtt", logged(change(5, flood())),
                              ["set:lalert/alerts/43/4310100/x"])
        job.attempts = 1
        store.record([(job, "dead", Outcome(False, error="broker gone"), 1.0, 2.0)])
        ctx = dd.listing(stores, "mqtt", "dead")
        assert ctx["counts"]["mqtt"] == {"pending": 0, "retrying": 0, "sent": 0, "dead": 1}
        [row] = ctx["rows"]
        assert row["target"] == "set lalert/alerts/43/4310100/x" and row["last"] == "broker gone"
        assert dd.retry(stores, job.id) == "later"  # no mqtt output runs in this process
        assert [j.id for j in store.unfinished("mqtt")] == [job.id]  # resumed at next start
        assert dd.retry(stores, job.id) is None
    finally:
        store.close()
    assert dd.listing(Backends("sqlite", tmp_path / "none"), "", "")["has_store"] is False
    assert not (tmp_path / "none" / "push.sqlite").exists()  # the desk never makes one


def test_preview_store_hands_bytes_once_to_the_operator_who_previewed():
    from lalert.server.desk.preview import PreviewStore

    store = PreviewStore(max_items=2)
    token = store.put("alice", b"<alert/>")
    assert store.take(token, "bob") is None  # another operator cannot confirm it
    assert store.take(token, "alice") == b"<alert/>"
    assert store.take(token, "alice") is None  # spent
    first = store.put("alice", b"1")
    store.put("alice", b"2")
    store.put("alice", b"3")
    assert len(store) == 2 and store.take(first, "alice") is None  # oldest dropped
    expired = PreviewStore(ttl=-1.0)  # every hold is already too old
    assert expired.take(expired.put("alice", b"x"), "alice") is None
