"""Outputs by name, from the ``lalert.outputs`` entry-point group (built-ins included)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import entry_points

from lalert.outputs.base import Output

log = logging.getLogger(__name__)


def available() -> dict[str, Callable[[], Output]]:
    """Every installed output factory by name; a broken plug-in is logged and skipped."""
    found: dict[str, Callable[[], Output]] = {}
    for ep in entry_points(group="lalert.outputs"):
        try:
            found[ep.name] = ep.load()
        except Exception as exc:  # a third-party plug-in must not stop the daemon
            log.warning("output %s (%s) cannot be loaded: %s", ep.name, ep.value, exc)
    return found


def create(names: list[str]) -> list[Output]:
    """Instantiate the outputs named in configuration, in that order."""
    avail = available()
    missing = [n for n in names if n not in avail]
    if missing:
        raise ValueError(f"unknown output(s) {missing}; installed: {sorted(avail)}")
    return [avail[n]() for n in names]
