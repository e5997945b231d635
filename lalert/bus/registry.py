"""Buses by URL scheme: ``memory`` (default, in-process) or ``redis://…`` (Redis Streams).

Mirrors ``lalert.outputs.registry``: built-ins here, third-party buses under the
``lalert.buses`` entry-point group by scheme. Every bus has the methods of
``lalert.bus.memory.Bus``; ``shared`` says whether processes other than this one see
what it carries (``lalert worker`` needs a shared bus).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

log = logging.getLogger(__name__)


def memory_bus(url: str) -> Any:
    from lalert.bus.memory import Bus

    return Bus()


def redis_bus(url: str) -> Any:
    try:
        from lalert.bus.redis import RedisBus
    except ImportError as exc:  # redis is an optional extra
        raise ValueError(f"bus {url!r} needs redis>=5: pip install 'lalert[redis]' ({exc})") \
            from None
    return RedisBus.from_url(url)


BUILTIN: dict[str, Callable[[str], Any]] = {
    "memory": memory_bus,
    "redis": redis_bus,
    "rediss": redis_bus,
    "unix": redis_bus,
}


def scheme(url: str) -> str:
    return (url or "memory").split(":", 1)[0].lower()


def available() -> dict[str, Callable[[str], Any]]:
    found = dict(BUILTIN)
    for ep in entry_points(group="lalert.buses"):
        try:
            found[ep.name] = ep.load()
        except Exception as exc:  # a broken plug-in must not stop the daemon
            log.warning("bus %s (%s) cannot be loaded: %s", ep.name, ep.value, exc)
    return found


def open_bus(url: str) -> Any:
    """The bus named by ``url`` (``memory`` or ``redis://host:port/db?stream=…``)."""
    avail = available()
    factory = avail.get(scheme(url))
    if factory is None:
        raise ValueError(f"bus {url!r}: unknown scheme; available: {sorted(avail)}")
    return factory(url or "memory")


def is_shared(url: str) -> bool:
    return scheme(url) != "memory"
