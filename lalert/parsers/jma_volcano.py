"""Volcanology bodies: 噴火警報・予報 (VFVO50), 火山の状況に関する解説情報 (VFVO51),
噴火に関する火山観測報 (VFVO52), 降灰予報 (VFVO53–55), 噴火速報 (VFVO56).

Each Body/VolcanoInfo section is typed: （対象火山） sections give one hazard per volcano
(its 噴火警戒レベル or 状況 such as 入山危険), （対象市町村等） sections one hazard per
municipality (噴火警報, 火口周辺警報, 降灰 …); （対象市町村の防災対応等） repeats the
same places in words of local action and only adds areas. 噴火警戒レベル is *not* the
evacuation 警戒レベル, so hazards carry no ``level``; it goes into ``details.volcano``.
"""

from __future__ import annotations

import math

from lxml import etree

from lalert.parsers.jma_common import Collector, kid, kids, parse_coordinate, text_at
from lalert.vocab import jma as V


def parse_body(body: etree._Element, col: Collector, *, kind: str, title: str, head: etree._Element) -> None:
    volcano: dict = {}
    for info in kids(body, "VolcanoInfo"):
        itype = info.get("type") or ""
        for item in kids(info, "Item"):
            k = kid(item, "Kind")
            name = text_at(k, "Name") or ""
            code = text_at(k, "Code")
            cond = text_at(k, "Condition")
            state = V.STATES.get(cond or "", "issued" if cond is None else "unknown")
            for areas in kids(item, "Areas"):
                scheme = V.scheme_for_code_type(areas.get("codeType"))
                for a in kids(areas, "Area"):
                    a_code, a_name = col.area_el(a, scheme)
                    if "防災対応" in itype:
                        continue
                    if scheme == "jma.volcano":
                        spec = _volcano_spec(name, itype)
                        if not volcano:
                            volcano = _volcano_details(a, a_code, a_name, name)
                    elif "降灰" in itype:
                        hk, sev = V.ASHFALL_KINDS.get(name, ("ashfall", "Minor"))
                        spec = {"kind": hk, "severity": sev}
                    else:
                        hk, sev = V.volcano_kind(name)
                        spec = {"kind": hk, "severity": sev}
                    if state in ("lifted", "none"):
                        spec["severity"] = "Unknown"
                    if "降灰予報" in itype and scheme == "jma.volcano":
                        continue  # the forecast's own name, not a hazard at the summit
                    col.hazard(a_code, scheme, name=name or spec["kind"], state=state, code=code,
                               state_label=cond, **spec)
    obs = kid(body, "VolcanoObservation")
    if obs is not None:
        plume = kid(obs, "ColorPlume")
        if plume is not None:
            h = kid(plume, "PlumeHeightAboveCrater")
            if h is not None and h.text and h.text.strip():
                volcano["plume_height_above_crater_m"] = _num(h.text)
    if volcano:
        col.details["volcano"] = volcano


def _num(v: str) -> float | None:
    try:
        f = float(v)
    except ValueError:
        return None
    return f if math.isfinite(f) else None  # 'INF' / 'NaN' are not JSON numbers


def _volcano_spec(name: str, itype: str) -> dict:
    level, _rest = V.split_level_name(name)
    if level is not None:
        return {"kind": "volcanic_alert_level", "severity": V.VOLCANO_LEVEL_SEVERITY.get(level, "Unknown")}
    if "噴火速報" in itype or "観測報" in itype:
        kind, sev = V.volcano_kind(name)
        return {"kind": kind, "severity": sev}
    if "警戒" in name:
        return {"kind": "volcano_status", "severity": "Severe"}
    if "危険" in name:
        return {"kind": "volcano_status", "severity": "Moderate"}
    return {"kind": "volcano_status", "severity": "Minor"}


def _volcano_details(area: etree._Element, code: str | None, name: str | None, kind_name: str) -> dict:
    level, _ = V.split_level_name(kind_name)
    d: dict = {"name": name, "code": code, "level": level, "status": kind_name or None}
    for c in kids(area, "Coordinate"):
        coord = parse_coordinate(c.text)
        if coord:
            d.update(coord)
            break
    return d
