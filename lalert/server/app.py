"""The aiohttp app factory: wires configuration, pipeline, outputs, ingest and routes.

``create_app(config)`` returns an application whose startup opens the home (and locks
it: one daemon per home), loads geodata, rebuilds state from the journal, starts the
outputs and the ingest sources; its cleanup stops them in reverse order. Routes: outputs'
routes first (they may be more specific, e.g. ``/api/v1/alerts/{id}.cap``), then the
core API, then the desk console (``lalert.server.desk.setup(app)`` when present).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from lalert import resources
from lalert.config import Config, IngestToken
from lalert.httpcache import Rendered, respond
from lalert.outputs.base import Output, OutputContext
from lalert.pipeline import Pipeline
from lalert.server import api, ingest, openapi, security
from lalert.server.auth import AUTH_KEY, TokenAuth
from lalert.server.keys import (
    CONFIG,
    EXTRA_DOCS,
    GEO,
    METRICS,
    OUTPUTS,
    PIPELINE,
    POLLER,
    SPOOL,
    STORES,
)
from lalert.server.metrics import Metrics
from lalert.store.backends import Backends
from lalert.store.private import private_dir

log = logging.getLogger(__name__)

TOKEN_FILE = "ingest.token"


class HomeLocked(RuntimeError):
    pass


def lock_home(home: Path) -> Any:
    """Hold ``<home>/lalert.lock`` (flock) for the process lifetime; one daemon per home."""
    private_dir(home)
    fh = open(home / "lalert.lock", "a+")  # noqa: SIM115 - held until exit
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise HomeLocked(f"{home} is in use by another lalert process") from None
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    return fh


def ensure_token(config: Config) -> str | None:
    """With no ingest token configured, make one in ``<home>/ingest.token`` (0600)."""
    if config.ingest_tokens:
        return None
    path = config.home / TOKEN_FILE
    if not path.exists():
        private_dir(config.home)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(24) + "\n")
    config.ingest_tokens.append(IngestToken("local", path.read_text().strip()))
    return str(path)


def load_geo(config: Config) -> Any:
    """``geo.path`` or ``<home>/geo.gpkg`` (what ``lalert data import`` writes); else the
    demo geodata with ``--demo``; else None (alerts are served without geometry)."""
    try:
        from lalert import geo as geodata
    except ImportError:
        log.warning("lalert.geo is not installed: alerts are shown without area geometry")
        return None
    path = config.geo_path or (config.home / "geo.gpkg")
    geo = None
    try:
        if path.exists() and hasattr(geodata, "load_geodata"):
            geo = geodata.load_geodata(path)
        elif config.demo and hasattr(geodata, "demo_geodata"):
            geo = geodata.demo_geodata()
    except Exception:
        log.exception("loading geodata failed: alerts are shown without area geometry")
    if geo is not None:
        from lalert.store.shelter_links import load_links

        geo.shelter_links = load_links(config.home)  # the desk's decisions, for later reports
    return geo


def create_outputs(config: Config) -> list[Output]:
    """Outputs named in configuration, through the entry-point registry.

    A name ``module:Class`` is imported directly (plug-ins under test). An output that is
    not installed is reported and left out rather than stopping the daemon.
    """
    from importlib import import_module

    from lalert.outputs import registry

    avail = registry.available()
    out: list[Output] = []
    for name in config.outputs:
        if config.output_config(name).get("enabled", True) is False:
            continue
        if ":" in name:
            mod, _, cls = name.partition(":")
            out.append(getattr(import_module(mod), cls)())
        elif name in avail:
            out.append(avail[name]())
        else:
            log.warning("output %r is not installed (available: %s)", name, sorted(avail))
    return out


def create_app(config: Config, *, geo: Any = None,
               roles: frozenset[str] | None = None) -> web.Application:
    """The daemon (``roles=None``: everything in this process) or one worker's share of it
    (``lalert.server.roles``: ingest, poller, enrich, signage, tiles, push)."""
    from lalert.server import roles as _roles

    plan = _roles.plan(config, roles)
    app = web.Application(client_max_size=config.max_message_bytes + 64 * 1024,
                          handler_args=security.HANDLER_ARGS)
    security.setup(app, config)
    metrics = Metrics()
    pipeline = Pipeline(config, geo=geo, metrics=metrics, mode=plan.mode)
    ensure_token(config)
    app[CONFIG] = config
    app[METRICS] = metrics
    app[PIPELINE] = pipeline
    app[AUTH_KEY] = TokenAuth(config.ingest_tokens)
    app[OUTPUTS] = outputs = [o for o in create_outputs(config) if plan.wants_output(o.name)]
    app[_roles.PLAN] = plan
    # push deliveries and subscriptions: in the home, or in PostgreSQL when that is the
    # store (claims with a lease, matching in PostGIS); handed to outputs, never global
    app[STORES] = Backends.from_config(config)

    async def _close_stores(app: web.Application) -> None:
        app[STORES].close()

    app.on_cleanup.append(_close_stores)
    app[SPOOL] = None
    if config.spool_enabled and plan.ingest:
        from lalert.server.spool import Spool

        app[SPOOL] = Spool(pipeline, config.spool_dir, interval=config.spool_interval)
    app[POLLER] = None
    if config.poller_enabled and config.feeds and plan.poller:
        from lalert.server.poller import Poller

        app[POLLER] = Poller(pipeline, config.feeds, allow_hosts=config.allow_hosts,
                             metrics=metrics)
    app[GEO] = geo
    app[EXTRA_DOCS] = {}
    app[openapi.SPEC] = {}
    api.setup(app)
    metrics.backlog_from(pipeline.bus.backlog)
    metrics.alarms_from(pipeline.bus.skipped_counts, lambda: api.alarms(app))
    metrics.refused_from(pipeline.refused.counts)

    seen: set[tuple[str, str]] = set()

    def add(defs: list[Any], owner: str) -> None:
        for d in defs:
            k = (getattr(d, "method", "STATIC"), getattr(d, "path", "") or getattr(d, "prefix", ""))
            if k in seen:
                log.info("%s: %s %s is already served; skipped", owner, *k)
                continue
            seen.add(k)
            app.router.add_routes([d])

    for o in outputs:
        add(list(o.routes()), o.name)
        docs = getattr(o, "openapi", None)
        if callable(docs):
            for path, ops in docs().items():
                app[EXTRA_DOCS].setdefault(path, {}).update(ops)
    if plan.ingest:
        add(ingest.routes(), "ingest")
    add(api.routes(), "api")
    add([web.get("/metrics", metrics_route), web.get("/openapi.json", openapi.openapi_json)],
        "core")
    try:
        from lalert.server import desk
    except ImportError:
        desk = None
    if desk is not None and hasattr(desk, "setup") and plan.desk:
        desk.setup(app)
    if ("GET", "/") not in seen and not any(
            r.method == "GET" and r.resource and r.resource.canonical == "/"
            for r in app.router.routes()):
        app.router.add_get("/", index)
    app.cleanup_ctx.append(_lifecycle)
    return app


async def _lifecycle(app: web.Application) -> AsyncIterator[None]:
    from lalert.server import roles as _roles

    config, pipeline = app[CONFIG], app[PIPELINE]
    plan = app[_roles.PLAN]
    # one daemon per home; workers share a home, the applier holds the store's leader lock
    lock = lock_home(config.home) if plan.mode == "all" else None
    shared = pipeline.store.shared
    leader = (await _roles.lead(pipeline)
              if pipeline.applies and (shared or plan.mode != "all") else None)
    try:
        if pipeline.geo is None:
            pipeline.geo = await asyncio.get_running_loop().run_in_executor(None, load_geo, config)
        if pipeline.store.name == "postgis" and pipeline.applies and pipeline.geo is not None:
            await asyncio.get_running_loop().run_in_executor(
                None, _roles.sync_geo, pipeline.store.url, pipeline.geo)
        await pipeline.start()
        tokens = {t.name: t.token for t in config.ingest_tokens}
        started: list[Output] = []
        for o in app[OUTPUTS]:
            ocfg = config.output_config(o.name)
            ctx = OutputContext(
                name=o.name, config=ocfg, home=config.home, state=pipeline.view,
                outbox=pipeline.outbox, geo=pipeline.geo, base_url=config.public_url,
                settings={**config.raw, "api_tokens": tokens, "public_url": config.public_url},
                stores=app[STORES], verify_token=app[AUTH_KEY].verify)
            try:
                await o.start(ctx)
            except Exception as exc:  # left out, never silently: /healthz names it
                log.exception("ALARM: output %s failed to start; left out", o.name)
                pipeline.failed_outputs[o.name] = f"{type(exc).__name__}: {exc}"[:300]
                continue
            started.append(o)
            drills = bool(ocfg.get("drills")) or bool(getattr(o, "wants_drills", False))
            cursor = pipeline.state.cursor(o.name)
            if cursor is None:  # a new output starts from now, durably
                cursor = pipeline.bus.last_seq
                pipeline.state.set_cursors({o.name: cursor})
            pipeline.bus.add(o, drills=drills, cursor=cursor)
        await pipeline.bus.start(pipeline.redeliver, pipeline.key_of)
        pipeline.run()
        spool, poller = app[SPOOL], app[POLLER]
        if spool:
            await spool.start()
        if config.demo and plan.ingest and pipeline.last_message_id == 0:
            await replay_examples(pipeline)
        if poller:
            await poller.start()
        flusher = asyncio.create_task(_flush_cursors(pipeline), name="cursor-flush")
        try:
            yield
        finally:
            flusher.cancel()
            if poller:
                await poller.stop()
            if spool:
                await spool.stop()
            await pipeline.bus.drain(timeout=2.0)
            await pipeline.bus.stop()
            for o in reversed(started):
                try:
                    await o.stop()
                except Exception:
                    log.exception("output %s failed to stop", o.name)
            await pipeline.stop()
    finally:
        if leader is not None:
            leader.release()
        if lock is not None:
            lock.close()


async def _flush_cursors(pipeline: Pipeline) -> None:
    last: dict[str, int] = {}
    while True:
        await asyncio.sleep(1.0)
        cur = pipeline.bus.cursors()
        if cur != last:
            pipeline.state.set_cursors(cur)
            last = cur


async def replay_examples(pipeline: Pipeline, directory: Path | None = None) -> int:
    """Journal the demo messages (``lalert/demo/messages``) in name order (the demo's first
    start)."""
    directory = directory or resources.demo("messages")
    files = sorted(p for p in directory.glob("*") if p.is_file() and not p.name.startswith(".")
                   and p.suffix.lower() in (".xml", ".cap", ".atom"))
    for f in files:
        await pipeline.submit(f.read_bytes(), source="demo", sender=f"demo/messages/{f.name}")
    return len(files)


async def metrics_route(request: web.Request) -> web.Response:
    """Prometheus metrics."""
    r = Rendered.of(request.app[METRICS].render(), "text/plain; version=0.0.4; charset=utf-8")
    return respond(request, r, cache_control="no-cache")


async def index(request: web.Request) -> web.Response:
    """Links to what this daemon serves (when no map output owns ``/``)."""
    html = ("<!doctype html><meta charset=utf-8><title>lalert</title><h1>lalert</h1><ul>"
            "<li><a href=/api/v1/alerts>/api/v1/alerts</a><li><a href=/api/v1/history>"
            "/api/v1/history</a><li><a href=/desk>/desk</a><li><a href=/signage/>/signage/</a>"
            "<li><a href=/healthz>/healthz</a><li><a href=/openapi.json>/openapi.json</a></ul>")
    return respond(request, Rendered.of(html, "text/html; charset=utf-8"))
