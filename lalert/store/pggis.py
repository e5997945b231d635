"""The GIS side of the PostGIS store: what a prefecture's GIS team opens as it is.

Written here, read by QGIS / GDAL / GeoServer / Martin (schema: ``migrations/postgresql/
002_spatial.sql``):

- ``write_versions`` — every alert version the applier commits goes into ``alerts``
  (one row, in the state transaction), its shapes into ``area_shapes`` once per shape
  (a gazetteer polygon named by 10,000 versions is stored once), so a burst of JMA
  telegrams with dozens of areas each costs one row per version, not one per area;
- ``sync_geodata`` — the imported gazetteer, facilities and hotspots, copied at start
  (the gazetteer only when it changed: it is the large one);
- ``alerts_at`` / ``alerts_in_bbox`` — the API's point and bbox filters answered by
  GiST indexes, for any worker process.

The model column is JSONB of the parsed alert in its public JSON form
(``lalert.codec.alert_json`` = ``Alert.to_dict``, with its ``"schema"`` id), not the
codec's packed bytes: a GIS team can query ``model->'hazards'`` in SQL, the
``facility_state`` view reads shelter reports out of it, the schema id says how to read
it, and the journal's raw bytes stay the record (``lalert replay`` rebuilds these tables).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from lalert.codec import alert_json
from lalert.model import ACTIVE, EnrichedAlert

_ALERT_COLUMNS = (
    "id, message_id, event_key, format, info_type, kind, title, level, severity, status, drill,"
    " issued_at, valid_until, publisher, headline, hazard_tags, area_schemes, area_codes,"
    " area_names, area_statuses, area_shapes, active_shapes, bbox, model")

_INSERT_ALERT = (
    f"INSERT INTO alerts ({_ALERT_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,"
    "%s,%s,%s,%s,%s,%s,%s,%s,"
    " CASE WHEN %s::float8 IS NULL THEN NULL"
    " ELSE ST_MakeEnvelope(%s::float8, %s::float8, %s::float8, %s::float8, 4326) END,"
    " %s::jsonb) ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c.strip()}=excluded.{c.strip()}" for c in _ALERT_COLUMNS.split(",")[1:]))

_INSERT_SHAPE = (
    "INSERT INTO area_shapes (key, scheme, code, name, own, geom) VALUES (%s,%s,%s,%s,%s,"
    " ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(%s::text),"
    " 4326)), 3))) ON CONFLICT (key) DO UPDATE SET name=excluded.name, geom=excluded.geom")


def _time(value: str | None) -> datetime | None:
    """A stated time for a TIMESTAMPTZ column; an unreadable one is left out (NULL)
    rather than failing the state transaction."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


class ShapeCache:
    """Which gazetteer shapes this process already wrote (each is written once per
    process start, so a re-imported gazetteer replaces the old polygon on restart)."""

    def __init__(self) -> None:
        self.written: set[str] = set()


def _rows(enriched: EnrichedAlert, drill: bool, message_id: int | None, key: str,
          cache: ShapeCache, shapes: dict[str, tuple[Any, ...]]) -> tuple[Any, ...]:
    a = enriched.alert
    areas = enriched.areas if len(enriched.areas) == len(a.areas) else a.areas
    keys: list[str | None] = []
    active: list[str] = []
    for i, (orig, area) in enumerate(zip(a.areas, areas, strict=True)):
        k: str | None = None
        if orig.geometry is not None:  # the message's own shape: its own row
            k = f"own|{a.id}|{i}"
            shapes[k] = (k, area.scheme, area.code, area.name, True, json.dumps(orig.geometry))
        elif area.geometry is not None and area.code:
            k = f"{area.scheme}|{area.code}"
            if k not in cache.written and k not in shapes:
                shapes[k] = (k, area.scheme, area.code, area.name, False,
                             json.dumps(area.geometry))
        keys.append(k)
        if k and area.status == ACTIVE and a.info_type != "cancel":
            active.append(k)
    bb = enriched.bbox
    box = tuple(bb) if bb and len(bb) == 4 else (None, None, None, None)
    return (a.id, message_id, key, a.format, a.info_type, a.kind, a.title, a.level, a.severity,
            a.status, drill, _time(a.issued_at), _time(a.valid_until), a.publisher, a.headline,
            list(enriched.hazard_tags), [x.scheme for x in areas], [x.code for x in areas],
            [x.name for x in areas], [x.status for x in areas], keys, active,
            box[0], *box, alert_json(a).decode())


