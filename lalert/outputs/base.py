"""The one small interface every output implements, built-in or third-party.

Outputs subscribe to alert changes from the bus, never call each other or the server,
and may contribute read-only HTTP routes that the server mounts. Built-ins are
registered through the same entry-point group (``lalert.outputs``) as plug-ins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from lalert.changes import AlertChange
from lalert.model import EnrichedAlert
from lalert.storage import OutputStores

if TYPE_CHECKING:  # pragma: no cover
    from aiohttp import web

class StateView(Protocol):
    """Read-only view of the active alerts the daemon gives to outputs."""

    @property
    def version(self) -> int:
        """Grows on every change; outputs key their render caches on it."""

    def active(self, *, drills: bool = False) -> list[EnrichedAlert]:
        """Active alerts, most severe first; drills only when asked."""

    def get(self, alert_id: str) -> EnrichedAlert | None: ...

    def seq_of(self, alert_id: str) -> int | None:
        """The seq of the change that put this alert in force (None: not in force)."""


class Outbox(Protocol):
    """Durable record of what an output did for each change (resume, never repeat)."""

    def is_done(self, output: str, key: str) -> bool: ...

    def record(self, output: str, key: str, state: str, detail: str = "") -> None:
        """state: pending | sent | retrying | dead | skipped."""


@dataclass
class OutputContext:
    """What the daemon hands an output at start. ``geo`` is a ``lalert.geo.GeoData``.

    ``stores`` is the storage push outputs keep deliveries and subscriptions in (chosen by
    the daemon from its store URL); ``verify_token`` names the holder of a bearer token the
    daemon accepts (or None), for routes that need one without importing the server.
    """

    name: str
    config: dict[str, Any]
    home: Path
    state: StateView
    outbox: Outbox | None = None
    geo: Any = None
    base_url: str = "http://127.0.0.1:8080"
    settings: dict[str, Any] = field(default_factory=dict)
    stores: OutputStores | None = None
    verify_token: Callable[[str], str | None] | None = None

    def storage(self) -> OutputStores:
        """``stores``, or a clear error for an output started without any."""
        if self.stores is None:
            raise RuntimeError(f"output {self.name} needs storage (OutputContext.stores)")
        return self.stores


@runtime_checkable
class Output(Protocol):
    name: str

    async def start(self, ctx: OutputContext) -> None: ...

    async def handle(self, change: AlertChange) -> None:
        """Called once per change in ``seq`` order; must be idempotent per ``seq``."""

    def routes(self) -> list[web.AbstractRouteDef]:
        """Read-only routes to mount (may be empty)."""

    async def stop(self) -> None: ...


class BaseOutput:
    """Convenience base: no routes, nothing to do on start/stop."""

    name = "base"

    def __init__(self) -> None:
        self.ctx: OutputContext | None = None

    async def start(self, ctx: OutputContext) -> None:
        self.ctx = ctx

    async def handle(self, change: AlertChange) -> None:  # pragma: no cover - default
        return None

    def routes(self) -> list[web.AbstractRouteDef]:
        return []

    async def stop(self) -> None:
        return None
