"""Public read API: active alerts as GeoJSON, one alert with its history, the message
history, health. Every body is rendered once per state version (``RenderCache``) and
served with an ETag; ``If-None-Match`` gets a 304."""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web

from lalert.bus.registry import scheme as bus_scheme
from lalert.httpcache import Rendered, respond
from lalert.model import EnrichedAlert
from lalert.pipeline import Pipeline
from lalert.server.keys import OUTPUTS, PIPELINE, POLLER, SPOOL
from lalert.store.registry import scheme as store_scheme

GEOJSON = "application/geo+json"
JSON = "application/json"


class RenderCache:
    """Bodies by (version, query); everything is dropped when the version moves on."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._version: Hashable = None
        self._items: OrderedDict[Hashable, Rendered] = OrderedDict()
        self.renders = 0

    def get(self, version: Hashable, key: Hashable, render: Callable[[], Rendered]) -> Rendered:
        if version != self._version:
            self._version, self._items = version, OrderedDict()
        hit = self._items.get(key)
        if hit is not None:
            self._items.move_to_end(key)
            return hit
        self.renders += 1
        r = self._items[key] = render()
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return r


CACHE = web.AppKey("lalert.api_cache", RenderCache)
HISTORY_CACHE = web.AppKey("lalert.history_cache", RenderCache)


def _bad(reason: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": "bad request", "reason": reason}),
                              content_type=JSON)


# --- features ------------------------------------------------------------------------


def alert_properties(e: EnrichedAlert, drill: bool) -> dict[str, Any]:
    a = e.alert
    return {
        "id": a.id, "format": a.format, "kind": a.kind, "title": a.title,
        "headline": a.headline, "info_type": a.info_type, "status": a.status, "drill": drill,
        "level": a.level, "severity": a.severity, "issued_at": a.issued_at,
        "valid_until": a.valid_until, "publisher": a.publisher, "event_id": a.event_id,
        "serial": a.serial, "hazard_tags": list(e.hazard_tags),
        "areas": [{"code": x.code, "scheme": x.scheme, "name": x.name} for x in e.active_areas()],
        "url": f"/api/v1/alerts/{quote(a.id, safe='')}",
    }


def feature(e: EnrichedAlert, drill: bool, *, full: bool = False) -> dict[str, Any]:
    props = e.to_dict() if full else alert_properties(e, drill)
    if full:
        props.pop("footprint", None)
        props["drill"] = drill
    return {"type": "Feature", "id": e.id, "bbox": list(e.bbox) if e.bbox else None,
            "geometry": e.footprint, "properties": props}


class _Filter:
    def __init__(self, q: Any) -> None:
        self.kinds = {k for k in q.get("kind", "").split(",") if k}
        raw_level = q.get("min_level") or q.get("level>") or q.get("level")
        try:
            self.min_level = int(raw_level) if raw_level else None
        except ValueError:
            raise _bad("min_level must be an integer 1-5") from None
        if self.min_level is not None and not 0 <= self.min_level <= 5:
            raise _bad("min_level must be an integer 1-5")
        self.box = self.point = None
        self.bounds: tuple[float, float, float, float] | None = None
        self.latlon: tuple[float, float] | None = None
        if q.get("bbox"):
            try:
                w, s, e, n = (float(v) for v in q["bbox"].split(","))
            except ValueError:
                raise _bad("bbox must be west,south,east,north") from None
            if not (all(map(math.isfinite, (w, s, e, n))) and w <= e and s <= n):
                raise _bad("bbox must be finite west,south,east,north (west<=east, south<=north)")
            from shapely.geometry import box

            self.box = box(w, s, e, n)
            self.bounds = (w, s, e, n)
        if q.get("point"):
            try:
                lat, lon = (float(v) for v in q["point"].split(","))
            except ValueError:
                raise _bad("point must be lat,lon") from None
            if not (math.isfinite(lat) and math.isfinite(lon)):
                raise _bad("point must be finite lat,lon")
            from shapely.geometry import Point

            self.point = Point(lon, lat)
            self.latlon = (lat, lon)
        self.drills = q.get("drills") in ("1", "true", "yes")

    def key(self) -> Hashable:
        """What the answer depends on, normalised: a parameter lalert does not read (a
        client's ``?_=<time>`` cache-buster) or another spelling of the same filter must
        not render the whole set again and push real answers out of the cache."""
        return (tuple(sorted(self.kinds)), self.min_level, self.bounds, self.latlon,
                self.drills)

    def __call__(self, e: EnrichedAlert, geom: Any, *, place: bool = True) -> bool:
        """``place=False``: the point and bbox were already answered (by PostGIS)."""
        if self.kinds and e.alert.kind not in self.kinds and not (self.kinds & set(e.hazard_tags)):
            return False
        if self.min_level is not None and (e.alert.level or 0) < self.min_level:
            return False
        if not place:
            return True
        if self.box is not None and (geom is None or not geom.intersects(self.box)):
            return False
        if self.point is not None and (geom is None or not geom.intersects(self.point)):
            return False
        return True


class _Geoms:
    """Shapely shapes of active footprints, built once per alert version."""

    def __init__(self) -> None:
        self._d: dict[str, Any] = {}

    def of(self, e: EnrichedAlert) -> Any:
        if e.footprint is None:
            return None
        g = self._d.get(e.id)
        if g is None:
            from shapely.geometry import shape

            try:
                g = shape(e.footprint)
            except Exception:
                return None
            if len(self._d) > 50_000:
                self._d.clear()
            self._d[e.id] = g
        return g


GEOMS = web.AppKey("lalert.geoms", _Geoms)


async def list_alerts(request: web.Request) -> web.Response:
    """Active alerts as a GeoJSON FeatureCollection (filters: bbox, point, kind, min_level)."""
    p = request.app[PIPELINE]
    f = _Filter(request.rel_url.query)

    def render() -> Rendered:
        geoms = request.app[GEOMS]
        items = [(e, False) for e in p.view.active()]
        if f.drills:
            items += [(e, True) for e in p.view.active(drills=True)]
        places = p.store.places
        if places is not None and (f.box is not None or f.point is not None):
            # a shared store answers the place test in the database (GiST on the shapes)
            hits = places.among([e.id for e, _ in items],
                                point=f.latlon if f.point is not None else None,
                                box=f.bounds if f.box is not None else None)
            feats = [feature(e, d) for e, d in items if e.id in hits and f(e, None, place=False)]
        else:
            feats = [feature(e, d) for e, d in items if f(e, geoms.of(e))]
        body = {"type": "FeatureCollection", "version": p.view.version,
                "generated_seq": p.bus.last_seq, "features": feats}
        return Rendered.of(json.dumps(body, ensure_ascii=False, separators=(",", ":")), GEOJSON)

    return respond(request, request.app[CACHE].get(p.view.version, ("alerts", f.key()), render))


async def get_alert(request: web.Request) -> web.Response:
    """One alert as a Feature with its event's history (drills only with ``drills=1``)."""
    p = request.app[PIPELINE]
    alert_id = request.match_info["id"]
    drills = request.rel_url.query.get("drills") in ("1", "true", "yes")
    key = ("alert", alert_id, drills)
    version = (p.view.version, p.applied_upto)

    def render() -> Rendered:
        body = alert_document(p, alert_id, drills=drills)
        if body is None:
            return Rendered(b"", "", "")
        return Rendered.of(json.dumps(body, ensure_ascii=False), GEOJSON)

    r = request.app[CACHE].get(version, key, render)
    if not r.body:
        raise web.HTTPNotFound(text=json.dumps({"error": "no such alert", "id": alert_id}),
                               content_type=JSON)
    return respond(request, r)


def alert_document(p: Pipeline, alert_id: str, *, drills: bool) -> dict[str, Any] | None:
    enriched = p.view.get(alert_id)
    active = enriched is not None
    if enriched is not None:
        drill = p.view.is_drill(alert_id)
    else:
        alert = p.alert_by_id(alert_id)
        if alert is None:
            return None
        from lalert.lifecycle import is_drill
        from lalert.pipeline import fallback_enrich

        enriched, drill = fallback_enrich(alert), is_drill(alert)
    if drill and not drills:
        return None
    doc = feature(enriched, drill, full=True)
    doc["properties"]["active"] = active
    doc["properties"]["outcome"] = p.lifecycle.fate(alert_id) or "pending"
    doc["history"] = event_history(p, alert_id)
    return doc


def event_history(p: Pipeline, alert_id: str) -> list[dict[str, Any]]:
    ids = p.lifecycle.event_ids(alert_id) or [alert_id]
    changes: dict[str, list[dict[str, Any]]] = {}
    for c in p.state.changes_for_alerts(ids):
        changes.setdefault(c.alert_id, []).append(
            {"seq": c.seq, "kind": c.kind, "reason": c.reason, "at": c.at})
    out = []
    for i in ids:
        a = p.alert_by_id(i)
        msg = p.message_of(i)
        out.append({
            "id": i, "message_id": str(msg) if msg else None,
            "status_url": f"/api/v1/messages/{msg}" if msg else None,
            "info_type": a.info_type if a else None, "serial": a.serial if a else None,
            "issued_at": a.issued_at if a else None, "title": a.title if a else None,
            "outcome": p.lifecycle.fate(i) or "pending", "changes": changes.get(i, []),
        })
    return out


async def history(request: web.Request) -> web.Response:
    """Every message received, newest first: ``items`` and ``next`` (cursor URL)."""
    p = request.app[PIPELINE]
    q = request.rel_url.query
    try:
        before = int(q["before"]) if q.get("before") else None
        limit = max(1, min(500, int(q.get("limit", 50))))
    except ValueError:
        raise _bad("before and limit must be integers") from None
    if before is not None and not 0 <= before < 2**63:  # SQLite INTEGER range
        raise _bad("before is out of range")
    outcome = q.get("outcome") or None
    version = (p.last_message_id, p.applied_upto, p.view.version)

    def render() -> Rendered:
        rows = p.reader.page(before=before, limit=limit + 1,
                             outcome=outcome if outcome in ("rejected", "duplicate") else None)
        more = len(rows) > limit
        rows = rows[:limit]
        items = [p.outcome_of(r) for r in rows]
        if outcome and outcome not in ("rejected", "duplicate"):
            items = [i for i in items if i["outcome"] == outcome]
        nxt = None
        if more and rows:
            params = {"before": rows[-1]["id"], "limit": limit}
            if outcome:
                params["outcome"] = outcome
            nxt = "/api/v1/history?" + urlencode(params)
        body = {"items": items, "next": nxt, "total": p.last_message_id}
        return Rendered.of(json.dumps(body, ensure_ascii=False), JSON)

    r = request.app[HISTORY_CACHE].get(version, (before, limit, outcome), render)
    return respond(request, r, cache_control="no-cache")


def alarms(app: web.Application) -> list[str]:
    """Everything an operator must look at now: silent feeds, changes an output skipped,
    messages that could not be applied, and what each output reports (``alarms()``)."""
    p = app[PIPELINE]
    poller = app.get(POLLER)
    out = [f"feed {f['name']} is silent" for f in (poller.status() if poller else [])
           if f.get("alarm")]
    out += [f"output {d['output']} skipped change seq {d['seq']}: {d['error']}"
            for d in p.bus.skipped_changes()]
    out += [f"message {d['message']} could not be applied: {d['error']}"
            for d in p.failed_messages]
    out += [f"{d['where']} entry {d['entry']} kept unread: {d['reason']}"
            for d in p.refused.entries()]
    out += [f"output {name} failed to start (its changes wait for a restart): {why}"
            for name, why in p.failed_outputs.items()]
    for o in app[OUTPUTS]:
        fn = getattr(o, "alarms", None)
        if callable(fn):
            try:
                out += [f"output {o.name}: {a}" for a in fn()]
            except Exception as exc:  # an output that cannot even say is an alarm itself
                out.append(f"output {o.name}: cannot report its state: {exc}")
    return out


def health_document(app: web.Application) -> dict[str, Any]:
    p = app[PIPELINE]
    poller = app.get(POLLER)
    spool = app.get(SPOOL)
    feeds = poller.status() if poller else []
    found = alarms(app)
    backlog = p.bus.backlog()
    skipped = p.bus.skipped_counts()
    return {
        "status": "degraded" if found else "ok",
        "alarms": found,
        "started_at": p.started_at,
        # which backends, by URL scheme only: the URLs themselves may carry credentials
        "store": store_scheme(p.config.store),
        "bus": bus_scheme(p.config.bus),
        "version": p.view.version,
        "journal": {"messages": p.last_message_id, "applied": p.applied_upto,
                    "pending": p.backlog},
        "seq": p.bus.last_seq,
        "active": p.view.counts(),
        "outputs": {o.name: {"backlog": backlog.get(o.name, 0),
                             "skipped": skipped.get(o.name, 0)} for o in app[OUTPUTS]},
        # stream entries / stored rows kept but unreadable here, by place (bus:<output>,
        # store:journal ...): foreign bytes or another schema version
        "refused": p.refused.counts(),
        "feeds": feeds,
        "spool": spool.status() if spool else None,
    }


async def healthz(request: web.Request) -> web.Response:
    """Liveness and what an operator should look at (feed alarms, backlogs)."""
    body = json.dumps(health_document(request.app), ensure_ascii=False)
    return respond(request, Rendered.of(body, JSON), cache_control="no-cache")


# A warning sign, drawn here (no file, no outside origin): browsers, kiosks and phones ask
# for /favicon.ico on every page, and a 404 there is an error in every console.
FAVICON = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
           b'<path d="M16 2 31 29H1z" fill="#ffd500" stroke="#1b2a3a" stroke-width="2"/>'
           b'<path d="M16 11v9" stroke="#1b2a3a" stroke-width="3"/>'
           b'<circle cx="16" cy="24.5" r="1.8" fill="#1b2a3a"/></svg>')


async def favicon(request: web.Request) -> web.Response:
    return web.Response(body=FAVICON, content_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})


def setup(app: web.Application) -> None:
    app[CACHE] = RenderCache()
    app[HISTORY_CACHE] = RenderCache(size=64)
    app[GEOMS] = _Geoms()


def routes() -> list[web.RouteDef]:
    return [
        web.get("/api/v1/alerts", list_alerts),
        web.get("/api/v1/alerts/{id:.+}", get_alert),
        web.get("/api/v1/history", history),
        web.get("/healthz", healthz),
        web.get("/favicon.ico", favicon),
    ]
