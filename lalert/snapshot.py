"""The active set of a home, rebuilt from its journal without a running daemon.

Static exports (``lalert signage export``, ``lalert tiles export``) need what the
daemon would show. The journal is the record (state.sqlite keeps no enriched bodies),
so this replays it read-only through the same lifecycle and enrichment the daemon
uses; it is safe to run beside a live daemon.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lalert.bus import ActiveView
from lalert.config import Config
from lalert.lifecycle import Lifecycle, parse_time
from lalert.model import Alert
from lalert.parsers import ParseError
from lalert.pipeline import DEMO_SOURCE, fallback_enrich, journaled_alerts, load_enricher, timeless
from lalert.store import Journal, store_paths
from lalert.store.codec import decode_alerts
from lalert.store.registry import open_store
from lalert.store.state import key_str


def _alerts(row: dict[str, Any], journal: Journal, config: Config) -> list[Alert]:
    alerts = decode_alerts(row["alerts"])
    if alerts is None:
        raw = journal.raw(row["id"])
        if raw is None:
            return []
        try:
            alerts = journaled_alerts(raw, source=row["source"], sender=row["sender"] or "journal",
                                      max_bytes=config.max_message_bytes)
        except ParseError:
            return []
    return timeless(alerts) if row["source"] == DEMO_SOURCE else alerts


def active_view(config: Config, geo: Any = None, *, now: datetime | None = None) -> ActiveView:
    """An ``ActiveView`` (the outputs' ``StateView``) of what is in force at ``now``."""
    view = ActiveView()
    store = open_store(config.store, config.home)  # sqlite files or PostgreSQL
    if store.name == "sqlite" and not store_paths(config.store, config.home).journal.is_file():
        view.bump()
        return view
    lc = Lifecycle(lifetimes=config.lifetimes or None)
    journal = store.reader()
    try:
        for row in journal.iter_accepted():
            at = parse_time(row["received_at"]) or datetime.now(UTC)
            for a in _alerts(row, journal, config):
                lc.apply(a, now=at)
    finally:
        journal.close()
    lc.expire(now or datetime.now(UTC))
    enrich = load_enricher()
    if geo is not None and hasattr(geo, "shelter_links"):
        from lalert.store.shelter_links import load_links

        geo.shelter_links = load_links(config.home)
    seq = 0
    for drill in (False, True):
        for key, alert in lc.active_items(drills=drill):
            seq += 1
            if enrich is not None and geo is not None:
                enriched = enrich(alert, geo)
            else:
                enriched = fallback_enrich(alert)
            view.put(key_str(key), enriched, drill, seq)
    view.bump()
    return view
