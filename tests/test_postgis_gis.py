"""PostGIS as a GIS store, through real ``lalert run`` daemons on the corpus geodata
(``lalert data import``) and the corpus messages: one on SQLite + the in-memory bus, one
on PostGIS + Redis, fed the same bytes.

- ``geometry_columns`` lists the alert, area and facility tables and views;
- ``ogrinfo`` (GDAL, what QGIS reads PostGIS with) opens ``alerts_in_force`` as a
  MultiPolygon layer with one feature per real alert in force;
- point and bbox queries answered by PostGIS (``lalert.store.pggis``) agree with the
  SQLite daemon's API on the same data; drills stay in the ``drill_`` views.
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import sys
from urllib.parse import urlparse

import mapbox_vector_tile
import mercantile
import psycopg
import pytest
from psycopg.rows import dict_row
from shapely.geometry import shape

from lalert.store import pggis, pgtiles
from tests.backends import pg_server, redis_server  # noqa: F401 (fixtures)
from tests.conftest import CORPUS, ROOT
from tests.daemon_helpers import Daemon, start_daemon

pytestmark = pytest.mark.skipif(not (CORPUS / "geo").is_dir(), reason="corpus geodata not present")


@pytest.fixture(scope="module")
def geo_gpkg(tmp_path_factory):
    path = tmp_path_factory.mktemp("geo") / "geo.gpkg"
    subprocess.run([sys.executable, "-m", "lalert", "data", "import", str(CORPUS / "geo"),
                    "--db", str(path), "--quiet"], check=True, cwd=ROOT,
                   env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, capture_output=True)
    return path


def _feed(d: Daemon, msgs: list[bytes]) -> None:
    for m in msgs:
        status, body = d.post(m)
        assert status == 202, body
    d.wait_applied()


@pytest.fixture(scope="module")
def pair(geo_gpkg, pg_server, redis_server, tmp_path_factory):  # noqa: F811
    sys.path.insert(0, str(ROOT))
    from bench.ingest import corpus_messages

    msgs = corpus_messages()
    assert len(msgs) > 100
    homes = []
    for name in ("sqlite", "pg"):
        home = tmp_path_factory.mktemp(name) / "home"
        home.mkdir()
        shutil.copy(geo_gpkg, home / "geo.gpkg")
        homes.append(home)
    store = pg_server.new_database()
    env = {"LALERT_STORE": store,
           "LALERT_BUS": redis_server.url(stream=f"g-{secrets.token_hex(4)}")}
    lite = start_daemon(homes[0], outputs=["tiles"])
    pg = start_daemon(homes[1], env=env, outputs=["tiles"])
    try:
        _feed(lite, msgs)
        _feed(pg, msgs)
        yield lite, pg, store
    finally:
        lite.stop()
        pg.stop()


def _ids(d: Daemon, query: str = "") -> list[str]:
    return sorted(f["id"] for f in d.get_json(f"/api/v1/alerts{query}")[1]["features"])


def _db(store: str) -> psycopg.Connection:
    return psycopg.connect(store, row_factory=dict_row)


def test_both_daemons_hold_the_same_alerts_in_force(pair):
    lite, pg, store = pair
    real = _ids(lite)
    assert len(real) > 20
    assert _ids(pg) == real
    with _db(store) as c:
        assert sorted(r["id"] for r in c.execute("SELECT id FROM alerts_in_force")) == real
        drills = sorted(r["id"] for r in c.execute("SELECT id FROM drill_alerts_in_force"))
        n_versions = c.execute("SELECT count(*) AS n FROM alerts").fetchone()["n"]
    assert sorted(set(_ids(lite, "?drills=true")) - set(real)) == drills
    assert n_versions >= len(real) + len(drills)


def test_geometry_columns_lists_alert_area_and_facility_tables(pair):
    _, _, store = pair
    with _db(store) as c:
        cols = {(r["f_table_name"], r["type"], r["srid"]) for r in c.execute(
            "SELECT f_table_name, type, srid FROM geometry_columns")}
        facilities = c.execute("SELECT count(*) AS n FROM facilities").fetchone()["n"]
        areas = c.execute("SELECT count(*) AS n FROM areas").fetchone()["n"]
    for table, kind in (("alerts", "POLYGON"), ("area_shapes", "MULTIPOLYGON"),
                        ("alert_areas", "MULTIPOLYGON"), ("alerts_in_force", "MULTIPOLYGON"),
                        ("alerts_in_force_areas", "MULTIPOLYGON"),
                        ("drill_alerts_in_force", "MULTIPOLYGON"), ("areas", "MULTIPOLYGON"),
                        ("facilities", "POINT"), ("facility_state", "POINT"),
                        ("hotspots", "POINT")):
        assert (table, kind, 4326) in cols, (table, sorted(cols))
    assert facilities > 1000 and areas > 100


def test_every_gis_table_and_column_is_described(pair):
    _, _, store = pair
    with _db(store) as c:
        missing = c.execute(
            "SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid"
            " WHERE c.relname = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped"
            " AND col_description(c.oid, a.attnum) IS NULL",
            (["alerts", "area_shapes", "alert_areas", "alerts_in_force", "alerts_in_force_areas",
              "drill_alerts_in_force", "drill_alerts_in_force_areas", "areas", "facilities",
              "facility_state", "hotspots"],)).fetchall()
    assert missing == []


def test_ogrinfo_opens_alerts_in_force_with_geometry(pair):
    lite, _, store = pair
    if shutil.which("ogrinfo") is None:
        pytest.skip("ogrinfo missing (Debian gdal-bin; scripts/test-services.sh)")
    u = urlparse(store)
    conn = f"PG:host={u.hostname} port={u.port} dbname={u.path.lstrip('/')} user={u.username}"
    out = subprocess.run(["ogrinfo", "-ro", "-so", conn, "alerts_in_force"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Geometry: Multi Polygon" in out.stdout, out.stdout
    count = int(re.search(r"Feature Count: (\d+)", out.stdout).group(1))
    assert count == len(_ids(lite))
    # and each feature has a footprint where the API draws one
    feats = subprocess.run(["ogrinfo", "-ro", "-q", conn, "alerts_in_force", "-fid", "1"],
                           capture_output=True, text=True, timeout=120)
    assert feats.returncode == 0, feats.stderr
    drawn = sorted(f["id"] for f in lite.get_json("/api/v1/alerts")[1]["features"]
                   if f["geometry"])
    with _db(store) as c:
        assert sorted(r["id"] for r in c.execute(
            "SELECT id FROM alerts_in_force WHERE footprint IS NOT NULL"
            " AND NOT ST_IsEmpty(footprint)")) == drawn


def test_point_and_bbox_queries_agree_with_the_sqlite_path(pair):
    lite, _, store = pair
    feats = [f for f in lite.get_json("/api/v1/alerts")[1]["features"] if f["geometry"]]
    points = [shape(f["geometry"]).representative_point() for f in feats][:40]
    assert len(points) >= 10
    with _db(store) as c:
        for p in points:
            api = _ids(lite, f"?point={p.y},{p.x}")
            assert pggis.alerts_at(c, p.y, p.x) == api, (p.y, p.x)
        for box in ((130.5, 32.6, 130.9, 32.9), (122.0, 20.0, 154.0, 46.0),
                    (139.6, 35.6, 139.8, 35.8), (0.0, 0.0, 1.0, 1.0)):
            api = _ids(lite, "?bbox=" + ",".join(map(str, box)))
            assert pggis.alerts_in_bbox(c, *box) == api, box
        api_drills = _ids(lite, f"?drills=true&point={points[0].y},{points[0].x}")
        assert pggis.alerts_at(c, points[0].y, points[0].x, drills=True) == api_drills


def _place_queries(store: str) -> list[str]:
    """The statements this database ran for the read API's place filters so far."""
    with _db(store) as c:
        return [r["query"] for r in c.execute(
            "SELECT query FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()") if "area_shapes" in (r["query"] or "")]


