"""``/api/v1/subscriptions`` (POST / GET / DELETE) and the delivery log for the desk.

Webhook subscriptions and every listing need a bearer token; Web Push subscriptions come
from the public map's "notify me for this place" button, need none, are rate-limited per
client (``lalert.clientaddr``) and for everyone together (429 + ``Retry-After``) and
answer with an unsubscribe key. Every filter is bounded (``lalert.subscriptions.model``:
400 naming the field and the limit), and a webhook URL or push endpoint must reach a
public address or one in ``[push] allow_destinations`` (``lalert.outputs.netguard``). The routes are mounted once, by the
webhook output, or by the Web Push output when no webhook output runs for the same home.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import secrets
import time
import weakref
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web

from lalert.clientaddr import client_address, trusted_proxies
from lalert.config import body_timeout_s
from lalert.outputs import phrases
from lalert.outputs.netguard import allowed_networks, check_url
from lalert.storage import Subscriptions
from lalert.subscriptions.model import InvalidSubscription, new_id, subscription_from_request

if TYPE_CHECKING:  # pragma: no cover
    from lalert.outputs.base import OutputContext

MAX_BODY = 64 * 1024
_LIVE: dict[tuple[Path, str], Any] = {}  # (home, channel) → the running output
# Outputs that mount these routes whatever else runs (the webhook output); the Web Push
# output mounts them only when none exists, so aiohttp never sees them twice.
MOUNTERS: weakref.WeakSet[Any] = weakref.WeakSet()


def register(home: Path, channel: str, output: Any) -> None:
    _LIVE[(Path(home).resolve(), channel)] = output


def unregister(home: Path, channel: str, output: Any) -> None:
    if _LIVE.get((Path(home).resolve(), channel)) is output:
        del _LIVE[(Path(home).resolve(), channel)]


def live(home: Path, channel: str) -> Any:
    return _LIVE.get((Path(home).resolve(), channel))


class RateLimit:
    """At most ``n`` events per ``per`` seconds per key (sliding window, in memory)."""

    def __init__(self, n: int, per: float) -> None:
        self.n, self.per = n, per
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        if self.wait(key):
            return False
        self.hit(key)
        return True

    def wait(self, key: str) -> int:
        """0 while ``key`` may go on, else the whole seconds until it may (nothing counted)."""
        now = time.monotonic()
        q = self._hits.get(key)
        if q is None:
            return 0
        while q and q[0] <= now - self.per:
            q.popleft()
        if len(q) >= self.n:
            return max(1, int(q[0] + self.per - now + 0.999))
        return 0

    def hit(self, key: str) -> None:
        """Count one event for ``key``."""
        now = time.monotonic()
        self._hits.setdefault(key, deque()).append(now)
        if len(self._hits) > 100_000:  # bound memory under a spray of addresses
            self._hits = {k: v for k, v in self._hits.items() if v and v[-1] > now - self.per}


def _tokens(ctx: OutputContext) -> dict[str, str]:
    """token → holder name, from the output's config or the daemon settings."""
    raw = ctx.config.get("tokens") or ctx.settings.get("api_tokens") or ctx.settings.get("tokens")
    if isinstance(raw, dict):
        return {str(v): str(k) for k, v in raw.items()}
    if isinstance(raw, (list, tuple)):
        return {str(t): f"token{i}" for i, t in enumerate(raw)}
    if isinstance(raw, str) and raw:
        return {raw: "token0"}
    return {}


def token_holder(request: web.Request, ctx: OutputContext) -> str | None:
    """The name behind a valid ``Authorization: Bearer`` token, else None."""
    header = request.headers.get("Authorization", "")
    # the daemon's own token set, which the daemon hands over (``ctx.verify_token``)
    if ctx.verify_token is not None and header[:7].lower() == "bearer ":
        holder = ctx.verify_token(header[7:].strip())
        if holder:
            return holder
    if not header.startswith("Bearer "):
        return None
    given = header[7:].strip()
    for token, holder in _tokens(ctx).items():
        if hmac.compare_digest(token.encode(), given.encode("utf-8", "surrogateescape")):
            return holder
    return None


def _b64url(s: Any) -> bytes:
    if not isinstance(s, str):
        raise InvalidSubscription("push keys must be base64url strings")
    try:
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidSubscription("push keys must be base64url strings") from exc


