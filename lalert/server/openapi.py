"""``GET /openapi.json``: OpenAPI 3.1 for every route the app serves.

Route documentation lives here, in ``ROUTE_DOCS``, in one place. Routes that outputs or
the desk mount are documented by the output itself when it offers
``openapi() -> {path: {method: operation}}``, else from ``ROUTE_DOCS``, else from the
handler's docstring, so no mounted route is ever missing from the document.
"""

from __future__ import annotations

import inspect
import json
import re
from typing import Any

from aiohttp import web

from lalert import __version__ as _version
from lalert.httpcache import Rendered, respond
from lalert.server.keys import EXTRA_DOCS

_ERR = {"description": "Error", "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/Error"}}}}
_BEARER = [{"bearer": []}]
_ETAG = {"ETag": {"schema": {"type": "string"}}}
_NOT_MODIFIED = {"description": "Not modified (If-None-Match matched the ETag)"}

_Q = {
    "bbox": {"name": "bbox", "in": "query", "schema": {"type": "string"},
             "description": "west,south,east,north (WGS 84 degrees); keeps alerts whose "
                            "footprint intersects the box", "example": "130.5,32.6,131.0,33.0"},
    "point": {"name": "point", "in": "query", "schema": {"type": "string"},
              "description": "lat,lon; keeps alerts whose footprint covers the point",
              "example": "32.80,130.71"},
    "kind": {"name": "kind", "in": "query", "schema": {"type": "string"},
             "description": "comma list of kinds or hazard tags (weather_warning, tsunami, ...)"},
    "min_level": {"name": "min_level", "in": "query",
                  "schema": {"type": "integer", "minimum": 1, "maximum": 5},
                  "description": "警戒レベル at least this (also written `level>=3`)"},
    "drills": {"name": "drills", "in": "query", "schema": {"type": "string", "enum": ["0", "1"]},
               "description": "1: include exercise / test alerts (labelled drill=true)"},
}

ROUTE_DOCS: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/api/v1/messages"): {
        "summary": "Submit a message (JMA XML, L-Alert/Commons XML, CAP; bare or SOAP publish)",
        "description": ("Answered only after the raw bytes are committed to the journal. "
                        "The body may be sent with Content-Encoding: gzip; the size bound "
                        "applies to the inflated bytes (413 past it, 400 for bad gzip). "
                        "Any other Content-Encoding: 415."),
        "security": _BEARER,
        "requestBody": {"required": True, "content": {
            "application/xml": {"schema": {"type": "string"}},
            "text/xml": {"schema": {"type": "string"}}}},
        "responses": {
            "202": {"description": "Journaled (accepted, or a duplicate of something received)",
                    "headers": {"Location": {"schema": {"type": "string"}}},
                    "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Receipt"}}}},
            "400": {"description": "Unreadable; kept among the rejected with the reason",
                    "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Receipt"}}}},
            "401": _ERR, "403": _ERR, "413": _ERR, "415": _ERR},
    },
    ("get", "/api/v1/messages/{id}"): {
        "summary": "Status of a received message (outcome now, per alert)",
        "responses": {"200": {"description": "History item", "headers": _ETAG,
                              "content": {"application/json": {
                                  "schema": {"$ref": "#/components/schemas/HistoryItem"}}}},
                      "304": _NOT_MODIFIED, "404": _ERR},
    },
    ("get", "/api/v1/messages/{id}/raw"): {
        "summary": "Raw bytes of a received message", "security": _BEARER,
        "responses": {"200": {"description": "As received",
                              "content": {"application/xml": {"schema": {"type": "string"}}}},
                      "401": _ERR, "403": _ERR, "404": _ERR},
    },
    ("get", "/api/v1/alerts"): {
        "summary": "Active alerts as a GeoJSON FeatureCollection, most severe first",
        "parameters": [_Q["bbox"], _Q["point"], _Q["kind"], _Q["min_level"], _Q["drills"]],
        "responses": {"200": {"description": "FeatureCollection", "headers": _ETAG,
                              "content": {"application/geo+json": {
                                  "schema": {"$ref": "#/components/schemas/FeatureCollection"}}}},
                      "304": _NOT_MODIFIED, "400": _ERR},
    },
    ("get", "/api/v1/alerts/{id}"): {
        "summary": "One alert (any version ever received) as a Feature with its history",
        "parameters": [_Q["drills"]],
        "responses": {"200": {"description": "Feature plus `history`", "headers": _ETAG,
                              "content": {"application/geo+json": {
                                  "schema": {"$ref": "#/components/schemas/Feature"}}}},
                      "304": _NOT_MODIFIED, "404": _ERR},
    },
    ("get", "/api/v1/history"): {
        "summary": "Every message received, newest first, with its outcome",
        "parameters": [
            {"name": "before", "in": "query", "schema": {"type": "integer"},
             "description": "message id cursor (from `next`)"},
            {"name": "limit", "in": "query",
             "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}},
            {"name": "outcome", "in": "query", "schema": {"type": "string", "enum": [
                "active", "superseded", "cancelled", "lifted", "expired", "rejected",
                "duplicate", "pending", "ignored"]}}],
        "responses": {"200": {"description": "Page", "headers": _ETAG,
                              "content": {"application/json": {"schema": {
                                  "type": "object", "required": ["items", "next"],
                                  "properties": {
                                      "items": {"type": "array", "items": {
                                          "$ref": "#/components/schemas/HistoryItem"}},
                                      "next": {"type": ["string", "null"]},
                                      "total": {"type": "integer"}}}}}},
                      "304": _NOT_MODIFIED, "400": _ERR},
    },
    ("get", "/healthz"): {
        "summary": "Health: backends (scheme), journal, active set, output backlogs and skipped "
                   "changes; alarms (silent feeds, skipped changes, unmatchable subscriptions, "
                   "outputs that did not start) make status degraded",
        "responses": {"200": {"description": "status ok | degraded", "headers": _ETAG,
                              "content": {"application/json": {"schema": {"type": "object"}}}}},
    },
    ("get", "/metrics"): {
        "summary": "Prometheus metrics (text exposition format)",
        "responses": {"200": {"description": "Metrics",
                              "content": {"text/plain": {"schema": {"type": "string"}}}}},
    },
    ("get", "/openapi.json"): {
        "summary": "This document",
        "responses": {"200": {"description": "OpenAPI 3.1",
                              "content": {"application/json": {"schema": {"type": "object"}}}}},
    },
}

