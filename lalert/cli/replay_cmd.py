"""``lalert replay``: rebuild every derived state from the journal.

Every journaled message with bytes is parsed again (so a parser fix applies to old
messages, and once-rejected messages may now be accepted), run through a fresh
lifecycle with its own receive time, and written as the new active set (enriched
again when the daemon starts). The
journal's raw bytes and receipt records are never changed; its parse columns (outcome,
reason, alerts) are refreshed. The change numbering continues after the old one and
every output's cursor moves to the end, so outputs do not act again on old changes.
With ``--dry-run`` nothing is written and the rebuilt active set is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from lalert.cli.run_cmd import add_common, config_from_args


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("replay", help="rebuild derived state from the journal",
                       description=__doc__.split("\n\n", 1)[1] if __doc__ else None)
    add_common(p)
    p.add_argument("--dry-run", action="store_true", help="print the rebuilt active set only")
    p.add_argument("--json", action="store_true", help="print the active set as JSON")
    p.add_argument("--drills", action="store_true", help="include the drill set in the output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lalert.server.app import HomeLocked, lock_home

    config = config_from_args(args)
    try:
        lock = None if args.dry_run else lock_home(config.home)
    except HomeLocked as exc:
        print(f"lalert: {exc}; stop the daemon before replaying", file=sys.stderr)
        return 2
    try:
        result = replay(config, write=not args.dry_run)
    finally:
        if lock:
            lock.close()
    active = result["active"] + (result["drills"] if args.drills else [])
    if args.json:
        print(json.dumps(result if args.drills else {k: v for k, v in result.items()
                                                      if k != "drills"}, ensure_ascii=False))
    else:
        print(f"replayed {result['messages']} messages: {result['accepted']} accepted, "
              f"{result['rejected']} rejected, {result['duplicate']} duplicate; "
              f"{len(result['active'])} active, {len(result['drills'])} drills"
              + (" (dry run)" if args.dry_run else ""))
        for a in active:
            print(f"  {a}")
    return 0


def replay(config, *, write: bool = True) -> dict:
    """Rebuild the lifecycle (and, if ``write``, state.sqlite) from the journal."""
    from lalert.lifecycle import Lifecycle, parse_time
    from lalert.parsers import ParseError
    from lalert.pipeline import journaled_alerts
    from lalert.store import store_paths
    from lalert.store.codec import encode
    from lalert.store.registry import open_store
    from lalert.store.state import ChangeRow, key_str

    store = open_store(config.store, config.home)
    if store.name == "sqlite" and not store_paths(config.store, config.home).journal.exists():
        return {"messages": 0, "accepted": 0, "rejected": 0, "duplicate": 0, "active": [],
                "drills": []}
    journal = store.journal() if write else store.reader()
    lc = Lifecycle(lifetimes=config.lifetimes or None)
    seen_sha: set[str] = set()
    seen_ids: set[str] = set()
    counts = {"messages": 0, "accepted": 0, "rejected": 0, "duplicate": 0}
    updates = []
    last_id = 0
    for row in journal.iter_all(with_raw=True):
        counts["messages"] += 1
        last_id = row["id"]
        raw = row["raw"]
        if raw is None or row["sha256"] in seen_sha:
            counts["duplicate" if row["outcome"] == "duplicate" else "rejected"] += 1
            continue
        seen_sha.add(row["sha256"])
        try:
            alerts = journaled_alerts(raw, source=row["source"], sender=row["sender"],
                                      max_bytes=config.max_message_bytes)
        except (ParseError, ImportError, ValueError) as exc:
            reason = getattr(exc, "reason", str(exc))
            counts["rejected"] += 1
            updates.append(("rejected", reason, None, None, None, row["id"]))
            continue
        ids = [a.id for a in alerts]
        if all(i in seen_ids for i in ids):
            counts["duplicate"] += 1
            updates.append(("duplicate", f"message id {ids[0]} already received",
                            alerts[0].format, json.dumps(ids), None, row["id"]))
            continue
        seen_ids.update(ids)
        counts["accepted"] += 1
        updates.append(("accepted", None, alerts[0].format, json.dumps(ids),
                        encode(alerts), row["id"]))
        now = parse_time(row["received_at"]) or datetime.now(UTC)
        for a in alerts:
            lc.apply(a, now=now)
    lc.expire(datetime.now(UTC))
    result = {**counts, "active": sorted(a.id for a in lc.active()),
              "drills": sorted(a.id for a in lc.active(drills=True))}
    if not write:
        journal.close()
        return result
    journal.rewrite_outcomes(updates)
    journal.close()
    state = store.state()
    seq = state.reset_for_replay()
    at = datetime.now(UTC).isoformat(timespec="microseconds")
    rows, upserts = [], []
    for drill in (False, True):
        for key, alert in lc.active_items(drills=drill):
            seq += 1
            k = key_str(key)
            rows.append(ChangeRow(seq, at, "new", "replay", k, alert.id, drill, None))
            upserts.append((k, alert.id, drill, seq, b""))  # enriched again on start
    state.commit(changes=rows, upserts=upserts, deletes=[], applied_upto=last_id)
    names = state.cursor_names()
    state.set_cursors({n: seq for n in names})
    state.close()
    return result
