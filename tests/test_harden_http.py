"""What one stranger sends over HTTP must not break the daemon for everyone (a real
``lalert run`` on loopback, one trusted proxy so tests can speak for many clients).

- A JSON body nested 60,000 deep or holding ``NaN`` is a 400 naming the problem, not a
  500 with a traceback in the log for every request.
- A tile address with thousands of digits is a 404 (``int()`` refused it with a 500).
- A CAP circle whose radius is ``nan`` is rejected at ingest with the reason (it once
  broke the map data, signage, "where am I" and Web Push for every reader); a
  self-intersecting polygon is drawn (the map data answered 500 for everyone).
- Server-sent event streams are capped per client: one address cannot take every slot.
- Per-client throttles key an IPv6 client by its /64, so rotating addresses inside one
  subscriber's prefix does not buy fresh attempts at the desk login.
- A body sent a byte at a time before anyone is known (desk login, Web Push sign-up) is
  cut off after ``[http] body_timeout_s`` with 408, instead of holding the connection for
  hours; a sign-up body that arrives in two TCP segments is read whole.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
import urllib.request
from collections.abc import Iterator

import aiohttp
import pytest

from tests.daemon_helpers import Daemon, cap, start_daemon

PROXY = "127.0.0.1"  # every test connection comes from here; X-Forwarded-For names the client
PER_ADDRESS = 2
LOGIN_FAILURES = 3
BODY_TIMEOUT = 2


@pytest.fixture(scope="module")
def d(tmp_path_factory) -> Iterator[Daemon]:
    home = tmp_path_factory.mktemp("harden-http") / "home"
    config = f"""
[desk]
login_failures = {LOGIN_FAILURES}
login_failures_per_name = 1000

[http]
trusted_proxies = ["{PROXY}/32"]
body_timeout_s = {BODY_TIMEOUT}

