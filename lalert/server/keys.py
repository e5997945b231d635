"""Typed keys under which the app factory stores the daemon's parts (for route modules
and the desk console: ``request.app[PIPELINE]`` …)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from lalert.config import Config
from lalert.pipeline import Pipeline
from lalert.server.auth import AUTH_KEY
from lalert.server.metrics import Metrics
from lalert.store.backends import Backends

CONFIG = web.AppKey("lalert.config", Config)
PIPELINE = web.AppKey("lalert.pipeline", Pipeline)
METRICS = web.AppKey("lalert.metrics", Metrics)
OUTPUTS = web.AppKey("lalert.outputs", list)  # list[Output], in configuration order
POLLER = web.AppKey("lalert.poller", Any)  # lalert.server.poller.Poller | None
SPOOL = web.AppKey("lalert.spool", Any)  # lalert.server.spool.Spool | None
GEO = web.AppKey("lalert.geo", Any)  # lalert.geo GeoData | None
STORES = web.AppKey("lalert.stores", Backends)  # push deliveries and subscriptions
EXTRA_DOCS = web.AppKey("lalert.openapi_extra", dict)  # path -> {method -> operation}

__all__ = ["CONFIG", "PIPELINE", "METRICS", "OUTPUTS", "POLLER", "SPOOL", "GEO", "AUTH_KEY",
           "EXTRA_DOCS", "STORES"]
