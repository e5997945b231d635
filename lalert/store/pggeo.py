"""Geometry in PostGIS: subscriptions and shelters, matched in the database.

With the PostGIS store, subscriptions live in one table that every push worker shares:
points as ``geography`` (metres, geodesic), polygons as ``geometry`` (EPSG:4326), both
with GiST indexes, and area codes as a ``text[]`` with a GIN index. ``match`` finds the
candidates in one statement — ``ST_DWithin`` on the points (index pre-filter at the
largest radius, then each row's own radius), ``ST_Intersects`` on the polygons, array
overlap on the codes — and then applies the same pure filters (kinds, languages, drills,
and the level in force where each subscriber is) as the in-memory matcher, via
``lalert.subscriptions.index.judge`` over an index of just the candidates: a candidate's
level is the highest among the alert's places its own place touches, asked of that small
index by the same rule (``SubscriptionIndex.reached``), so both matchers answer alike. ``PgSubscriptionStore`` has the methods of the SQLite ``SubscriptionStore``.

Facilities are copied from the loaded geodata (``sync_geo``, with the gazetteer and
hotspots: ``lalert.store.pggis``) so that ``shelters_near(footprint, metres)`` is one
``ST_DWithin`` query on the ``facilities`` table's geography index.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from typing import Any

import numpy as np

from lalert.model import EnrichedAlert
from lalert.store.postgis import connect, ensure_schema
from lalert.subscriptions.index import (
    ANY_SCHEME,
    SubscriptionIndex,
    area_keys,
    footprint_of,
    judge,
)
from lalert.subscriptions.model import Subscription, from_record, to_record

log = logging.getLogger(__name__)

def ensure_geo_schema(url: str) -> None:
    """Subscriptions and GIS tables come with the store's migrations."""
    ensure_schema(url)


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _area_key(scheme: str, code: str) -> str:
    return f"{scheme}|{code}"


def _columns(s: Subscription) -> tuple[Any, ...]:
    point = (f"SRID=4326;POINT({s.lon} {s.lat})"
             if s.lat is not None and s.lon is not None else None)
    poly = json.dumps(s.polygon) if s.polygon is not None else None
    return (point, float(s.radius_m or 0.0), poly, [_area_key(sc, c) for sc, c in s.areas])


_INSERT = (
    "INSERT INTO subscriptions (id, channel, record, key_hash, owner, created_at, point, radius_m,"
    " polygon, areas) VALUES (%s,%s,%s,%s,%s,%s,%s::geography,%s,"
    " ST_SetSRID(ST_GeomFromGeoJSON(%s::text), 4326),%s)")

_MATCH = """
WITH fp AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON(%(fp)s::text), 4326) AS g),
  r AS (SELECT coalesce(max(radius_m), 0) AS maxr FROM subscriptions)
SELECT s.id, s.record FROM subscriptions s, fp, r
WHERE s.channel = ANY(%(channels)s) AND (
  (%(fp)s::text IS NOT NULL AND s.point IS NOT NULL
     AND ST_DWithin(s.point, fp.g::geography, r.maxr)
     AND ST_DWithin(s.point, fp.g::geography, s.radius_m))
  OR (%(fp)s::text IS NOT NULL AND s.polygon IS NOT NULL AND ST_Intersects(s.polygon, fp.g))
  OR s.areas && %(areas)s::text[])
"""


