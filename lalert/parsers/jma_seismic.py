"""Seismology bodies: 緊急地震速報 (VXSE43–45), 震度速報 / 震源 / 震源・震度 (VXSE51–53),
地震の活動状況等 (VXSE56), 津波 (VTSE41/51/52) and 南海トラフ (VYSE50–52).

Seismic intensity per area is a hazard of kind ``seismic_intensity`` named like
'震度5弱' (code '5-'), at the 細分区域 level (jma.eq_region) and, where the telegram
gives it, per municipality (jma.city); severity follows the intensity
(``vocab.jma.intensity_severity``). Intensities have no 警戒レベル. Tsunami categories
are hazards per 津波予報区; the hypocentre, magnitude and maximum intensity go to
``details``.
"""

from __future__ import annotations

import math

from lxml import etree

from lalert.parsers.common import zen2han
from lalert.parsers.jma_common import (
    Collector,
    kid,
    kids,
    max_severity,
    parse_coordinate,
    scan,
    text_at,
    tx,
    walk,
)
from lalert.vocab import jma as V


def parse_body(body: etree._Element, col: Collector, *, kind: str, title: str, head: etree._Element) -> None:
    for eq in kids(body, "Earthquake"):
        _earthquake(eq, col)
        break
    intensity = kid(body, "Intensity")
    if intensity is not None:
        fc = kid(intensity, "Forecast")
        if fc is not None:
            _eew_forecast(fc, col)
        obs = kid(intensity, "Observation")
        if obs is not None:
            _observation(obs, col)
    tsunami = kid(body, "Tsunami")
    if tsunami is not None:
        _tsunami(tsunami, col)
    for info in kids(body, "EarthquakeInfo"):
        _earthquake_info(info, col, head)
    if kind == "eew":
        col.details["eew"] = {
            "warning": "警報" in title,
            "final": _has_child(body, "NextAdvisory") and "最終" in (text_at(body, "NextAdvisory") or ""),
        }


def _has_child(el: etree._Element, name: str) -> bool:
    return kid(el, name) is not None


def _number(el: etree._Element | None) -> float | None:
    v = leaf_text(el) if el is not None else None
    if not v:
        return None
    try:
        f = float(v)
    except ValueError:
        return None
    return None if math.isnan(f) else f


def _earthquake(eq: etree._Element, col: Collector) -> None:
    hypo_area = walk(eq, "Hypocenter", "Area")
    d: dict = {"origin_time": text_at(eq, "OriginTime")}
    if hypo_area is not None:
        name = text_at(hypo_area, "Name")
        code = text_at(hypo_area, "Code")
        hypo: dict = {"name": name, "code": code}
        for c in kids(hypo_area, "Coordinate"):
            coord = parse_coordinate(leaf_text(c))
            if coord:
                hypo.update(coord)
                break
        mark = text_at(hypo_area, "NameFromMark")
        if mark:
            hypo["name_from_mark"] = mark
        d["hypocenter"] = hypo
        col.area(code, name, "jma.other")
    mag = kid(eq, "Magnitude")
    if mag is not None:
        d["magnitude"] = _number(mag)
        d["magnitude_label"] = mag.get("description")
    col.details["earthquake"] = d


def leaf_text(el: etree._Element) -> str | None:
    return el.text.strip() if el.text and el.text.strip() else None


def _code_types(section: etree._Element) -> dict[str, str]:
    out: dict[str, str] = {}
    for t in kids(kid(section, "CodeDefine"), "Type"):
        if t.get("xpath") and t.text:
            out[t.get("xpath")] = t.text.strip()
    return out


def _intensity_name(frm: str | None, to: str | None) -> tuple[str, str | None]:
    """'5-','5-' → ('震度5弱', '5-'); '5-','over' → ('震度5弱以上', '5-'); '3','4' → ('震度3～4', '4')."""
    f = V.INTENSITY_NAMES.get(frm or "", frm or "不明")
    if to == "over":
        return f + "以上", frm
    if to is None or to == frm:
        return f, frm
    t = V.INTENSITY_NAMES.get(to, to)
    return f"{f}～{t.removeprefix('震度')}", to


def _eew_forecast(fc: etree._Element, col: Collector) -> None:
    ctypes = _code_types(fc)
    pref_scheme = V.scheme_for_code_type(ctypes.get("Pref/Code"))
    area_scheme = V.scheme_for_code_type(ctypes.get("Pref/Area/Code"), "jma.eq_region")
    fi = kid(fc, "ForecastInt")
    name, code = _intensity_name(text_at(fi, "From"), text_at(fi, "To"))
    d: dict = {"max_intensity": code, "max_intensity_name": name if fi is not None else None}
    lg = kid(fc, "ForecastLgInt")
    if lg is not None:
        d["max_lg_intensity"] = text_at(lg, "To") or text_at(lg, "From")
    col.details.setdefault("earthquake", {}).update(d)
    for pref in kids(fc, "Pref"):
        col.area_el(pref, pref_scheme)
        for a in kids(pref, "Area"):
            d = scan(a)
            code_a = col.area_fields(d, area_scheme)
            fd = scan(d.get("ForecastInt"))
            iname, icode = _intensity_name(tx(fd.get("From")), tx(fd.get("To")))
            cat_name = text_at(d.get("Category"), "Kind", "Name")
            sev = V.intensity_severity(icode)
            if cat_name and "警報" in cat_name and sev in ("Minor", "Moderate", "Unknown"):
                sev = "Severe"  # an EEW 警報 area is one where strong shaking is expected
            col.hazard(
                code_a, area_scheme, "seismic_intensity", iname, "issued",
                code=icode, state_label=cat_name or tx(d.get("Condition")), severity=sev,
            )


