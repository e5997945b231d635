"""Vector tiles cut by PostGIS (``ST_AsMVT``) from the GIS tables, for the scale path.

The same four layers, fields and tile grid as the in-process ``TileSource``
(``lalert.outputs.tiles.build``): ``municipalities`` (the gazetteer's first listed scheme
present), ``alerts`` (one feature per in-force area of each real alert in force),
``shelters`` (facilities with the state residents are told, as ``site_statuses``) and
``hotspots``. With ``store = "postgresql://…"`` any tiles worker answers from the
database, so no worker rebuilds a Web Mercator copy of every layer in its own memory on
each state change; the GiST indexes find what falls in a tile.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

EXTENT = 4096
BUFFER_PX = 64

_SQL = """
WITH t AS (SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS env,
                  ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s,
                                               margin => %(margin)s), 4326) AS q),
muni_scheme AS (
  SELECT s FROM unnest(%(schemes)s::text[]) WITH ORDINALITY AS u(s, n)
  WHERE EXISTS (SELECT 1 FROM areas WHERE scheme = u.s) ORDER BY n LIMIT 1),
municipalities AS (
  SELECT ST_AsMVTGeom(ST_Transform(a.geom, 3857), t.env, %(extent)s, %(buffer)s, true) AS geom,
         a.code, a.scheme, a.name
  FROM areas a, t WHERE a.scheme = (SELECT s FROM muni_scheme) AND a.geom && t.q),
hit AS (SELECT key, geom FROM area_shapes, t WHERE geom && t.q),
alerts AS (
  SELECT ST_AsMVTGeom(ST_Transform(h.geom, 3857), t.env, %(extent)s, %(buffer)s, true) AS geom,
         a.id, a.kind, a.level, a.severity, a.title, a.headline,
         a.model->>'issued_at' AS issued_at, coalesce(u.name, u.code) AS area
  FROM active v JOIN alerts a ON a.id = v.alert_id
  CROSS JOIN LATERAL unnest(a.area_names, a.area_codes, a.area_statuses, a.area_shapes)
    AS u(name, code, status, shape)
  JOIN hit h ON h.key = u.shape, t
  WHERE NOT v.drill AND a.info_type <> 'cancel' AND u.status = 'active'
    AND a.active_shapes && ARRAY(SELECT key FROM hit)),
shelters AS (
  SELECT ST_AsMVTGeom(ST_Transform(f.geom, 3857), t.env, %(extent)s, %(buffer)s, true) AS geom,
         f.id, f.name, f.kind, nullif(array_to_string(f.hazards, ','), '') AS hazards,
         f.capacity, f.address,
         coalesce(CASE WHEN s.state IN ('open', 'permanent') AND s.crowding IN ('full', 'crowded')
                       THEN s.crowding ELSE s.state END, 'unknown') AS state
  FROM facilities f LEFT JOIN facility_state s ON s.key = f.id, t WHERE f.geom && t.q),
hotspots AS (
  SELECT ST_AsMVTGeom(ST_Transform(h.geom, 3857), t.env, %(extent)s, %(buffer)s, true) AS geom,
         h.id, h.name, h.ssid, h.provider
  FROM hotspots h, t WHERE h.geom && t.q)
SELECT coalesce((SELECT ST_AsMVT(m, 'municipalities', %(extent)s, 'geom')
                   FROM municipalities m WHERE geom IS NOT NULL), '')
    || coalesce((SELECT ST_AsMVT(a, 'alerts', %(extent)s, 'geom')
                   FROM alerts a WHERE geom IS NOT NULL), '')
    || coalesce((SELECT ST_AsMVT(s, 'shelters', %(extent)s, 'geom')
                   FROM shelters s WHERE geom IS NOT NULL), '')
    || coalesce((SELECT ST_AsMVT(h, 'hotspots', %(extent)s, 'geom')
                   FROM hotspots h WHERE geom IS NOT NULL), '') AS mvt
"""


def mvt(conn: Any, z: int, x: int, y: int,
        municipality_schemes: Sequence[str] = ("n03", "lg_code")) -> bytes:
    """The MVT bytes of tile z/x/y; empty bytes when nothing falls in it."""
    row = conn.execute(_SQL, {"z": z, "x": x, "y": y, "margin": BUFFER_PX / EXTENT,
                              "extent": EXTENT, "buffer": BUFFER_PX,
                              "schemes": list(municipality_schemes)}).fetchone()
    body = row["mvt"] if isinstance(row, dict) else row[0]
    return bytes(body or b"")


def bounds(conn: Any) -> tuple[float, float, float, float] | None:
    """Lon/lat bounds of everything the tiles show (TileJSON ``bounds``)."""
    row = conn.execute(
        "SELECT ST_XMin(e) AS w, ST_YMin(e) AS s, ST_XMax(e) AS e, ST_YMax(e) AS n FROM ("
        " SELECT ST_Extent(g) AS e FROM (SELECT geom AS g FROM areas UNION ALL"
        " SELECT geom FROM facilities UNION ALL SELECT geom FROM hotspots UNION ALL"
        " SELECT s.geom FROM area_shapes s WHERE s.key IN (SELECT unnest(a.active_shapes)"
        " FROM active v JOIN alerts a ON a.id = v.alert_id WHERE NOT v.drill)) x) y"
    ).fetchone()
    vals = [row[k] for k in ("w", "s", "e", "n")] if isinstance(row, dict) else list(row)
    return None if vals[0] is None else (vals[0], vals[1], vals[2], vals[3])
