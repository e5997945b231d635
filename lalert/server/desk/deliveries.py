"""What the desk shows of push deliveries (``/desk/deliveries``), and its "retry now".

Per channel (webhook, Web Push, MQTT) the deliveries by state; a filtered list of recent
rows with the alert's title, the recipient (masked), the attempts, the last result and the
next retry; one delivery's full attempt log. Everything is read through the daemon's
``lalert.store.backends.Backends`` (``<home>/push.sqlite``, or the shared PostgreSQL
tables); the desk never creates the SQLite file, so a daemon without push outputs shows an
empty page instead of an empty database.

Recipients are masked because they can be credentials: a webhook URL may carry
``user:pass@`` or ``?token=…``, and the path of a Web Push endpoint *is* the subscriber's
push token. MQTT rows name a topic filter, which is configuration, not a secret.

Blocking reads (SQLite) run in a worker thread; "retry now" runs on the event loop because
it hands the job to the running output's dispatcher, which lives there.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from lalert.storage import PushDeliveries
from lalert.store.backends import Backends

CHANNELS = ("webhook", "webpush", "mqtt")
STATES = ("pending", "retrying", "sent", "dead")
LIMIT = 100
JST = timezone(timedelta(hours=9), "JST")
_TOKENISH = re.compile(r"(?=.*\d)(?=.*[A-Za-z])")


def stamp(ts: float | None) -> str:
    """Epoch seconds → ``2026-07-03 17:00:05 JST`` (seconds matter in an attempt log)."""
    if not ts:
        return "—"
    return datetime.fromtimestamp(ts, JST).strftime("%Y-%m-%d %H:%M:%S JST")


def _mask_segment(seg: str) -> str:
    """A path segment that looks like a token (long, or letters mixed with digits) is cut
    to a short prefix; words such as ``hooks`` or ``v1`` stay readable."""
    if len(seg) >= 20:
        return seg[:4] + "…"
    if len(seg) >= 8 and _TOKENISH.match(seg):
        return "…"
    return seg


def mask_url(url: str) -> str:
    """A recipient URL safe to show: no user or password, query values and token-like
    path segments hidden, no fragment. Enough left to tell endpoints apart."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "…"
    if not parts.scheme or not parts.hostname:
        return "…"
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = ("***@" if parts.username or parts.password else "") + host + (
        f":{port}" if port else "")
    path = "/".join(_mask_segment(s) for s in parts.path.split("/"))
    query = "&".join(f"{k}=***" for k, _ in parse_qsl(parts.query, keep_blank_values=True))
    return f"{parts.scheme}://{netloc}{path}" + (f"?{query}" if query else "")


def recipient(channel: str, sub_id: str, subs: Any) -> tuple[str, bool]:
    """(what to show as the recipient, whether the subscription still exists)."""
    if channel == "mqtt":
        op, _, topic = sub_id.partition(":")
        return (f"{op} {topic}" if topic else sub_id), True
    sub = subs.get(sub_id) if subs is not None else None
    if sub is None:
        return "", False
    url = sub.target.get("url") or sub.target.get("endpoint") or ""
    return mask_url(str(url)), True


def last_result(status: int | None, error: str | None) -> str:
    """``HTTP 500``, an error text, or both (once: the webhook's error is often the status)."""
    parts = [f"HTTP {status}"] if status else []
    if error and error not in parts:
        parts.append(error)
    return " · ".join(parts)


def row_view(r: dict[str, Any], titles: dict[int, str], subs: Any) -> dict[str, Any]:
    target, exists = recipient(r["channel"], r["sub_id"], subs)
    return {
        **r, "title": titles.get(r["seq"], ""), "target": target, "sub_exists": exists,
        "updated": stamp(r["updated_at"]),
        "next": stamp(r["next_at"]) if r["state"] == "retrying" else "—",
        "last": last_result(r["last_status"], r["last_error"]),
    }


def counts(store: PushDeliveries | None) -> dict[str, dict[str, int]]:
    """channel → state → deliveries, every channel and state present (zeros included)."""
    out = {ch: dict.fromkeys(STATES, 0) for ch in CHANNELS}
    if store is None:
        return out
    for ch in CHANNELS:
        for st, n in store.states(ch).items():
            out[ch][st] = n
    return out


def listing(stores: Backends, channel: str, state: str, limit: int = LIMIT) -> dict[str, Any]:
    """Context of the deliveries page (blocking; run it in a thread)."""
    store = stores.existing_push()
    rows: list[dict[str, Any]] = []
    if store is not None:
        raw = store.deliveries(channel=channel or None, state=state or None, limit=limit)
        titles = store.change_titles(r["seq"] for r in raw)
        subs = stores.existing_subscriptions()
        rows = [row_view(r, titles, subs) for r in raw]
    return {"has_store": store is not None, "counts": counts(store), "rows": rows,
            "limit": limit}


def detail(stores: Backends, delivery_id: str) -> dict[str, Any] | None:
    """One delivery with its attempt log, or None (blocking; run it in a thread)."""
    store = stores.existing_push()
    row = store.delivery(delivery_id) if store is not None else None
    if store is None or row is None:
        return None
    view = row_view(row, store.change_titles([row["seq"]]),
                    stores.existing_subscriptions())
    attempts = [{**a, "time": stamp(a["at"]),
                 "duration": f"{a['ms']:.0f} ms" if a["ms"] is not None else "—"}
                for a in store.attempts(delivery_id)]
    return {"d": view, "attempts": attempts}


def retry(stores: Backends, delivery_id: str) -> str | None:
    """Re-queue a dead delivery: ``"queued"`` when the channel's running dispatcher took it,
    ``"later"`` when no output runs it now (it resumes as pending at the next start), None
    when it is not a dead delivery. Call on the event loop (the dispatcher's)."""
    from lalert.outputs import subscriptions_routes as sroutes

    store = stores.existing_push()
    job = store.requeue(delivery_id) if store is not None else None
    if job is None:
        return None
    dispatcher = getattr(sroutes.live(stores.home, job.channel), "dispatcher", None)
    if dispatcher is None:
        return "later"
    if not getattr(store, "shared", False):  # shared: held by nobody, a worker claims it
        dispatcher.submit([job])
    return "queued"
