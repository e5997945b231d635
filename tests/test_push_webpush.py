"""Web Push end to end: a push-service stand-in on loopback decrypts (http_ece) with the
subscriber's own keys and checks the VAPID JWT's ES256 signature and claims."""

from __future__ import annotations

import base64
import json
import os
import time

import http_ece
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from lalert.outputs.webpush import WebPushOutput
from lalert.store.push import PushStore
from tests.push_fakes import IN_ASO, IN_CHUO, LoopbackApp, change, ctx, flood


def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Browser:
    """A subscriber's key pair and auth secret, as a browser would create them."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)

    def keys(self) -> dict[str, str]:
        pub = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {"p256dh": b64u(pub), "auth": b64u(self.auth)}


class PushService(LoopbackApp):
    """Stand-in push service: /push/<name> endpoints; decrypts and checks VAPID."""

    route = "/push/{name}"

    def __init__(self, browsers: dict[str, Browser]) -> None:
        self.browsers = browsers
        self.received: dict[str, list[dict]] = {}
        self.jwt_claims: list[dict] = []
        self.vapid_keys: list[str] = []
        self.gone: set[str] = set()

    async def handler(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name in self.gone:
            return web.Response(status=410)
        assert request.headers["Content-Encoding"] == "aes128gcm"
        assert int(request.headers["TTL"]) > 0
        scheme, params = request.headers["Authorization"].split(" ", 1)
        assert scheme == "vapid"
        parts = dict(p.split("=", 1) for p in params.split(","))
        self.check_jwt(parts["t"], parts["k"])
        b = self.browsers[name]
        plain = http_ece.decrypt(
            await request.read(), private_key=b.key, auth_secret=b.auth, version="aes128gcm"
        )
        self.received.setdefault(name, []).append(json.loads(plain))
        return web.Response(status=201)

    def check_jwt(self, token: str, k: str) -> None:
        head, body, sig = token.split(".")
        assert json.loads(unb64u(head))["alg"] == "ES256"
        pub = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64u(k))
        raw = unb64u(sig)
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        pub.verify(der, f"{head}.{body}".encode(), ec.ECDSA(hashes.SHA256()))  # raises if bad
        self.jwt_claims.append(json.loads(unb64u(body)))
        self.vapid_keys.append(k)

    def endpoint(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/push/{name}"


async def started(home, **cfg):
    out = WebPushOutput()
    cfg = {"allow_http_endpoints": True, "base_delay_s": 0.02, "max_delay_s": 0.05, **cfg}
    c = ctx(home, "webpush", **cfg)
    c.base_url = "https://bousai.example.jp"
    await out.start(c)
    app = web.Application()
    app.add_routes(out.routes())
    client = TestClient(TestServer(app))
    await client.start_server()
    return out, client


async def subscribe(client, svc, browser_name, browser, point):
    body = {"channel": "webpush",
            "subscription": {"endpoint": svc.endpoint(browser_name), "keys": browser.keys()},
            "where": {"point": {"lat": point[0], "lon": point[1]}, "radius_m": 500}}
    return await client.post("/api/v1/subscriptions", json=body)


async def test_push_reaches_the_matching_browser_encrypted_and_vapid_signed(tmp_path):
    browsers = {"near": Browser(), "far": Browser()}
    async with PushService(browsers) as svc:
        out, client = await started(tmp_path)
        try:
            key = (await (await client.get("/api/v1/webpush/vapid-public-key")).json())["publicKey"]
            assert len(unb64u(key)) == 65
            r = await subscribe(client, svc, "near", browsers["near"], IN_CHUO)
            assert r.status == 201
            created = await r.json()
            assert created["unsubscribe_key"]
            assert (await subscribe(client, svc, "far", browsers["far"], IN_ASO)).status == 201
            await out.handle(change(1, flood()))
            assert await out.dispatcher.drain(10)
            assert list(svc.received) == ["near"]
            [msg] = svc.received["near"]
            assert msg["title"] == "避難指示" and msg["level"] == 4
            assert msg["place"] == "熊本市中央区"
            assert msg["link"] == "https://bousai.example.jp/map?alert=jma-flood-1"
            [claims] = svc.jwt_claims
            assert claims["aud"] == f"http://127.0.0.1:{svc.port}"
            assert time.time() < claims["exp"] <= time.time() + 24 * 3600
            assert claims["sub"].startswith("mailto:")
            assert svc.vapid_keys == [key]
        finally:
            await out.stop()
            await client.close()


async def test_vapid_keys_persist_and_gone_subscriptions_are_removed(tmp_path):
    browsers = {"b": Browser()}
    async with PushService(browsers) as svc:
        out, client = await started(tmp_path)
        key1 = out.public_key
        created = await (await subscribe(client, svc, "b", browsers["b"], IN_CHUO)).json()
        svc.gone.add("b")
        await out.handle(change(1, flood()))
        assert await out.dispatcher.drain(10)
        assert PushStore.for_home(tmp_path).states("webpush") == {"dead": 1}
        assert out.subs.get(created["id"]) is None
        await out.stop()
        await client.close()
        assert (tmp_path / "vapid_private.pem").stat().st_mode & 0o077 == 0
        again, client = await started(tmp_path)
        assert again.public_key == key1
        await again.stop()
        await client.close()


async def test_subscribe_is_rate_limited_validated_and_drills_skipped(tmp_path):
    browsers = {"b": Browser()}
    async with PushService(browsers) as svc:
        out, client = await started(tmp_path, webpush_subscribe_rate=1)
        try:
            sw = await client.get("/sw-push.js")
            assert sw.status == 200 and "showNotification" in await sw.text()
            assert sw.headers["Service-Worker-Allowed"] == "/"
            mod = await client.get("/static/webpush/lalert-push.js")
            assert "subscribePlace" in await mod.text()
            assert (await client.get("/static/webpush/../output.py")).status == 404
            bad = {"channel": "webpush", "subscription": {"endpoint": svc.endpoint("b"),
                   "keys": {"p256dh": "AAAA", "auth": "AAAA"}},
                   "where": {"point": {"lat": 32.8, "lon": 130.7}}}
            assert (await client.post("/api/v1/subscriptions", json=bad)).status == 400
            assert (await subscribe(client, svc, "b", browsers["b"], IN_CHUO)).status == 429
            drill = flood(status="exercise")
            await out.handle(change(1, drill))
            assert await out.dispatcher.drain(5)
            assert svc.received == {}
        finally:
            await out.stop()
            await client.close()
