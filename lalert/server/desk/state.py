"""The console's parts kept on the app (``DESK``): templates, sessions, throttles, previews."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from lalert.httpcache import Rendered
from lalert.server import sessions
from lalert.server.desk.preview import PreviewStore

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Desk:
    """The console's parts, kept on the app under ``DESK``."""

    home: Path
    env: jinja2.Environment
    middleware: Any
    users: list[sessions.DeskUser]
    static: dict[str, Rendered]
    throttle: sessions.LoginThrottle = field(default_factory=sessions.LoginThrottle)
    name_throttle: sessions.LoginThrottle = field(default_factory=lambda: sessions.LoginThrottle(
        failures=sessions.LOGIN_FAILURES_PER_NAME))
    registry: sessions.SessionRegistry | None = None
    trusted: tuple[Any, ...] = ()
    pending: PreviewStore = field(default_factory=PreviewStore)
    region: tuple[Any, Any] | None = None  # (geodata, RegionFilter) built for it


DESK = web.AppKey("lalert.desk", Desk)

