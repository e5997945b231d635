"""Hand-made alerts, shelters and a fake state for the signage tests (not real data)."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path
from typing import Any

from aiohttp import web

from lalert.model import Alert, Area, EnrichedAlert, Hazard, NearbyShelter, Shelter
from lalert.outputs.base import OutputContext
from lalert.outputs.signage import SignageOutput

# 熊本市役所 (approx.) and a box around central 熊本市 as a hand-made footprint
LAT, LON = 32.8032, 130.7080
BOX = {"type": "Polygon", "coordinates": [[[130.66, 32.76], [130.76, 32.76], [130.76, 32.84],
                                           [130.66, 32.84], [130.66, 32.76]]]}
FAR = {"type": "Polygon", "coordinates": [[[131.5, 33.5], [131.6, 33.5], [131.6, 33.6],
                                           [131.5, 33.6], [131.5, 33.5]]]}

SHELTERS = (
    NearbyShelter("S1", "熊本市立花畑小学校", 32.8005, 130.7050, ("flood", "earthquake"), True,
                  400.0, True, state="open"),
    NearbyShelter("S2", "熊本城ホール", 32.8040, 130.7030, ("flood", "landslide", "earthquake"),
                  True, 500.0, True, state="open"),
    NearbyShelter("S3", "白川公園", 32.7990, 130.7150, ("earthquake", "large_fire"), False,
                  800.0, True, state="open"),
    NearbyShelter("S4", "慶徳小学校", 32.8065, 130.7020, ("flood",), True, 700.0, True,
                  state="closed"),
)

SCREENS = [
    {"id": "station", "name": "熊本駅 東口", "lat": LAT, "lon": LON, "min_level": 3,
     "wifi_ssids": ["Kumamoto_Free_Wi-Fi"], "rotate_seconds": 15, "poll_seconds": 1,
     "stale_seconds": 3},
    {"id": "cityhall-portrait", "name": "熊本市役所 1階ロビー", "lat": LAT, "lon": LON,
     "orientation": "portrait", "min_level": 3, "drills": True, "poll_seconds": 1},
    {"id": "byarea", "name": "中央区役所", "areas": ["jma.city:4310100"], "min_level": 4,
     "rotate_seconds": 3},
]


def alert(
    aid: str = "a1",
    *,
    level: int | None = 4,
    kind: str = "evacuation",
    status: str = "actual",
    footprint: dict[str, Any] | None = BOX,
    title: str = "避難指示（熊本市中央区）",
    headline: str = "白川の水位が上昇しています。危険な場所にいる人は全員避難してください。",
    hazards: tuple[Hazard, ...] = (),
    areas: tuple[Area, ...] = (),
    hazard_tags: tuple[str, ...] = ("flood",),
    valid_until: str | None = None,
    issued_at: str = "2025-06-30T10:00:00+09:00",
    info_type: str = "issue",
    shelters: tuple[NearbyShelter, ...] = SHELTERS,
) -> EnrichedAlert:
    a = Alert(
        format="commons", id=aid, info_type=info_type, status=status, kind=kind, title=title,
        issued_at=issued_at, raw_sha256="0" * 64, headline=headline, level=level,
        publisher="熊本市", areas=areas, hazards=hazards, valid_until=valid_until,
    )
    return EnrichedAlert(alert=a, areas=areas, footprint=footprint, hazard_tags=hazard_tags,
                         shelters=shelters)


def shelters_opened(*codes: str) -> EnrichedAlert:
    """A 避難所情報 opening demo shelters by id (hand-made)."""
    a = Alert(format="commons", id="shelters-1", info_type="issue", status="actual",
              kind="shelter", title="避難所情報（熊本市）", issued_at="2025-06-30T09:30:00+09:00",
              raw_sha256="1" * 64, publisher="熊本市",
              shelters=tuple(Shelter(c, "open", code=c) for c in codes))
    return EnrichedAlert(alert=a)


class FakeState:
    """StateView stand-in: tests set ``alerts`` and the version grows."""

    def __init__(self) -> None:
        self.version = 1
        self._alerts: list[EnrichedAlert] = []

    def set(self, alerts: list[EnrichedAlert]) -> None:
        self._alerts = list(alerts)
        self.version += 1

    def active(self, *, drills: bool = False) -> list[EnrichedAlert]:
        return [a for a in self._alerts if drills or a.alert.status == "actual"]

    def get(self, alert_id: str) -> EnrichedAlert | None:
        return next((a for a in self._alerts if a.id == alert_id), None)


async def started_output(state: FakeState, home: Path, **config: Any) -> SignageOutput:
    out = SignageOutput()
    cfg = {"screens": SCREENS, **config}
    await out.start(OutputContext(name="signage", config=cfg, home=home, state=state,
                                  settings={}))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThreadServer:
    """The output's routes in a tiny aiohttp app on loopback, in its own thread, so that
    synchronous Playwright tests can drive a browser against it; stop/start keep the port."""

    def __init__(self, state: FakeState, home: Path, port: int | None = None) -> None:
        self.state = state
        self.home = home
        self.port = port or free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.output: SignageOutput = self._call(started_output(state, home))
        self.runner: web.AppRunner | None = None

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        async def go() -> web.AppRunner:
            app = web.Application()
            app.add_routes(self.output.routes())
            runner = web.AppRunner(app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True).start()
            return runner

        self.runner = self._call(go())

    def stop(self) -> None:
        if self.runner is not None:
            self._call(self.runner.cleanup())
            self.runner = None

    def close(self) -> None:
        self.stop()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
