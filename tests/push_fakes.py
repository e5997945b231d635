"""Hand-made alerts, a fake StateView and real loopback receivers for the push tests.

The shapes are invented boxes around Kumamoto places, not official boundaries.
"""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook

from lalert.changes import AlertChange
from lalert.model import Alert, Area, EnrichedAlert
from lalert.outputs.base import OutputContext
from lalert.store.backends import Backends
from tests.public_fakes import FakeState


def box(w: float, s: float, e: float, n: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


CHUO = box(130.69, 32.78, 130.75, 32.82)  # around 熊本市中央区
ASO = box(131.0, 32.85, 131.15, 33.0)  # around 阿蘇市
IN_CHUO = (32.80, 130.72)  # lat, lon
IN_ASO = (32.95, 131.10)


def flood(*, id: str = "jma-flood-1", serial: int = 1, footprint: dict = CHUO, **kw) -> EnrichedAlert:
    area = Area(code="4310100", scheme="jma.city", name="熊本市中央区", geometry=footprint)
    alert = Alert(
        format="jmaxml", id=id, event_id="ev-flood", serial=serial, info_type="issue",
        status="actual", kind="evacuation", title="避難指示", headline="熊本市中央区に避難指示",
        issued_at="2026-07-01T10:00:00+09:00", raw_sha256="0" * 64, level=4,
        severity="Severe", publisher="熊本市", areas=(area,),
    )  # fmt: skip
    alert = replace(alert, **kw) if kw else alert
    return EnrichedAlert(alert=alert, areas=(area,), footprint=footprint, hazard_tags=("flood",))


def change(seq: int, alert: EnrichedAlert, kind: str = "new", reason: str = "issue") -> AlertChange:
    return AlertChange(
        seq=seq, kind=kind, reason=reason, alert=alert, drill=not alert.alert.is_real,
        at="2026-07-01T01:00:00+00:00",
    )  # fmt: skip


LOOPBACK = ["127.0.0.0/8", "::1/128"]
"""The test receivers listen on loopback: push may reach it only when a deployment says so
(``[push] allow_destinations``, ``lalert.outputs.netguard``)."""


def ctx(home: Path, name: str, **config: Any) -> OutputContext:
    return OutputContext(name=name, config=config, home=home, state=FakeState(),
                         settings={"push": {"allow_destinations": LOOPBACK}},
                         stores=Backends("sqlite", home))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopbackApp:
    """An aiohttp app on a free loopback port for ``async with``; ``route`` says what it
    serves (pattern → POST handler)."""

    route = "/{tail:.*}"
    port = 0

    async def handler(self, request: web.Request) -> web.Response:
        raise NotImplementedError

    async def __aenter__(self) -> Any:
        app = web.Application()
        app.router.add_post(self.route, self.handler)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        self.port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()


class WebhookReceiver(LoopbackApp):
    """Verifies Standard Webhooks signatures per path, counts ids, can fail on purpose."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}  # path → secret
        self.ids: Counter[str] = Counter()
        self.bodies: dict[str, list[dict]] = {}  # path → bodies
        self.bad_signatures = 0
        self.fail_first: dict[str, int] = {}  # webhook-id → failures left
        self.always_fail = False
        self.got = asyncio.Event()
        self.port = 0

    async def handler(self, request: web.Request) -> web.Response:
        data = await request.read()
        secret = self.secrets.get(request.path)
        try:
            body = Webhook(secret).verify(data, dict(request.headers)) if secret else None
        except Exception:
            body = None
        if body is None:
            self.bad_signatures += 1
            return web.Response(status=400)
        wid = request.headers["webhook-id"]
        if self.always_fail:
            return web.Response(status=503)
        left = self.fail_first.get(wid, 0)
        if left:
            self.fail_first[wid] = left - 1
            return web.Response(status=500)
        self.ids[wid] += 1
        self.bodies.setdefault(request.path, []).append(body)
        self.got.set()
        return web.Response(status=204)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"