def write_versions(cur: Any, versions: Sequence[tuple[Any, ...]],
                   message_id: int | None, cache: ShapeCache) -> list[str]:
    """Record alert versions (event key, enriched alert, drill[, message id]) and their
    new shapes, in the caller's transaction (the state commit that puts them in force).
    A version's own message id wins over ``message_id``: the applier commits a batch of
    messages in one transaction. Returns the gazetteer shape keys written, for
    ``cache.written`` once that transaction commits."""
    shapes: dict[str, tuple[Any, ...]] = {}
    rows = {}
    for key, enriched, drill, *own in versions:
        mid = own[0] if own else message_id
        rows[enriched.alert.id] = _rows(enriched, drill, mid, key, cache, shapes)
    if shapes:
        cur.executemany(_INSERT_SHAPE, list(shapes.values()))
    cur.executemany(_INSERT_ALERT, list(rows.values()))
    return [k for k in shapes if not k.startswith("own|")]


# --- the imported geodata ---------------------------------------------------------------


def _fingerprint(frame: Any) -> str:
    import shapely

    h = hashlib.sha256()
    h.update(str(len(frame)).encode())
    for col in ("scheme", "code"):
        h.update("\x1f".join(map(str, frame[col])).encode())
    if len(frame):
        # bounds and vertex count stand for the shapes: hashing every WKB costs seconds
        h.update(str(frame.geometry.total_bounds.tolist()).encode())
        h.update(str(sum(shapely.get_num_coordinates(frame.geometry.values).tolist())).encode())
    return h.hexdigest()


def _hexwkb(geoms: Any) -> list[str | None]:
    import shapely

    return list(shapely.to_wkb(geoms, hex=True))


def sync_geodata(conn: Any, geo: Any) -> dict[str, int]:
    """Copy the loaded gazetteer (when changed), facilities and hotspots into their
    tables, each replaced in one transaction. Returns row counts."""
    counts = {"areas": -1}
    areas = geo.areas
    fp = _fingerprint(areas)
    old = conn.execute("SELECT v FROM meta WHERE k='areas_fingerprint'").fetchone()
    with conn.transaction(), conn.cursor() as cur:
        if not old or (old["v"] if isinstance(old, dict) else old[0]) != fp:
            cur.execute("CREATE TEMP TABLE _areas (scheme TEXT, code TEXT, name TEXT, parent TEXT,"
                        " parent_name TEXT, g geometry) ON COMMIT DROP")
            wkb = _hexwkb(areas.geometry.values)
            with cur.copy("COPY _areas FROM STDIN") as cp:
                for row, g in zip(areas[["scheme", "code", "name", "parent", "parent_name"]]
                                  .itertuples(index=False), wkb, strict=True):
                    if g is not None:
                        cp.write_row((*(_text(v) or "" for v in row), g))
            cur.execute("DELETE FROM areas")
            cur.execute("INSERT INTO areas (scheme, code, name, parent, parent_name, geom)"
                        " SELECT scheme, code, nullif(name, ''), nullif(parent, ''),"
                        " nullif(parent_name, ''),"
                        " ST_Multi(ST_CollectionExtract(ST_SetSRID(g, 4326), 3)) FROM _areas"
                        " WHERE ST_Dimension(g) = 2 ON CONFLICT DO NOTHING")
            counts["areas"] = cur.rowcount
            cur.execute("INSERT INTO meta (k, v) VALUES ('areas_fingerprint', %s)"
                        " ON CONFLICT (k) DO UPDATE SET v=excluded.v", (fp,))
        counts["facilities"] = _copy_points(cur, "facilities", (
            "id", "name", "kind", "roles", "hazards", "municipality_code", "address",
            "capacity"), _facility_rows(geo.shelters))
        counts["hotspots"] = _copy_points(cur, "hotspots", (
            "id", "name", "ssid", "provider", "address", "municipality_code", "shelter_id"),
            _hotspot_rows(geo.hotspots))
    return counts


def _text(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and v != v):
        return None
    s = str(v)
    return s or None