COMPONENTS: dict[str, Any] = {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "schemas": {
        "Error": {"type": "object", "properties": {
            "error": {"type": "string"}, "reason": {"type": "string"}}},
        "Receipt": {"type": "object", "required": ["id", "outcome", "status_url"], "properties": {
            "id": {"type": "string"},
            "outcome": {"type": "string", "enum": ["accepted", "duplicate", "rejected"]},
            "status_url": {"type": "string"}, "format": {"type": ["string", "null"]},
            "alerts": {"type": "array", "items": {"type": "string"}},
            "reason": {"type": "string"}, "duplicate_of": {"type": "string"}}},
        "HistoryItem": {"type": "object", "required": ["id", "received_at", "outcome"],
                        "properties": {
                            "id": {"type": "string"}, "received_at": {"type": "string"},
                            "source": {"type": "string"}, "sender": {"type": "string"},
                            "format": {"type": ["string", "null"]},
                            "outcome": {"type": "string"}, "reason": {"type": "string"},
                            "alerts": {"type": "array", "items": {"type": "object"}}}},
        "Feature": {"type": "object", "required": ["type", "properties"], "properties": {
            "type": {"const": "Feature"}, "id": {"type": "string"},
            "geometry": {"type": ["object", "null"]},
            "bbox": {"type": ["array", "null"], "items": {"type": "number"}},
            "properties": {"type": "object"},
            "history": {"type": "array", "items": {"type": "object"}}}},
        "FeatureCollection": {"type": "object", "required": ["type", "features"], "properties": {
            "type": {"const": "FeatureCollection"},
            "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}}}},
    },
}

_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


def openapi_path(aiohttp_path: str) -> str:
    """``/tiles/{z:\\d+}/{x}.mvt`` → ``/tiles/{z}/{x}.mvt``."""
    return _PARAM.sub(lambda m: "{" + m.group(1) + "}", aiohttp_path)


def _generic(handler: Any, method: str, path: str) -> dict[str, Any]:
    doc = inspect.getdoc(handler) or ""
    summary = doc.splitlines()[0] if doc else f"{method.upper()} {path}"
    op: dict[str, Any] = {"summary": summary,
                          "responses": {"200": {"description": "OK"}}}
    if len(doc.splitlines()) > 1:
        op["description"] = doc
    if method == "get":
        op["responses"]["304"] = _NOT_MODIFIED
    return op


def build_spec(app: web.Application) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    extra: dict[str, dict[str, Any]] = app.get(EXTRA_DOCS, {})
    for route in app.router.routes():
        method = route.method.lower()
        if method in ("head", "options", "*"):
            continue
        info = route.resource.get_info() if route.resource else {}
        raw_path = info.get("path") or info.get("formatter")
        if raw_path is None and "prefix" in info:
            raw_path = info["prefix"].rstrip("/") + "/{filename}"
        if raw_path is None:
            continue
        path = openapi_path(raw_path)
        op = (extra.get(path, {}).get(method) or ROUTE_DOCS.get((method, path))
              or _generic(route.handler, method, path))
        op = dict(op)
        names = _PARAM.findall(raw_path)
        if names:
            declared = {p["name"] for p in op.get("parameters", []) if p.get("in") == "path"}
            op["parameters"] = [
                *[{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                  for n in names if n not in declared],
                *op.get("parameters", []),
            ]
        op.setdefault("operationId", _op_id(method, path))
        paths.setdefault(path, {})[method] = op
    ids: set[str] = set()
    for item in paths.values():
        for op in item.values():
            while op["operationId"] in ids:
                op["operationId"] += "_"
            ids.add(op["operationId"])
    return {
        "openapi": "3.1.0",
        "info": {"title": "lalert", "version": _version,
                 "description": "Disaster-alert dissemination daemon: ingest (L-Alert / JMA XML "
                                "/ CAP) and public read API. Read routes are public; write "
                                "routes need a bearer token."},
        "paths": dict(sorted(paths.items())),
        "components": COMPONENTS,
    }


def _op_id(method: str, path: str) -> str:
    return method + re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_")


SPEC = web.AppKey("lalert.openapi", dict)  # {"rendered": Rendered}, filled on first request


async def openapi_json(request: web.Request) -> web.Response:
    """This document (rendered once: routes do not change after start)."""
    holder = request.app[SPEC]
    r = holder.get("rendered")
    if r is None:
        r = holder["rendered"] = Rendered.of(
            json.dumps(build_spec(request.app), ensure_ascii=False), "application/json")
    return respond(request, r)