def webpush_target(body: dict[str, Any], *, allow_http: bool) -> dict[str, Any]:
    """The browser's PushSubscription JSON, checked: https endpoint, P-256 key, 16-byte auth."""
    ps = body.get("subscription")
    if not isinstance(ps, dict) or not isinstance(ps.get("keys"), dict):
        raise InvalidSubscription("'subscription' must be a PushSubscription JSON object")
    endpoint = ps.get("endpoint")
    if not isinstance(endpoint, str) or len(endpoint) > 2048:
        raise InvalidSubscription("push endpoint missing or too long")
    parts = urlsplit(endpoint)
    if parts.scheme != "https" and not (allow_http and parts.scheme == "http"):
        raise InvalidSubscription("push endpoint must be https")
    if not parts.netloc:
        raise InvalidSubscription("push endpoint must be an absolute URL")
    p256dh, auth = _b64url(ps["keys"].get("p256dh")), _b64url(ps["keys"].get("auth"))
    if len(p256dh) != 65 or p256dh[0] != 4:
        raise InvalidSubscription("p256dh must be an uncompressed P-256 public key")
    if len(auth) != 16:
        raise InvalidSubscription("auth must be 16 bytes")
    target = {"endpoint": endpoint,
              "keys": {"p256dh": ps["keys"]["p256dh"], "auth": ps["keys"]["auth"]}}
    lang = display_lang(body.get("lang"))
    if lang is not None:
        target["lang"] = lang
    return target


def display_lang(value: Any) -> str | None:
    """The language a Web Push subscriber reads its notifications in (optional ``lang``:
    the map page's language, a BCP 47 tag lalert's catalogue has), as a catalogue
    language. Not the ``languages`` filter, which selects alerts by the language they
    are published in (the page's language there once kept visitors from ever being
    notified)."""
    if value is None:
        return None
    lang = phrases.lang_of(value) if isinstance(value, str) and len(value) <= 35 else None
    if lang is None:
        raise InvalidSubscription(
            "'lang' must be a language tag lalert has: " + ", ".join(
                phrases.query_lang(x) for x in phrases.PAGE_LANGS))
    return lang


def webhook_target(body: dict[str, Any]) -> dict[str, Any]:
    url = body.get("url")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") or len(url) > 2048:
        raise InvalidSubscription("'url' must be an http(s) URL")
    secret = body.get("secret")
    if secret is None:
        secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    elif not isinstance(secret, str) or not secret.startswith("whsec_") or len(secret) < 20:
        raise InvalidSubscription("'secret' must be a whsec_… Standard Webhooks secret")
    return {"url": url, "secret": secret}


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def strict_json(raw: bytes) -> Any:
    """RFC 8259 JSON from a stranger: ``NaN`` / ``Infinity`` refused, and nesting too deep
    for the decoder a ``ValueError`` (the stdlib raises ``RecursionError``, which once
    answered 500 and logged a traceback per request from one anonymous client)."""
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def _throttled(wait: int, message: str) -> web.Response:
    return _error(429, message, {"Retry-After": str(wait)})