def _observation(obs: etree._Element, col: Collector) -> None:
    ctypes = _code_types(obs)
    pref_scheme = V.scheme_for_code_type(ctypes.get("Pref/Code"), "jma.eq_pref")
    area_scheme = V.scheme_for_code_type(ctypes.get("Pref/Area/Code"), "jma.eq_region")
    city_scheme = V.scheme_for_code_type(ctypes.get("Pref/Area/City/Code"), "jma.city")
    maxint = text_at(obs, "MaxInt")
    eqd = col.details.setdefault("earthquake", {})
    eqd["max_intensity"] = maxint
    eqd["max_intensity_name"] = V.INTENSITY_NAMES.get(maxint or "")
    for pref in kids(obs, "Pref"):
        col.area_el(pref, pref_scheme)
        for a in kids(pref, "Area"):
            d = scan(a)
            code_a = col.area_fields(d, area_scheme)
            _intensity_hazard(d, code_a, area_scheme, col)
            for city in kids(a, "City"):
                dc = scan(city)
                code_c = col.area_fields(dc, city_scheme)
                _intensity_hazard(dc, code_c, city_scheme, col)


def _intensity_hazard(d: dict[str, etree._Element], code: str | None, scheme: str, col: Collector) -> None:
    mi = tx(d.get("MaxInt"))
    cond = tx(d.get("Condition"))
    if mi is None and cond is None:
        return
    if mi is None:  # 震度５弱以上未入電: strong shaking likely, no report received yet
        col.hazard(code, scheme, "seismic_intensity", zen2han(cond), "issued",
                   state_label=cond, severity="Severe")
        return
    sev = V.intensity_severity(mi)
    if cond and "未入電" in cond:  # observed so far, with a 5弱+ report still missing
        sev = max_severity([sev, "Severe"])
    col.hazard(code, scheme, "seismic_intensity", V.INTENSITY_NAMES.get(mi, f"震度{mi}"), "issued",
               code=mi, state_label=cond or tx(d.get("Revise")), severity=sev)


def _tsunami_word(kname: str | None) -> str | None:
    """The published state word of a tsunami Kind: 発表 / 継続 / 解除 from "大津波警報：発表",
    else the whole name (津波注意報解除, 津波予報（若干の海面変動）, 津波なし)."""
    if kname and "：" in kname:
        return kname.split("：", 1)[1] or kname
    return kname


def _tsunami(ts: etree._Element, col: Collector) -> None:
    best_height: float | None = None
    best_label: str | None = None
    fc = kid(ts, "Forecast")
    if fc is not None:
        scheme = V.scheme_for_code_type(_code_types(fc).get("Item/Area/Code"), "jma.tsunami_region")
        for item in kids(fc, "Item"):
            area = kid(item, "Area")
            if area is None:
                continue
            code, _ = col.area_el(area, scheme)
            cat = kid(item, "Category")
            k = kid(cat, "Kind")
            kname, kcode = text_at(k, "Name"), text_at(k, "Code")
            tkind, state, sev = V.tsunami_kind(kname, kcode)
            last = kid(cat, "LastKind")
            if last is not None and state == "continued":
                lkind = V.tsunami_kind(text_at(last, "Name"), text_at(last, "Code"))[0]
                lr, r = V.TSUNAMI_RANK.get(lkind, 0), V.TSUNAMI_RANK.get(tkind, 0)
                state = "issued" if lr == 0 else "upgraded" if lr < r else "downgraded" if lr > r else state
            col.hazard(code, scheme, tkind, kname or tkind, state, code=kcode,
                       state_label=_tsunami_word(kname), severity=sev)
            h = walk(item, "MaxHeight")
            th = kid(h, "TsunamiHeight")
            if th is not None:
                val = _number(th)
                label = th.get("description")
                if val is not None and (best_height is None or val > best_height):
                    best_height, best_label = val, label
                elif val is None and label and best_label is None:
                    best_label = label  # 巨大 / 高い: height given in words only
    obs_max: float | None = None
    for section in ("Observation", "Estimation"):
        sec = kid(ts, section)
        if sec is None:
            continue
        scheme = V.scheme_for_code_type(_code_types(sec).get("Item/Area/Code"), "jma.tsunami_region")
        for item in kids(sec, "Item"):
            area = kid(item, "Area")
            if area is not None:
                col.area_el(area, scheme)
            for st in kids(item, "Station"):
                val = _number(kid(kid(st, "MaxHeight"), "TsunamiHeight"))
                if val is not None and (obs_max is None or val > obs_max):
                    obs_max = val
    col.details["tsunami"] = {
        "max_height_m": best_height,
        "max_height_label": best_label,
        "observed_max_height_m": obs_max,
    }


def _earthquake_info(info: etree._Element, col: Collector, head: etree._Element) -> None:
    serial = kid(info, "InfoSerial")
    name = text_at(serial, "Name")
    code = text_at(serial, "Code")
    col.details["nankai"] = {"info_kind": text_at(info, "InfoKind"), "name": name, "code": code}
    key = name or text_at(head, "Title") or ""
    for word, sev in V.NANKAI_SEVERITY.items():
        if word in key:
            col.fallback_severity = sev
            break
