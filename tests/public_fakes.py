"""Hand-made alerts and a fake StateView for the map, tiles and feeds tests.

The places are real Kumamoto ward / town codes; the alerts, shapes and shelters are
invented for testing (rough boxes, not official boundaries).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from lalert.model import Alert, Area, EnrichedAlert, NearbyHotspot, NearbyShelter
from lalert.outputs.base import OutputContext


def box(w: float, s: float, e: float, n: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


CHUO = box(130.69, 32.78, 130.75, 32.82)  # around 熊本市中央区
KIKUCHI = box(130.75, 32.95, 130.85, 33.02)  # around 菊池市

SHELTER_OPEN = NearbyShelter(
    id="s-open", name="中央小学校", lat=32.80, lon=130.72, hazards=("flood", "earthquake"),
    fits_hazard=True, distance_m=0.0, inside=True, state="open", capacity=300)
SHELTER_CLOSED = NearbyShelter(
    id="s-closed", name="白川公園", lat=32.795, lon=130.71, hazards=("earthquake",),
    fits_hazard=False, distance_m=900.0, inside=True, state="unopened")
HOTSPOT = NearbyHotspot(id="h1", name="中央区役所 Wi-Fi", lat=32.803, lon=130.712,
                        ssid="00000JAPAN")


def flood_alert(**kw) -> EnrichedAlert:
    area = Area(code="4310100", scheme="jma.city", name="熊本市中央区", geometry=CHUO)
    alert = Alert(
        format="jmaxml", id="jma-flood-1", event_id="ev-flood", serial=1, info_type="issue",
        status="actual", kind="evacuation", title="避難指示", headline="熊本市中央区に避難指示",
        text="白川の水位が上昇しています。", issued_at="2026-07-01T10:00:00+09:00",
        raw_sha256="0" * 64, level=4, severity="Severe", publisher="熊本市", areas=(area,),
        valid_until="2026-07-02T10:00:00+09:00",
    )
    ea = EnrichedAlert(alert=alert, areas=(area,), footprint=CHUO,
                       bbox=(130.69, 32.78, 130.75, 32.82), hazard_tags=("flood",),
                       shelters=(SHELTER_OPEN, SHELTER_CLOSED), hotspots=(HOTSPOT,))
    return with_alert(ea, **kw) if kw else ea


def drill_alert() -> EnrichedAlert:
    area = Area(code="432105", scheme="lg_code", name="菊池市", geometry=KIKUCHI)
    alert = Alert(
        format="cap", id="drill-1", info_type="issue", status="exercise", kind="landslide",
        title="土砂災害警戒情報（訓練）", issued_at="2026-07-01T11:00:00+09:00",
        raw_sha256="1" * 64, level=4, areas=(area,))
    return EnrichedAlert(alert=alert, areas=(area,), footprint=KIKUCHI,
                         bbox=(130.75, 32.95, 130.85, 33.02), hazard_tags=("landslide",))


def with_alert(ea: EnrichedAlert, **kw) -> EnrichedAlert:
    return replace(ea, alert=replace(ea.alert, **kw))


@dataclass
class FakeState:
    """Implements lalert.outputs.base.StateView over a list."""

    alerts: list[EnrichedAlert] = field(default_factory=list)
    version: int = 1

    def active(self, *, drills: bool = False) -> list[EnrichedAlert]:
        return [a for a in self.alerts if drills or a.alert.is_real]

    def get(self, alert_id: str) -> EnrichedAlert | None:
        return next((a for a in self.alerts if a.id == alert_id), None)

    def seq_of(self, alert_id: str) -> int | None:
        return None  # no changes behind a fake state

    def set(self, alerts: list[EnrichedAlert]) -> None:
        self.alerts = list(alerts)
        self.version += 1


def context(name: str, state: FakeState, geo=None, home: Path | None = None,
            config: dict | None = None) -> OutputContext:
    return OutputContext(name=name, config=config or {}, home=home or Path("."), state=state,
                         geo=geo, base_url="http://127.0.0.1:8080")


async def client_for(*route_lists) -> TestClient:
    """A started aiohttp test client (loopback) over the given route definitions."""
    app = web.Application()
    for routes in route_lists:
        app.add_routes(routes)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


def fake_geo(corpus: Path) -> SimpleNamespace:
    """A GeoData look-alike: real N03 Kumamoto boundaries, hand-made shelters / hotspots."""
    import geopandas as gpd
    from shapely.geometry import Point

    n03 = gpd.read_file(corpus / "geo" / "municipalities" / "N03-21_43_210101.geojson")
    names = (n03["N03_003"].fillna("") + n03["N03_004"].fillna("")).tolist()
    areas = gpd.GeoDataFrame({"scheme": "n03", "code": n03["N03_007"], "name": names},
                             geometry=n03.geometry.values, crs="EPSG:4326")
    shelters = gpd.GeoDataFrame(
        {
            "id": [SHELTER_OPEN.id, SHELTER_CLOSED.id, "s-far"],
            "name": [SHELTER_OPEN.name, SHELTER_CLOSED.name, "菊池高校"],
            "kind": ["指定避難所", "指定緊急避難場所", "指定避難所"],
            "hazards": [("flood", "earthquake"), ("earthquake",), ("flood", "landslide")],
            "municipality_code": ["431001", "431001", "432105"],
            "address": ["熊本市中央区1-1", None, "菊池市1"],
            "capacity": [300, None, 200],
            "lat": [32.80, 32.795, 32.98], "lon": [130.72, 130.71, 130.80],
        },
        geometry=[Point(130.72, 32.80), Point(130.71, 32.795), Point(130.80, 32.98)],
        crs="EPSG:4326",
    )
    hotspots = gpd.GeoDataFrame(
        {"id": [HOTSPOT.id], "name": [HOTSPOT.name], "ssid": [HOTSPOT.ssid]},
        geometry=[Point(HOTSPOT.lon, HOTSPOT.lat)], crs="EPSG:4326")
    return SimpleNamespace(areas=areas, shelters=shelters, hotspots=hotspots)


def demo_alerts() -> list[EnrichedAlert]:
    """Alerts over the demo gazetteer: a flood 避難指示 for 中央区 with shelter states
    (DEMO-431001-02 open, DEMO-431001-12 closed), plus a drill that must stay hidden."""
    flood = flood_alert()
    states = (replace(SHELTER_OPEN, id="DEMO-431001-02", name="デモ中央小学校", lat=32.79,
                      lon=130.73),
              replace(SHELTER_CLOSED, id="DEMO-431001-12", name="デモ武蔵ヶ丘広場",
                      state="closed", lat=32.845, lon=130.715))
    return [replace(flood, shelters=states), drill_alert()]
