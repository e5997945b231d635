"""Meteorology bodies: 気象特別警報・警報・注意報 (VPWW50/53/54 and Ｒ０６ VPWW55–61),
土砂災害警戒情報 (VXWW50), 指定河川洪水予報 (VXKOii), 竜巻注意情報 (VPHW50/51),
記録的短時間大雨情報 (VPOA50) and 気象情報.

A warning telegram repeats the same warnings at four area granularities (府県予報区,
一次細分区域, まとめ地域, 市町村等). All of them become ``areas``; ``hazards`` are taken
from the finest one present (市町村等 normally) so that one place is not counted four
times, plus the 高潮予報区間 section, which covers different ground.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from lalert.parsers.jma_common import (
    Collector,
    kid,
    kids,
    make_hazard,
    max_severity,
    scan,
    text_at,
    tx,
)
from lalert.vocab import jma as V
from lalert.vocab import severity_for_level

# Warning/@type suffixes from finest to coarsest; the first present gives the hazards.
_GRANULARITY = ("（市町村等）", "（市町村等をまとめた地域等）", "（一次細分区域等）", "（発表細分）", "（府県予報区等）")
_EXTRA_HAZARD_TYPES = ("高潮予報区間",)


def parse_body(body: etree._Element, col: Collector, *, kind: str, title: str, head: etree._Element) -> None:
    warnings = list(kids(body, "Warning"))
    for ta in kids(body, "TargetArea"):
        col.area_el(ta, "jma.forecast_area")
    if kind == "river_flood":
        _river(body, warnings, col, head)
        return
    hazard_sections = _hazard_sections(warnings)
    memo: dict[tuple, dict[str, Any]] = {}
    for w in warnings:
        _warning(w, col, w in hazard_sections, memo)


def _wtype(w: etree._Element) -> str:
    return w.get("type") or ""


def _default_scheme(wtype: str) -> str:
    if wtype.endswith("（市町村等）") or wtype == "土砂災害警戒情報":
        return "jma.city"
    if "高潮予報区間" in wtype:
        return "jma.other"
    return "jma.forecast_area"


def _item_areas(item: etree._Element, default: str, col: Collector) -> list[tuple[str | None, str]]:
    """Record an Item's Area (or each Area of its Areas); return their (code, scheme)."""
    out = []
    for a in kids(item, "Area"):
        scheme = V.scheme_for_code_type(a.get("codeType"), default)
        out.append((col.area_el(a, scheme)[0], scheme))
    for areas in kids(item, "Areas"):
        scheme = V.scheme_for_code_type(areas.get("codeType"), default)
        for a in kids(areas, "Area"):
            a_scheme = V.scheme_for_code_type(a.get("codeType"), scheme)
            out.append((col.area_el(a, a_scheme)[0], a_scheme))
    return out


def _hazard_sections(warnings: list[etree._Element]) -> list[etree._Element]:
    chosen: list[etree._Element] = []
    for suffix in _GRANULARITY:
        chosen = [w for w in warnings if _wtype(w).endswith(suffix)]
        if chosen:
            break
    else:
        chosen = [w for w in warnings if not any(x in _wtype(w) for x in _EXTRA_HAZARD_TYPES)]
    chosen += [w for w in warnings if any(x in _wtype(w) for x in _EXTRA_HAZARD_TYPES) and w not in chosen]
    return chosen


def _warning(w: etree._Element, col: Collector, with_hazards: bool, memo: dict[tuple, dict[str, Any]]) -> None:
    """Areas of every Item and, in a hazard section, one hazard per (Kind, area).

    The hot loop of a warning telegram (VPWW54: 200 Items, 300 Kinds). Every lxml
    element touched from Python costs a proxy object (about half the time of this
    loop), so each element is read once: an Item's children in one pass, a Kind's in
    another, and the sections that give areas only never touch their Kinds. A Kind's
    hazard fields are computed once per distinct ``_kind_key`` (the same Kinds repeat
    for every municipality) and copied into one Hazard per area.
    """
    wtype = _wtype(w)
    default = _default_scheme(wtype)
    if wtype.startswith("竜巻注意情報"):
        handler = _TORNADO
    elif wtype.startswith("記録的短時間大雨情報"):
        handler = _RECORD_RAIN
    elif wtype.startswith("土砂災害警戒情報"):
        handler = _landslide_kind
    else:
        handler = _weather_kind
    full = handler is _weather_kind
    hazards = col.hazards
    scheme_for = V.scheme_for_code_type
    for item in w.iterchildren("{*}Item"):
        kinds: list[etree._Element] = []
        direct: list[etree._Element] = []
        groups: list[etree._Element] = []
        if with_hazards:
            for c in item:
                t = c.tag
                if t.__class__ is not str:
                    continue
                n = t[t.rfind("}") + 1 :]
                if n == "Kind":
                    kinds.append(c)
                elif n == "Area":
                    direct.append(c)
                elif n == "Areas":
                    groups.append(c)
        else:
            direct = list(item.iterchildren("{*}Area"))
            groups = list(item.iterchildren("{*}Areas"))
        # Area children first, then each Areas' (the order areas were always recorded in).
        areas: list[tuple[str | None, str]] = []
        for a in direct:
            scheme = scheme_for(a.get("codeType"), default)
            areas.append((_area(a, scheme, col), scheme))
        for g in groups:
            scheme = scheme_for(g.get("codeType"), default)
            for a in g.iterchildren("{*}Area"):
                a_scheme = scheme_for(a.get("codeType"), scheme)
                areas.append((_area(a, a_scheme, col), a_scheme))
        if not areas:
            continue
        for k in kinds:
            key = (handler, *_kind_key(k, full))
            spec = memo.get(key)
            if spec is None:
                spec = memo[key] = handler(*key[1:])
            for code, scheme in areas:
                hazards.append(make_hazard({**spec, "area_code": code, "area_scheme": scheme}))