def test_the_api_answers_point_and_bbox_from_postgis_as_the_sqlite_path_does(pair):
    """The PostGIS daemon's own ``/api/v1/alerts?point=`` / ``?bbox=`` (answered in the
    database, not by its in-memory shapes) lists what the SQLite daemon lists."""
    lite, pg, store = pair
    feats = [f for f in lite.get_json("/api/v1/alerts")[1]["features"] if f["geometry"]]
    points = [shape(f["geometry"]).representative_point() for f in feats][:40]
    assert len(points) >= 10
    hits = 0
    for p in points:
        for q in (f"?point={p.y},{p.x}", f"?drills=true&point={p.y},{p.x}",
                  f"?point={p.y},{p.x}&min_level=3"):
            api = _ids(lite, q)
            assert _ids(pg, q) == api, q
            hits += len(api)
    assert hits >= len(points)  # each point lies in its own alert at least
    assert _place_queries(store), "the PostGIS daemon did not ask PostGIS"
    for box in ((130.5, 32.6, 130.9, 32.9), (122.0, 20.0, 154.0, 46.0),
                (139.6, 35.6, 139.8, 35.8), (0.0, 0.0, 1.0, 1.0)):
        q = "?bbox=" + ",".join(map(str, box))
        assert _ids(pg, q) == _ids(lite, q), box
        q2 = f"{q}&point={points[0].y},{points[0].x}"
        assert _ids(pg, q2) == _ids(lite, q2), q2