def _facility_rows(frame: Any) -> Iterable[tuple[Any, ...]]:
    cols = set(frame.columns)
    for r in frame.itertuples(index=False):
        if r.lat is None or r.lon is None or r.lat != r.lat or r.lon != r.lon:  # NaN
            continue
        cap = getattr(r, "capacity", None)
        roles = getattr(r, "roles", ()) if "roles" in cols else ()
        if isinstance(roles, str):
            roles = [x for x in roles.split(",") if x]
        yield (str(r.id), str(r.name), _text(getattr(r, "kind", None)), list(roles or ()),
               list(r.hazards or ()), _text(getattr(r, "municipality_code", None)),
               _text(getattr(r, "address", None)),
               float(cap) if cap is not None and cap == cap else None, float(r.lon), float(r.lat))


def _hotspot_rows(frame: Any) -> Iterable[tuple[Any, ...]]:
    for r in frame.itertuples(index=False):
        if r.lat is None or r.lon is None or r.lat != r.lat or r.lon != r.lon:
            continue
        yield (str(r.id), str(r.name), _text(r.ssid), _text(r.provider), _text(r.address),
               _text(r.municipality_code), _text(r.shelter_id), float(r.lon), float(r.lat))


def _copy_points(cur: Any, table: str, cols: tuple[str, ...],
                 rows: Iterable[tuple[Any, ...]]) -> int:
    cur.execute(f"DELETE FROM {table}")
    n = 0
    with cur.copy(f"COPY {table} ({', '.join(cols)}, geom) FROM STDIN") as cp:
        for *vals, lon, lat in rows:
            cp.write_row((*vals, f"SRID=4326;POINT({lon} {lat})"))
            n += 1
    return n


# --- spatial queries on the alerts in force -----------------------------------------------

_IN_FORCE = ("SELECT a.id FROM active v JOIN alerts a ON a.id = v.alert_id"
             " WHERE v.drill = ANY(%(drills)s) AND a.active_shapes && ARRAY("
             "SELECT key FROM area_shapes WHERE ST_Intersects(geom, {geom}))"
             " ORDER BY a.id")

_AMONG = ("SELECT a.id FROM alerts a WHERE a.id = ANY(%(ids)s) AND a.active_shapes && ARRAY("
          "SELECT key FROM area_shapes WHERE ST_Intersects(geom, {geom}))")

_POINT = "ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)"
_BOX = "ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326)"


def alerts_at(conn: Any, lat: float, lon: float, *, drills: bool = False) -> list[str]:
    """Ids of the alerts in force whose active areas cover the point (GiST on the shapes)."""
    return [r["id"] for r in conn.execute(
        _IN_FORCE.format(geom=_POINT),
        {"lon": lon, "lat": lat, "drills": [False, True] if drills else [False]})]


def alerts_in_bbox(conn: Any, west: float, south: float, east: float, north: float, *,
                   drills: bool = False) -> list[str]:
    """Ids of the alerts in force whose active areas touch the box."""
    return [r["id"] for r in conn.execute(
        _IN_FORCE.format(geom=_BOX), {"w": west, "s": south, "e": east, "n": north,
                                      "drills": [False, True] if drills else [False]})]


class PlaceQueries:
    """The read API's point and bbox filters, answered by PostGIS for one process.

    ``among`` takes the alert ids the caller's view holds (one version of the active set)
    and returns those whose active areas touch the place: the ``alerts`` table keeps every
    version by id, so the answer is for exactly the versions the caller lists, even in a
    worker whose view follows the stream a moment behind the database. The connection is
    opened on first use (most processes never filter by place) and reopened after an
    error (a restarted server)."""

    name = "postgis"

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: Any = None

    def among(self, ids: Sequence[str], *, point: tuple[float, float] | None = None,
              box: tuple[float, float, float, float] | None = None) -> set[str]:
        """Ids among ``ids`` whose active areas cover ``point`` (lat, lon) and touch
        ``box`` (west, south, east, north); each given test must hold."""
        import psycopg

        from lalert.store.postgis import connect

        if not ids:
            return set()
        found = set(ids)
        tests: list[tuple[str, dict[str, Any]]] = []
        if point is not None:
            tests.append((_POINT, {"lat": point[0], "lon": point[1]}))
        if box is not None:
            tests.append((_BOX, dict(zip("wsen", box, strict=True))))
        for geom, args in tests:
            if self._conn is None or self._conn.closed:
                self._conn = connect(self.url)
            try:
                rows = self._conn.execute(_AMONG.format(geom=geom), {**args, "ids": sorted(found)})
                found = {r["id"] for r in rows}
            except psycopg.OperationalError:
                self._conn.close()
                raise
        return found

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