[outputs.sse]
max_clients_per_address = {PER_ADDRESS}
"""
    dm = start_daemon(home, outputs=["sse", "webpush", "tiles", "map"], config_text=config)
    yield dm
    dm.stop()


def _post_json(d: Daemon, body: bytes) -> tuple[int, dict]:
    status, _, raw = d.request("POST", "/api/v1/subscriptions", body,
                               {"Content-Type": "application/json"})
    return status, json.loads(raw)


def test_deeply_nested_json_is_a_400_not_a_500(d):
    status, got = _post_json(d, b"[" * 60_000)
    assert status == 400, got
    assert "nested too deeply" in got["error"]
    assert "RecursionError" not in d.log()


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_constants_that_are_not_numbers_are_refused(d, constant):
    body = ('{"channel": "webpush", "where": {"point": {"lat": 32.8, "lon": 130.7}, '
            f'"radius_m": {constant}}}}}').encode()
    status, got = _post_json(d, body)
    assert status == 400 and f"{constant} is not a JSON number" in got["error"], got


def test_tile_address_with_thousands_of_digits_is_a_404(d):
    status, _, body = d.get(f"/tiles/{'9' * 4400}/1/1.mvt")
    assert status == 404, body
    status, _, _ = d.get("/tiles/4/14/6.mvt")
    assert status == 200  # an ordinary tile still is one
    assert "Exceeds the limit" not in d.log()


def test_a_circle_of_nan_radius_is_rejected_with_the_reason(d):
    msg = cap("harden-nan-circle", polygon=None).replace(
        b"<areaDesc>", b"<circle>32.8,130.7 nan</circle><areaDesc>")
    status, body = d.post(msg)
    assert status == 400, body
    assert "circle radius 'nan'" in body["reason"]
    assert d.get_json("/api/v1/alerts")[0] == 200


def test_a_self_intersecting_polygon_does_not_break_the_map(d):
    # a bow-tie: senders draw these by mistake; the map data once answered 500 for everyone
    bowtie = "32.75,130.65 32.85,130.75 32.85,130.65 32.75,130.75 32.75,130.65"
    status, body = d.post(cap("harden-bowtie", polygon=bowtie))
    assert status == 202, body
    d.wait_applied()

    def shown() -> bool:
        status, doc = d.get_json("/map/data.json?all=1")
        assert status == 200, doc
        return "harden-bowtie" in json.dumps(doc)

    d.wait(shown, what="the bow-tie alert on the map")


def _open_stream(d: Daemon, client: str):
    req = urllib.request.Request(d.url + "/api/v1/stream",
                                 headers={"X-Forwarded-For": client})
    try:
        return urllib.request.urlopen(req, timeout=30)
    except urllib.error.HTTPError as e:
        return e


def test_event_streams_are_capped_per_client(d):
    mine = [_open_stream(d, "198.51.100.7") for _ in range(PER_ADDRESS)]
    try:
        assert [r.status for r in mine] == [200] * PER_ADDRESS
        refused = _open_stream(d, "198.51.100.7")
        assert refused.status == 429 and refused.headers["Retry-After"]
        assert b"too many streams from this address" in refused.read()
        other = _open_stream(d, "198.51.100.8")  # someone else still gets one
        assert other.status == 200
        other.close()
    finally:
        for r in mine:
            r.close()

    def freed() -> bool:  # closed streams give their slots back
        r = _open_stream(d, "198.51.100.7")
        r.close()
        return r.status == 200

    d.wait(freed, what="the client's streams to be released")


async def _token_login(s: aiohttp.ClientSession, client: str) -> int:
    """A wrong token login (no name: only the per-client throttle applies)."""
    async with s.get("/desk/login") as r:
        csrf = re.search(r'name="csrf" value="([^"]+)"', await r.text()).group(1)
    async with s.post("/desk/login", data={"csrf": csrf, "name": "", "secret": "wrong-token",
                                           "next": "/desk/"},
                      headers={"X-Forwarded-For": client}, allow_redirects=False) as r:
        return r.status


async def test_ipv6_clients_are_throttled_by_their_64(d):
    async with aiohttp.ClientSession(d.url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        first = [await _token_login(s, f"2001:db8:77:1::{i + 1:x}")
                 for i in range(LOGIN_FAILURES)]
        assert first == [401] * LOGIN_FAILURES
        # a fresh address in the same /64 is the same client
        assert await _token_login(s, "2001:db8:77:1:ffff:1234:5678:9abc") == 429
        # another /64 is another client
        assert await _token_login(s, "2001:db8:77:2::1") == 401


def test_ipv4_clients_are_still_told_apart(d):
    async def run() -> list[int]:
        async with aiohttp.ClientSession(d.url,
                                         cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            return [await _token_login(s, f"203.0.113.{i}") for i in range(1, 6)]

    assert asyncio.run(run()) == [401] * 5


def _trickle(d: Daemon, path: str, content_type: str, patience: float = 60.0) -> bytes:
    """POST ``path`` declaring 1,000 bytes and sending one byte a second; whatever the
    server answers (b"" when it never does while we are patient)."""
    host, port = d.url.split("//", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=1) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
                  "Content-Length: 1000\r\n\r\n".encode())
        deadline = time.monotonic() + patience
        sent = 0
        while time.monotonic() < deadline and sent < 999:
            try:
                got = s.recv(4096)
                return got
            except TimeoutError:
                pass
            try:
                s.sendall(b"a")
                sent += 1
            except OSError:
                return b"closed"
    return b""


@pytest.mark.parametrize("path,content_type", [
    ("/desk/login", "application/x-www-form-urlencoded"),
    ("/api/v1/subscriptions", "application/json"),
])
def test_a_body_trickled_by_a_stranger_is_cut_off(d, path, content_type):
    answer = _trickle(d, path, content_type)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"did not arrive within 2 s" in answer


def test_a_signup_body_in_two_segments_is_read_whole(d):
    body = json.dumps({"channel": "webpush", "where": {"point": {"lat": 32.8, "lon": 130.7}},
                       "subscription": {"endpoint": "ftp://example.invalid/x", "keys": {}}})
    raw = body.encode()
    host, port = d.url.split("//", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(f"POST /api/v1/subscriptions HTTP/1.1\r\nHost: x\r\nContent-Type: "
                  f"application/json\r\nContent-Length: {len(raw)}\r\nConnection: close"
                  "\r\n\r\n".encode() + raw[:10])
        time.sleep(0.5)  # the rest arrives later, as on a slow mobile link
        s.sendall(raw[10:])
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert b"body must be JSON" not in answer, answer
    assert b"PushSubscription" in answer or b"endpoint" in answer, answer  # read, then judged