class PgSubscriptionStore:
    """Subscriptions in PostGIS; matched in the database (see the module docstring)."""

    def __init__(self, url: str) -> None:
        ensure_geo_schema(url)
        self.url = url
        self._db = connect(url)
        self._lock = threading.RLock()

    # --- writes ------------------------------------------------------------------

    def add(self, sub: Subscription, *, unsubscribe_key: str | None = None,
            owner: str = "") -> None:
        with self._lock:
            self._db.execute(_INSERT, (
                sub.id, sub.channel, json.dumps(to_record(sub), ensure_ascii=False),
                _hash_key(unsubscribe_key) if unsubscribe_key else None, owner, sub.created_at,
                *_columns(sub)))

    def add_many(self, subs: list[Subscription]) -> None:
        with self._lock, self._db.transaction(), self._db.cursor() as cur:
            cur.executemany(_INSERT, [
                (s.id, s.channel, json.dumps(to_record(s)), None, "", s.created_at,
                 *_columns(s)) for s in subs])

    def delete(self, sub_id: str) -> bool:
        with self._lock:
            cur = self._db.execute("DELETE FROM subscriptions WHERE id=%s", (sub_id,))
            return cur.rowcount > 0

    # --- reads -------------------------------------------------------------------

    def check_key(self, sub_id: str, key: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT key_hash FROM subscriptions WHERE id=%s",
                                   (sub_id,)).fetchone()
        return bool(row and row["key_hash"] and hmac.compare_digest(row["key_hash"],
                                                                    _hash_key(key)))

    def get(self, sub_id: str) -> Subscription | None:
        with self._lock:
            row = self._db.execute("SELECT record FROM subscriptions WHERE id=%s",
                                   (sub_id,)).fetchone()
        return from_record(json.loads(row["record"])) if row else None

    def owner(self, sub_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT owner FROM subscriptions WHERE id=%s",
                                   (sub_id,)).fetchone()
        return row["owner"] if row else None

    def has_any(self, channel: str) -> bool:
        """Whether ``channel`` has a subscription (readable or not): the push outputs ask
        once per change and skip the fan-out when not. Asked of the database every time
        (one indexed probe), since any worker may have added one a moment ago."""
        with self._lock:
            return self._db.execute(
                "SELECT EXISTS (SELECT 1 FROM subscriptions WHERE channel=%s) AS x",
                (channel,)).fetchone()["x"]

    def list(self, channel: str | None = None) -> list[Subscription]:
        sql, args = "SELECT record FROM subscriptions", []
        if channel is not None:
            sql += " WHERE channel=%s"
            args.append(channel)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY created_at, id", args).fetchall()
        return [from_record(json.loads(r["record"])) for r in rows]

    def index(self, channel: str | None = None) -> SubscriptionIndex:
        """An in-memory index of one channel (callers that match many footprints at once,
        e.g. SSE filters); push matching uses ``match`` and stays in the database."""
        return SubscriptionIndex.build(self.list(channel))

    def candidates(self, footprint_geojson: dict[str, Any] | str | None,
                   area_codes: set[tuple[str, str]], channels: list[str]) -> list[tuple[str, str]]:
        """(id, record) of subscriptions whose place touches the footprint or names a code."""
        fp = (footprint_geojson if isinstance(footprint_geojson, str) or footprint_geojson is None
              else json.dumps(footprint_geojson))
        areas = sorted({_area_key(s, c) for s, c in area_codes}
                       | {_area_key(ANY_SCHEME, c) for _, c in area_codes})
        with self._lock:  # one round trip: the largest radius is a CTE of the match
            rows = self._db.execute(_MATCH, {"fp": fp, "channels": channels,
                                             "areas": areas}).fetchall()
        return [(r["id"], r["record"]) for r in rows]

    def match(self, enriched: EnrichedAlert, channel: str | None = None) -> list[str]:
        """Ids of the subscriptions this alert reaches: the place test runs in PostGIS,
        the filters (and the level where each one is) are the pure matcher's (``judge``)."""
        import shapely

        geom = footprint_of(enriched)
        fp = shapely.to_geojson(geom) if geom is not None and not geom.is_empty else None
        channels = [channel] if channel else ["webhook", "webpush", "sse"]
        found = self.candidates(fp, area_keys(enriched), channels)
        if not found:
            return []
        subs = []
        for sub_id, rec in found:
            try:
                subs.append(from_record(json.loads(rec)))
            except Exception:  # one unreadable row never hides the others
                log.error("subscription %s is unreadable; left out of matching", sub_id)
        idx = SubscriptionIndex.build(subs)
        for sub_id, why in idx.broken.items():
            log.error("subscription %s cannot be matched: %s", sub_id, why)
        rows = judge(enriched, idx, np.arange(len(idx), dtype=np.int64), channel=channel)
        return sorted(idx.ids[r] for r in rows.tolist())

    def close(self) -> None:
        with self._lock:
            self._db.close()


# --- shelters ------------------------------------------------------------------------


def sync_geo(url: str, geo: Any) -> dict[str, int]:
    """Copy the loaded geodata (gazetteer, facilities, hotspots) into the GIS tables."""
    from lalert.store.pggis import sync_geodata

    ensure_geo_schema(url)
    with connect(url) as conn:
        return sync_geodata(conn, geo)


def shelters_near(url: str, footprint_geojson: dict[str, Any] | str, meters: float, *,
                  hazard: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Shelters within ``meters`` of the footprint (geodesic), nearest first; with
    ``hazard``, only those designated for it."""
    fp = footprint_geojson if isinstance(footprint_geojson, str) else json.dumps(footprint_geojson)
    sql = ("WITH fp AS (SELECT ST_SetSRID(ST_GeomFromGeoJSON(%(fp)s::text), 4326)::geography AS g)"
           " SELECT s.id, s.name, s.kind, s.hazards, s.municipality_code, s.capacity,"
           " ST_Y(s.geom) AS lat, ST_X(s.geom) AS lon,"
           " ST_Distance(s.geom::geography, fp.g) AS distance_m FROM facilities s, fp"
           " WHERE ST_DWithin(s.geom::geography, fp.g, %(m)s)")
    if hazard:
        sql += " AND %(hz)s::text = ANY(s.hazards)"
    sql += " ORDER BY distance_m, s.id LIMIT %(limit)s"
    with connect(url) as conn:
        return conn.execute(sql, {"fp": fp, "m": meters, "hz": hazard, "limit": limit}).fetchall()