def _area(a: etree._Element, scheme: str, col: Collector) -> str | None:
    """Record an <Area> (its first Code and first Name); return its code."""
    return col.area_el(a, scheme)[0]


def _kind_key(k: etree._Element, full: bool) -> tuple:
    """What decides a Kind's hazard: (Name, Code, Status, Condition, LastKind present,
    LastKind Name, LastKind Code, Attention then Addition notes), each from the first
    child of that name. The same Kind repeats for every municipality, so the hazard
    fields are computed once per distinct key.

    Only what the handler reads is read: the 土砂災害/竜巻/記録的短時間大雨 handlers
    (``full`` false) use Name, Code and Status, and ``_weather_kind`` looks at LastKind
    only for a lift or a fresh 発表; the rest of the key is then left empty, which gives
    the same hazard.
    """
    name = code = status = cond = last = None
    attention: list[etree._Element] = []
    addition: list[etree._Element] = []
    for c in k:
        t = c.tag
        if t.__class__ is not str:
            continue
        n = t[t.rfind("}") + 1 :]
        if n == "Name":
            if name is None:
                name = c
        elif n == "Code":
            if code is None:
                code = c
        elif n == "Status":
            if status is None:
                status = c
        elif n == "Condition":
            if cond is None:
                cond = c
        elif n == "LastKind":
            if last is None:
                last = c
        elif n == "Attention":
            attention.append(c)
        elif n == "Addition":
            addition.append(c)
    name_t, code_t, status_t = tx(name), tx(code), tx(status)
    if not full:
        return name_t, code_t, status_t, None, False, None, None, ()
    notes: tuple[str, ...] = ()
    if attention or addition:
        notes = tuple(tx(x) or "" for el in (*attention, *addition) for x in el.iterchildren("{*}Note"))
    last_name = last_code = None
    has_last = last is not None
    if has_last and (name_t == "解除" or code_t == "00" or V.STATES.get(status_t or "") == "issued"):
        d = scan(last)
        last_name, last_code = d.get("Name"), d.get("Code")
    elif has_last:
        has_last = False
    return name_t, code_t, status_t, tx(cond), has_last, tx(last_name), tx(last_code), notes