def test_in_force_areas_are_only_active_ones(pair):
    _, _, store = pair
    with _db(store) as c:
        statuses = {r["status"] for r in c.execute(
            "SELECT DISTINCT status FROM alerts_in_force_areas")}
        lifted = c.execute("SELECT count(*) AS n FROM alert_areas WHERE status <> 'active'"
                           ).fetchone()["n"]
        drill_rows = c.execute(
            "SELECT count(*) AS n FROM alerts_in_force_areas i JOIN alerts a ON a.id = i.alert_id"
            " WHERE a.drill").fetchone()["n"]
    assert statuses == {"active"}
    assert lifted > 0  # the corpus names lifted / なし / scope areas: they stay out
    assert drill_rows == 0


def _layers(body: bytes) -> dict[str, set]:
    keys = {"municipalities": ("code",), "alerts": ("id", "area"), "shelters": ("id", "state"),
            "hotspots": ("id",)}
    out: dict[str, set] = {}
    for name, layer in mapbox_vector_tile.decode(body).items():
        out[name] = {tuple(f["properties"].get(k) for k in keys[name]) for f in layer["features"]}
    return out


def test_postgis_tiles_carry_the_features_of_the_python_tiles(pair):
    """``ST_AsMVT`` tiles (any worker, from the database) against the in-process tiles of
    the SQLite daemon: the same layers with the same features (ids, areas, states)."""
    lite, pg_daemon, store = pair
    feats = [f for f in lite.get_json("/api/v1/alerts")[1]["features"] if f["geometry"]]
    tiles = set()
    for f in feats[:12]:
        p = shape(f["geometry"]).representative_point()
        for z in (6, 9, 12):
            tiles.add(mercantile.tile(p.x, p.y, z))
    compared = 0
    with _db(store) as c:
        for t in sorted(tiles):
            status, _, py = lite.request("GET", f"/tiles/{t.z}/{t.x}/{t.y}.mvt")
            assert status == 200
            pg = pgtiles.mvt(c, t.z, t.x, t.y)
            assert _layers(pg) == _layers(py), t
            served = pg_daemon.request("GET", f"/tiles/{t.z}/{t.x}/{t.y}.mvt")[2]
            assert served == pg, t  # the PostGIS daemon's tiles output cuts them so
            compared += bool(py)
    assert compared >= 10
