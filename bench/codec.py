"""Codec benchmark: encode / decode 10,000 enriched alerts with ``lalert.codec`` (msgspec)
vs the path it replaced, in the same run (no asserts; figures only).

The old path is re-implemented here as the baseline, as it was before schema 1.1:
the public JSON by a recursive ``dataclasses`` walk (``_plain``) + ``json.dumps`` and a
hand-written ``from_dict``; the store / stream entries by ``pickle`` (which this bench
may use: lalert itself no longer does).

The alerts: every corpus message (``$LALERT_CORPUS/xml``) parsed and enriched with the
demo geodata, plus a fully enriched alert (areas with polygons, footprint, shelters,
hotspots), cycled to 10,000. Median of ``--rounds`` passes.

    python bench/codec.py [--n 10000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pickle
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lalert import codec  # noqa: E402
from lalert.geo.data import demo_geodata  # noqa: E402
from lalert.geo.enrich import enrich  # noqa: E402
from lalert.model import (  # noqa: E402
    Alert,
    Area,
    EnrichedAlert,
    Evacuation,
    Hazard,
    NearbyHotspot,
    NearbyShelter,
    Shelter,
)
from lalert.parsers import ParseError, parse  # noqa: E402

CORPUS = Path(os.environ.get("LALERT_CORPUS", ROOT.parent / "shared" / "corpus"))


# --- the old path (lalert.model before the codec), kept here only as the baseline ----------

_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _plain(obj: Any) -> Any:
    if obj is None or isinstance(obj, (str, int, float)):
        return obj
    names = _FIELD_NAMES.get(type(obj))
    if names is None and dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        names = _FIELD_NAMES[type(obj)] = tuple(f.name for f in dataclasses.fields(obj))
    if names is not None:
        return {n: _plain(getattr(obj, n)) for n in names}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    return obj


def old_to_json(e: EnrichedAlert) -> bytes:
    body = {"schema": "lalert.enriched/1", **_plain(e.alert)}
    body["areas"] = [_plain(a) for a in e.areas] or body["areas"]
    body["footprint"] = e.footprint
    body["bbox"] = list(e.bbox) if e.bbox else None
    body["hazard_tags"] = list(e.hazard_tags)
    body["nearby_shelters"] = [_plain(s) for s in e.shelters]
    body["hotspots"] = [_plain(h) for h in e.hotspots]
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def _old_alert(data: dict[str, Any]) -> Alert:
    data = {k: v for k, v in data.items() if k != "schema"}
    data["areas"] = tuple(Area(**a) for a in data.get("areas", ()))
    data["hazards"] = tuple(Hazard(**{**h, "sub_kinds": tuple(h.get("sub_kinds", ()))})
                            for h in data.get("hazards", ()))
    data["shelters"] = tuple(Shelter(**s) for s in data.get("shelters", ()))
    data["evacuations"] = tuple(Evacuation(**e) for e in data.get("evacuations", ()))
    data["references"] = tuple(data.get("references", ()))
    data["translations"] = tuple(data.get("translations", ()))
    return Alert(**data)


def old_from_json(b: bytes) -> EnrichedAlert:
    data = json.loads(b)
    tail = {"footprint", "bbox", "hazard_tags", "nearby_shelters", "hotspots"}
    alert = _old_alert({k: v for k, v in data.items() if k not in tail})
    return EnrichedAlert(
        alert=alert, areas=alert.areas, footprint=data.get("footprint"),
        bbox=tuple(data["bbox"]) if data.get("bbox") else None,
        hazard_tags=tuple(data.get("hazard_tags", ())),
        shelters=tuple(NearbyShelter(**{**s, "hazards": tuple(s.get("hazards", ()))})
                       for s in data.get("nearby_shelters", ())),
        hotspots=tuple(NearbyHotspot(**h) for h in data.get("hotspots", ())))


MARK = b"lalert-pickle/1\n"


def old_pack(e: EnrichedAlert) -> bytes:
    return MARK + pickle.dumps(e, protocol=pickle.HIGHEST_PROTOCOL)


def old_unpack(b: bytes) -> EnrichedAlert:
    return pickle.loads(b[len(MARK):])


# --- the alerts ----------------------------------------------------------------------------


def enriched_alerts(n: int) -> list[EnrichedAlert]:
    geo = demo_geodata()
    base: list[EnrichedAlert] = []
    for p in sorted((CORPUS / "xml").rglob("*.xml")):
        if "schema" in p.parent.name:
            continue
        try:
            base += [enrich(a, geo) for a in parse(p.read_bytes())]
        except ParseError:
            pass
    full = enrich(Alert(format="jmaxml", id="bench-full", info_type="issue", status="actual",
                        kind="landslide", title="土砂災害警戒情報", raw_sha256="0" * 64,
                        issued_at="2026-07-03T16:40:00+09:00", level=4,
                        areas=(Area("4310000", "jma.city", "熊本市"),),
                        hazards=(Hazard("4310000", "jma.city", "landslide_alert",
                                        "土砂災害警戒情報", "issued"),)), geo)
    base.append(full)
    return [base[i % len(base)] for i in range(n)]


def timed(runs: list[tuple[Callable[[Any], Any], list[Any]]], rounds: int) -> list[float]:
    """Median seconds for one pass of each ``fn`` over its items, the candidates taking
    turns within each round (this machine is shared: load shifts between rounds)."""
    for fn, items in runs:  # warm-up
        for x in items:
            fn(x)
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(rounds):
        for i, (fn, items) in enumerate(runs):
            t0 = time.perf_counter()
            for x in items:
                fn(x)
            times[i].append(time.perf_counter() - t0)
    return [statistics.median(t) for t in times]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    alerts = enriched_alerts(args.n)
    print(f"{len(alerts)} enriched alerts ({len(set(map(id, alerts)))} distinct), "
          f"median of {args.rounds} rounds\n")
    rows = [
        ("public JSON", codec.enriched_json, codec.enriched_from_json, old_to_json, old_from_json),
        ("stored/streamed", codec.pack, codec.unpack_enriched, old_pack, old_unpack),
    ]
    print(f"{'form':<16} {'op':<7} {'codec s':>9} {'old s':>9} {'speed-up':>9}  "
          f"{'codec KB/alert':>14} {'old KB/alert':>13}")
    for form, enc, dec, old_enc, old_dec in rows:
        new_b = [enc(e) for e in alerts]
        old_b = [old_enc(e) for e in alerts]
        size_new = sum(map(len, new_b)) / len(alerts) / 1024
        size_old = sum(map(len, old_b)) / len(alerts) / 1024
        t_enc, t_old_enc = timed([(enc, alerts), (old_enc, alerts)], args.rounds)
        t_dec, t_old_dec = timed([(dec, new_b), (old_dec, old_b)], args.rounds)
        old_label = "(_plain+json)" if form == "public JSON" else "(pickle)"
        print(f"{form:<16} {'encode':<7} {t_enc:9.3f} {t_old_enc:9.3f} "
              f"{t_old_enc / t_enc:8.1f}x  {size_new:14.1f} {size_old:13.1f}  {old_label}")
        print(f"{form:<16} {'decode':<7} {t_dec:9.3f} {t_old_dec:9.3f} "
              f"{t_old_dec / t_dec:8.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