def _sub_kinds(cond: str | None, notes: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    words = cond.replace("，", "、").replace(",", "、").split("、") if cond else []
    for word in (*words, *notes):
        sk = V.SUB_KINDS.get(word.strip())
        if sk and sk not in out:
            out.append(sk)
    return tuple(out)


def _spec(kind: str, name: str, state: str, *, code: str | None = None, state_label: str | None = None,
          sub_kinds: tuple[str, ...] = (), level: int | None = None, severity: str = "Unknown") -> dict[str, Any]:
    return {
        "kind": kind, "name": name, "state": state, "code": code, "state_label": state_label,
        "sub_kinds": sub_kinds, "level": level, "severity": severity,
    }


def _weather_kind(name, code, status, cond, has_last, last_name, last_code, notes) -> dict[str, Any]:
    state = V.STATES.get(status or "", "unknown")
    if name is None and code is None:
        # 発表警報・注意報はなし: the area is named, nothing is in force there.
        return _spec("no_warning", status or "なし", state if status else "none", state_label=status)
    if name == "解除" or code == "00":
        # Older telegrams name a lift "解除" and say what was lifted only in LastKind.
        wk = V.warning_kind(last_name, last_code)
        return _spec(wk[0], last_name or name or "解除", "lifted", code=code, state_label=status or "解除")
    kind, rank, family, named_level = V.warning_kind(name, code)
    if state == "issued" and has_last:
        lkind, lrank, lfamily, _ = V.warning_kind(last_name, last_code)
        if lfamily == family and lkind != kind:
            state = "upgraded" if lrank < rank else "downgraded" if lrank > rank else state
    sub = _sub_kinds(cond, notes)
    base = V.split_level_name(name or V.WARNING_CODES.get(code or "", ""))[1]
    level = V.warning_level(base, named_level, sub)
    sev = max_severity([severity_for_level(level), V.severity_for_class(rank)])
    return _spec(
        kind, name or V.WARNING_CODES.get(code or "", code or "?"), state, code=code,
        state_label=status, sub_kinds=sub, level=level, severity=sev,
    )


def _landslide_kind(name, code, status, cond, has_last, last_name, last_code, notes) -> dict[str, Any]:
    state = V.STATES.get(status or "", "unknown")
    alerting = (code == "3" or name == "警戒") and state not in ("lifted", "none")
    if code == "0" or name == "なし":
        state = "none"
    elif code == "1" or name == "解除":
        state = "lifted"
    level = V.LANDSLIDE_ALERT_LEVEL if alerting or state == "lifted" else None
    label = status if name in (None, "警戒") or name == status else f"{name}（{status}）" if status else name
    return _spec(
        "landslide_alert", "土砂災害警戒情報", state, code=code, state_label=label,
        level=level, severity=severity_for_level(level) if alerting else "Unknown",
    )


def _simple_kind(kind: str, severity: str):
    def spec(name, code, status, cond, has_last, last_name, last_code, notes) -> dict[str, Any]:
        state = V.STATES.get(status or "", "issued" if status is None else "unknown")
        if name == "なし":
            state = "none"
        if name == "解除":
            state = "lifted"
        return _spec(
            kind, name or kind, state, code=code, state_label=status,
            severity=severity if state not in ("lifted", "none") else "Unknown",
        )

    spec.__qualname__ = f"simple_kind[{kind}]"
    return spec


_TORNADO = _simple_kind("tornado_alert", "Severe")
_RECORD_RAIN = _simple_kind("record_short_time_rain", "Severe")


# --- 指定河川洪水予報 --------------------------------------------------------------------


def _river(body: etree._Element, warnings: list[etree._Element], col: Collector, head: etree._Element) -> None:
    """Hazards per 予報区域 (from the Headline) and per 浸水想定地区 municipality (Body)."""
    main: dict | None = None
    rivers: list[str] = []
    headline = kid(head, "Headline")
    for info in kids(headline, "Information"):
        itype = info.get("type") or ""
        for item in kids(info, "Item"):
            k = kid(item, "Kind")
            name = text_at(k, "Name")
            if name is None:
                continue
            rkind, level, state = V.river_kind(name)
            spec = dict(
                kind=rkind, name=name, state=state, code=text_at(k, "Code"),
                state_label=text_at(k, "Condition"), level=level,
                severity=severity_for_level(level) if state != "lifted" else "Unknown",
            )
            if itype.endswith("（予報区域）"):
                main = main or spec
                for code, scheme in _item_areas(item, "jma.river", col):
                    col.hazard(code, scheme, **spec)
            elif itype.endswith("（河川）"):
                for areas in kids(item, "Areas"):
                    rivers += [n for a in kids(areas, "Area") if (n := text_at(a, "Name"))]
    if main is None:
        title = text_at(head, "Title") or ""
        rkind, level, state = V.river_kind(title[title.find("氾濫"):] if "氾濫" in title else title)
        main = dict(kind=rkind, name=title or "指定河川洪水予報", state=state, level=level,
                    severity=severity_for_level(level))
    cities: set[str] = set()
    for w in warnings:
        for item in kids(w, "Item"):
            k = kid(item, "Kind")
            kname = text_at(k, "Name")
            for prop in kids(k, "Property"):
                if text_at(prop, "Type") == "主文":
                    col.text(text_at(prop, "Text"))
            for areas in kids(item, "Areas"):
                scheme = V.scheme_for_code_type(areas.get("codeType"), "jma.river")
                for a in kids(areas, "Area"):
                    a_scheme = V.scheme_for_code_type(a.get("codeType"), scheme)
                    if kname and kname.startswith("浸水想定地区"):
                        city_code, city = text_at(a, "CityCode"), text_at(a, "City")
                        if city_code and city_code.strip("0") and city_code not in cities:
                            cities.add(city_code)
                            col.area(city_code, city, "jma.city")
                            col.hazard(city_code, "jma.city", **main)
                        if text_at(a, "Code"):
                            col.area_el(a, a_scheme)
                    else:
                        col.area_el(a, a_scheme)
    col.details["river"] = {"names": rivers, "forecast": main["name"], "level": main.get("level")}
