"""Web Push (RFC 8030 / 8291 / 8292) with ``pywebpush``: VAPID-signed, aes128gcm-encrypted.

The VAPID key pair is generated on first start and kept in the home
(``<home>/vapid_private.pem``, mode 0600); browsers subscribe with its public key, which
``GET /api/v1/webpush/vapid-public-key`` serves. Payloads are short (title, level, place,
link) because push services cap them at 4 KB, and told as it is at each subscriber's place
(``payload``: the level where it is, its places' names) in the subscriber's language (the
map page's, sent as ``lang`` at sign-up and kept in the subscription's target). A 404/410 from the push service means the
browser dropped the subscription: it is deleted and the delivery dead-lettered.

Routes: the service worker at ``/sw-push.js`` (scope ``/``), the page module at
``/static/webpush/lalert-push.js``, the VAPID key, and — when no webhook output mounts
them — ``/api/v1/subscriptions``.

Config (``[outputs.webpush]``): ``subject`` (``mailto:`` contact for push services),
``link`` (``{base_url}/map?alert={id}``), ``ttl_s`` (21600), ``drills`` (false),
``workers``, ``per_endpoint``, ``max_attempts``, ``base_delay_s``, ``max_delay_s``,
``allow_http_endpoints`` (tests only), ``webpush_subscribe_rate`` / ``_window_s``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid
from pywebpush import WebPushException, webpush_async

from lalert import resources
from lalert.changes import AlertChange
from lalert.codec import enriched_from_dict
from lalert.outputs import phrases
from lalert.outputs import subscriptions_routes as sroutes
from lalert.outputs.base import BaseOutput, OutputContext
from lalert.outputs.delivery import (
    Dispatcher,
    fan_out_subscribed,
    push_alarms,
    session_and_dispatcher,
)
from lalert.outputs.netguard import allowed_networks
from lalert.storage import Job, Outcome
from lalert.store.private import private_dir
from lalert.subscriptions.index import (
    Place,
    Places,
    lifted_places,
    place_grade,
    place_level,
    places_of,
    touched,
)
from lalert.subscriptions.model import Subscription

CHANNEL = "webpush"
STATIC = resources.path("outputs", "webpush", "static")
MAX_TEXT = 180  # characters per field: the whole payload must stay far below 4 KB


def load_or_create_vapid(home: Path) -> Vapid:
    path = Path(home) / "vapid_private.pem"
    if path.exists():
        return Vapid.from_file(str(path))
    vapid = Vapid()
    vapid.generate_keys()
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(vapid.private_pem())
    return vapid


def application_server_key(vapid: Vapid) -> str:
    """The VAPID public key as browsers want it (base64url, uncompressed point)."""
    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _clip(s: str | None) -> str:
    s = (s or "").strip()
    return s if len(s) <= MAX_TEXT else s[: MAX_TEXT - 1] + "…"


def subscriber_lang(sub: Subscription | None) -> str:
    """The catalogue language a subscriber reads (``target["lang"]``, set from the map
    page's language at sign-up; checked again, since a stored record may be anyone's)."""
    raw = (sub.target.get("lang") if sub is not None else None)
    return phrases.lang_of(raw if isinstance(raw, str) else None) or "ja"


def payload(body: dict[str, Any], link_template: str, base_url: str, *,
            sub: Subscription | None = None, places: Places | None = None,
            lifted: Places | None = None) -> dict[str, Any]:
    """The short notification a service worker shows (from the stored change body), told
    as it is at ``sub``'s place: the level in force at the alert's places that its place
    touches (``lalert.subscriptions.index.touched``, the rule matching used) and only
    those places' names; 解除 with its own places (no level) when what it touches is
    lifted while other towns stay under alert, or the whole alert ends; the alert's
    highest level and every place when it touches none (an alert without shapes). The
    level, 解除 and 訓練 words are in the subscriber's language (``subscriber_lang``); the
    alert's own text stays as published. ``places`` / ``lifted`` (``places_of`` /
    ``lifted_places`` of the body's alert) may be passed in when many subscribers of one
    change are told."""
    lang = subscriber_lang(sub)
    if places is None or lifted is None:
        ea = enriched_from_dict(body)
        places, lifted = places_of(ea), lifted_places(ea)
    ch = body.get("change") or {}
    ended = ch.get("kind") == "withdrawn"
    here: tuple[Place, ...] = ()
    gone: tuple[Place, ...] = ()
    if sub is not None and ended:  # the alert ends everywhere: its places here are lifted
        gone = touched(sub, places) or touched(sub, lifted)
    elif sub is not None:
        here = touched(sub, places)
        gone = () if here else touched(sub, lifted)
    level = (None if gone else
             place_level(here) if here and places.own else body.get("level"))
    # only places under alert (Area.status; bodies from before it have none: active)
    names = ([p.name for p in here or gone if p.name] if here or gone else
             [a.get("name") for a in body.get("areas") or ()
              if a.get("name") and a.get("status", "active") == "active"])
    place = "、".join(dict.fromkeys(names))
    title = body.get("title") or ""
    if ended or gone:
        title = f"{phrases.gettext(lang, phrases.LIFTED)}: {title}"
    # no 警戒レベル there: the class of the JMA warning in force (特別警報: 暴風特別警報)
    label = (phrases.level_label(level, body.get("kind"), body.get("hazard_tags") or (), lang)
             or phrases.grade_label(level, place_grade(here) if here else None, lang))
    return {
        "title": _clip(title),
        "body": _clip(body.get("headline") or body.get("text") or title),
        "level": level,
        "level_label": _clip(label) or None,
        "instruction": _clip(body.get("instruction")) or None,
        "place": _clip(place),
        "link": link_template.format(base_url=base_url.rstrip("/"), id=body.get("id", "")),
        "id": body.get("id"),
        "tag": _clip(body.get("event_id") or body.get("id")),
        "change": ch.get("kind"),
        "drill": bool(ch.get("drill")),
        "drill_label": phrases.gettext(lang, phrases.UI["drill"]) if ch.get("drill") else None,
    }


class WebPushOutput(BaseOutput):
    name = CHANNEL

    def __init__(self) -> None:
        super().__init__()
        self.api = sroutes.SubscriptionApi(self)
        self.dispatcher: Dispatcher | None = None
        self.vapid: Vapid | None = None
        self.public_key = ""
        self._session: aiohttp.ClientSession | None = None
        self._lock = threading.Lock()  # the caches are filled from sending threads
        self._changes: dict[int, tuple[dict[str, Any], Places, Places]] = {}
        self._payloads: dict[tuple[int, str, str], str] = {}

    async def start(self, ctx: OutputContext) -> None:
        await super().start(ctx)
        cfg = ctx.config
        self.subs = ctx.storage().subscriptions()
        self.box = ctx.storage().push()
        self.vapid = load_or_create_vapid(ctx.home)
        self.public_key = application_server_key(self.vapid)
        self.subject = str(cfg.get("subject", "mailto:lalert@localhost"))
        self.link = str(cfg.get("link", "{base_url}/map?alert={id}"))
        self.ttl = int(cfg.get("ttl_s", 6 * 3600))
        self._session, self.dispatcher = session_and_dispatcher(
            cfg, self.box, CHANNEL, self._send, self._endpoint,
            allow=allowed_networks(ctx.settings),
            workers=32, per_endpoint=2, max_attempts=6, base_delay=5.0,
        )
        sroutes.register(ctx.home, CHANNEL, self)
        await self.dispatcher.start()
        prepare = getattr(self.subs, "prepare", None)
        if prepare is not None:  # warm: the first alert waits less
            await asyncio.to_thread(prepare, CHANNEL)

    async def handle(self, change: AlertChange) -> None:
        if change.drill and not (self.ctx and self.ctx.config.get("drills")):
            return  # residents' phones never buzz for a drill unless the desk says so
        await fan_out_subscribed(self, CHANNEL, change)

    def alarms(self) -> list[str]:
        """Read by ``/healthz`` and ``/metrics``."""
        subs = getattr(self, "subs", None)
        return push_alarms(subs, CHANNEL, self.dispatcher) if subs is not None else []

    def routes(self) -> list[web.AbstractRouteDef]:
        own = [
            web.get("/api/v1/webpush/vapid-public-key", self.vapid_key),
            web.get("/sw-push.js", self.service_worker),
            web.get("/static/webpush/{name}", self.static),
        ]
        if not any(m is not self for m in sroutes.MOUNTERS):
            own += self.api.routes()
        return own

    async def stop(self) -> None:
        if self.ctx is not None:
            sroutes.unregister(self.ctx.home, CHANNEL, self)
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        if self._session is not None:
            await self._session.close()

    # --- routes ------------------------------------------------------------------

    async def vapid_key(self, request: web.Request) -> web.Response:
        if not self.public_key:
            raise web.HTTPServiceUnavailable(text="web push not started")
        return web.json_response(
            {"publicKey": self.public_key}, headers={"Cache-Control": "public, max-age=300"}
        )

    async def service_worker(self, request: web.Request) -> web.Response:
        return web.Response(
            body=(STATIC / "sw-push.js").read_bytes(),
            content_type="application/javascript",
            headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"},
        )

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in {"lalert-push.js"}:
            raise web.HTTPNotFound()
        return web.Response(
            body=(STATIC / name).read_bytes(),
            content_type="application/javascript",
            headers={"Cache-Control": "public, max-age=300"},
        )

    # --- sending -----------------------------------------------------------------

    def _endpoint(self, job: Job) -> str:
        sub = self.subs.get(job.sub_id)
        return sub.target.get("endpoint", "") if sub else ""

    def _change(self, seq: int) -> tuple[dict[str, Any], Places, Places] | None:
        """A change's body and its alert's places, read and parsed once per seq."""
        with self._lock:
            got = self._changes.get(seq)
        if got is None:
            raw = self.box.change_json(seq)
            if raw is None:
                return None
            body = json.loads(raw)
            ea = enriched_from_dict(body)
            got = (body, places_of(ea), lifted_places(ea))
            with self._lock:
                if len(self._changes) > 16:
                    self._changes.pop(next(iter(self._changes)))
                self._changes[seq] = got
        return got

    def _payload(self, seq: int, sub: Subscription) -> str | None:
        """The notification for one subscriber, once per (seq, place, language): the
        neighbours of one place share it. Run in a thread (shapes are tested here)."""
        key = (seq, json.dumps(sub.where(), sort_keys=True), subscriber_lang(sub))
        with self._lock:
            cached = self._payloads.get(key)
        if cached is None:
            change = self._change(seq)
            if change is None:
                return None
            assert self.ctx is not None
            body, places, lifted = change
            cached = json.dumps(payload(body, self.link, self.ctx.base_url, sub=sub,
                                        places=places, lifted=lifted), ensure_ascii=False)
            with self._lock:
                if len(self._payloads) > 4096:
                    self._payloads.pop(next(iter(self._payloads)))
                self._payloads[key] = cached
        return cached

    async def _send(self, job: Job) -> Outcome:
        sub = self.subs.get(job.sub_id)
        if sub is None:  # deleted: it never comes back, so no retry (``job_inputs``)
            return Outcome(False, error="subscription deleted", final=True)
        data = await asyncio.to_thread(self._payload, job.seq, sub)
        if data is None:
            return Outcome(False, error=f"change {job.seq} missing from the outbox", final=True)
        short = json.loads(data)
        urgent = (short.get("level") or 0) >= 4
        topic = base64.urlsafe_b64encode(
            hashlib.blake2b(str(short.get("tag")).encode(), digest_size=16).digest()
        ).rstrip(b"=")
        try:
            resp = await webpush_async(
                subscription_info=sub.target,
                data=data,
                vapid_private_key=self.vapid,
                vapid_claims={"sub": self.subject},
                ttl=self.ttl,
                headers={"Urgency": "high" if urgent else "normal", "Topic": topic.decode()},
                aiohttp_session=self._session,
                timeout=self._session.timeout if self._session else None,
            )
        except WebPushException as exc:
            status = getattr(exc.response, "status", None)
            if status in (404, 410):
                self.subs.delete(sub.id)  # the browser unsubscribed: stop trying
                return Outcome(False, status=status, error="subscription gone", final=True)
            final = status in (400, 403, 413)
            return Outcome(False, status=status, error=str(exc)[:300], final=final)
        return Outcome(True, status=getattr(resp, "status", None))