class SubscriptionApi:
    """Route handlers bound to the output that mounts them (its ctx gives home/config)."""

    def __init__(self, owner: Any) -> None:
        self.owner = owner
        self._limit: RateLimit | None = None
        self._global: RateLimit | None = None

    @property
    def ctx(self) -> OutputContext:
        ctx = self.owner.ctx
        if ctx is None:
            raise web.HTTPServiceUnavailable(text="push output not started")
        return ctx

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.post("/api/v1/subscriptions", self.create),
            web.get("/api/v1/subscriptions", self.list),
            web.get("/api/v1/subscriptions/{id}", self.show),
            web.delete("/api/v1/subscriptions/{id}", self.delete),
            web.get("/api/v1/deliveries", self.deliveries),
            web.get("/api/v1/deliveries/{id}/attempts", self.attempts),
        ]

    def _store(self) -> Subscriptions:
        return self.ctx.storage().subscriptions()

    def _anonymous_wait(self, request: web.Request, cfg: dict[str, Any]) -> web.Response | None:
        """Anonymous sign-ups are counted before anything is checked: per client
        (``webpush_subscribe_rate`` per ``webpush_subscribe_window_s``, the client named by
        ``lalert.clientaddr``) and for everyone together (``webpush_subscribe_global_rate``
        per ``webpush_subscribe_global_window_s``), so neither one address nor many can
        fill the store. Refusals are 429 with ``Retry-After``."""
        if self._limit is None or self._global is None:
            self._limit = RateLimit(int(cfg.get("webpush_subscribe_rate", 10)),
                                    float(cfg.get("webpush_subscribe_window_s", 600)))
            self._global = RateLimit(int(cfg.get("webpush_subscribe_global_rate", 600)),
                                     float(cfg.get("webpush_subscribe_global_window_s", 60)))
        client = client_address(request, trusted_proxies(self.ctx.settings))
        wait = self._limit.wait(client)
        if wait:  # checked first: one refused client never eats everyone's budget
            return _throttled(wait, "too many subscriptions from this address; retry later")
        wait = self._global.wait("*")
        if wait:
            return _throttled(wait, "too many new subscriptions right now; retry later")
        self._limit.hit(client)
        self._global.hit("*")
        return None

    async def create(self, request: web.Request) -> web.Response:
        ctx = self.ctx
        if (request.content_length or 0) > MAX_BODY:
            return _error(413, "body too large")
        # before anyone is known: the body must arrive in time (a byte every few seconds
        # held a connection for hours); ``[http] body_timeout_s`` as for the desk login
        seconds = body_timeout_s(ctx.settings)
        raw = b""
        try:
            async with asyncio.timeout(seconds):
                # read(n) answers with what has arrived so far: a body in two TCP segments
                # was cut at the first and refused as "not JSON"
                while len(raw) <= MAX_BODY:
                    chunk = await request.content.read(MAX_BODY + 1 - len(raw))
                    if not chunk:
                        break
                    raw += chunk
        except TimeoutError:
            return _error(408, f"the body did not arrive within {seconds:g} s",
                          {"Connection": "close"})
        if len(raw) > MAX_BODY:
            return _error(413, "body too large")
        try:
            body = strict_json(raw)
        except ValueError as exc:
            return _error(400, f"body must be JSON: {exc}")
        if not isinstance(body, dict):
            return _error(400, "body must be a JSON object")
        channel = body.get("channel")
        output = live(ctx.home, channel) if isinstance(channel, str) else None
        if channel not in ("webhook", "webpush") or output is None:
            return _error(400, "channel must be one of the enabled push channels")
        holder = token_holder(request, ctx)
        try:
            allow = allowed_networks(ctx.settings)
            if channel == "webhook":
                if holder is None:
                    return _error(401, "webhook subscriptions need a bearer token")
                target = webhook_target(body)
                why = await check_url(target["url"], allow)
                if why:
                    return _error(400, f"'url' refused: {why}")
            else:
                if holder is None:
                    refused = self._anonymous_wait(request, output.ctx.config)
                    if refused is not None:
                        return refused
                allow_http = bool(output.ctx.config.get("allow_http_endpoints"))
                target = webpush_target(body, allow_http=allow_http)
                why = await check_url(target["endpoint"], allow,
                                      schemes=("https", "http") if allow_http else ("https",))
                if why:
                    return _error(400, f"push endpoint refused: {why}")
            sub = subscription_from_request(
                body,
                sub_id=new_id("wh" if channel == "webhook" else "wp"),
                channel=channel,
                target=target,
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
        except InvalidSubscription as exc:
            return _error(400, str(exc))
        key = secrets.token_urlsafe(24)
        self._store().add(sub, unsubscribe_key=key, owner=holder or "")
        out: dict[str, Any] = {**sub.public(), "unsubscribe_key": key}
        if channel == "webhook":
            out["secret"] = target["secret"]  # shown once, at creation
        return web.json_response(out, status=201)

    async def list(self, request: web.Request) -> web.Response:
        if token_holder(request, self.ctx) is None:
            return _error(401, "a bearer token is needed")
        channel = request.query.get("channel")
        subs = self._store().list(channel)
        return web.json_response({"subscriptions": [s.public() for s in subs]})

    def _may(self, request: web.Request, sub_id: str) -> bool:
        if token_holder(request, self.ctx) is not None:
            return True
        key = request.headers.get("X-Unsubscribe-Key") or request.query.get("key") or ""
        return bool(key) and self._store().check_key(sub_id, key)

    async def show(self, request: web.Request) -> web.Response:
        sub_id = request.match_info["id"]
        if not self._may(request, sub_id):
            return _error(401, "a bearer token or the unsubscribe key is needed")
        sub = self._store().get(sub_id)
        if sub is None:
            return _error(404, "no such subscription")
        return web.json_response(sub.public())

    async def delete(self, request: web.Request) -> web.Response:
        sub_id = request.match_info["id"]
        if not self._may(request, sub_id):
            return _error(401, "a bearer token or the unsubscribe key is needed")
        if not self._store().delete(sub_id):
            return _error(404, "no such subscription")
        return web.Response(status=204)

    async def deliveries(self, request: web.Request) -> web.Response:
        """The delivery log for the desk console: latest first, filter by channel/state."""
        if token_holder(request, self.ctx) is None:
            return _error(401, "a bearer token is needed")
        box = self.ctx.storage().push()
        q = request.query
        raw = q.get("limit", "")
        ok = raw.isascii() and raw.isdigit()  # '²'.isdigit() is True but int() refuses it
        limit = max(1, min(1000, int(raw[:6]) if ok else 100))
        return web.json_response(
            {
                "states": box.states(q.get("channel")),
                "deliveries": box.deliveries(
                    channel=q.get("channel"), state=q.get("state"), limit=limit
                ),
            }
        )

    async def attempts(self, request: web.Request) -> web.Response:
        if token_holder(request, self.ctx) is None:
            return _error(401, "a bearer token is needed")
        box = self.ctx.storage().push()
        return web.json_response({"attempts": box.attempts(request.match_info["id"])})
