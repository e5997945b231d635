"""Which parts of the daemon a process runs: all of them (``lalert run``) or one role.

Roles (``lalert worker --role R``): ``ingest`` (HTTP ingest and the spool directory,
journaling), ``poller`` (the JMA feed poller, journaling), ``enrich`` (applies the
journal in order: lifecycle, enrichment, numbered changes, publishing; one leader, the
others wait for its lock), and the output roles ``signage``, ``tiles`` and ``push``,
which consume the bus. Every process serves ``/healthz`` and ``/metrics``; processes
that keep the active view (enrich and the output roles) also serve the read API.
Outputs that belong to no role below (third-party plug-ins) run in the ``push`` role.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from lalert.bus.registry import is_shared
from lalert.config import Config

log = logging.getLogger(__name__)

ROLES = ("ingest", "poller", "enrich", "signage", "tiles", "push")
ROLE_OUTPUTS: dict[str, frozenset[str]] = {
    "signage": frozenset({"signage"}),
    "tiles": frozenset({"tiles", "map", "feeds"}),
    "push": frozenset({"webhook", "webpush", "mqtt", "sse", "subscriptions"}),
}
_NAMED = frozenset().union(*ROLE_OUTPUTS.values())


@dataclass(frozen=True)
class Plan:
    roles: frozenset[str] | None  # None: everything (lalert run)
    mode: str  # lalert.pipeline.MODES

    @property
    def ingest(self) -> bool:
        return self.roles is None or "ingest" in self.roles

    @property
    def poller(self) -> bool:
        return self.roles is None or "poller" in self.roles

    @property
    def desk(self) -> bool:
        return self.roles is None

    def wants_output(self, name: str) -> bool:
        if self.roles is None:
            return True
        for role in self.roles & ROLE_OUTPUTS.keys():
            if name in ROLE_OUTPUTS[role] or (role == "push" and name not in _NAMED):
                return True
        return False


PLAN = web.AppKey("lalert.plan", Plan)


def plan(config: Config, roles: frozenset[str] | None) -> Plan:
    if roles is None:
        return Plan(None, "all")
    unknown = roles - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown role(s) {sorted(unknown)}; roles: {', '.join(ROLES)}")
    if not is_shared(config.bus):
        raise ValueError("workers need a bus other processes can read: set bus = "
                         "\"redis://…\" (LALERT_BUS); the in-memory bus lives in one process "
                         "(use lalert run)")
    if "enrich" in roles:
        mode = "apply"
    elif roles & ROLE_OUTPUTS.keys():
        mode = "follow"
    else:
        mode = "ingest"
    return Plan(frozenset(roles), mode)


async def lead(pipeline: Any, interval: float = 0.5) -> Any:
    """Hold the applier's leader lock, waiting while another process holds it."""
    lock = pipeline.store.leader("lalert-apply")
    waited = False
    while not lock.try_acquire():
        if not waited:
            log.info("another process applies the journal; standing by")
            waited = True
        await asyncio.sleep(interval)
    if waited:
        log.info("took over applying the journal")
    return lock


def sync_geo(url: str, geo: Any) -> None:
    """Copy the loaded geodata into PostGIS (GIS tables; ``shelters_near`` queries them)."""
    from lalert.store.pggeo import sync_geo as copy_geo

    try:
        log.info("geodata copied to PostGIS: %s", copy_geo(url, geo))
    except Exception:  # the daemon works without them; say so
        log.exception("copying geodata to PostGIS failed")
