"""How long information that is never cancelled stays in force, from its report time.

JMA lifts warnings explicitly (解除 in the next telegram), but much of what it sends has no
end message at all: an earthquake report, an EEW, a 記録的短時間大雨情報 is simply not
repeated. Without a lifetime such a message would be "in force" for ever. The lifecycle
takes an alert out of force at ``min(valid_until, issued_at + lifetime)``.

Each value says where it comes from: a JMA operating rule (気象庁 "防災情報XMLフォーマット"
解説資料, 気象庁 web pages on each product) where one exists, otherwise a **stated default**
that a desk can change with ``[lifecycle] lifetimes`` (``lalert.config``). ``None`` means
no lifetime: JMA always lifts it explicitly (or the municipality / the CAP sender does).
Keys are the names operators use in configuration; ``lifetime_key`` maps an alert to one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MINUTE, HOUR, DAY = 60, 3600, 86400

LIFETIMES: dict[str, float | None] = {
    # 緊急地震速報 VXSE43/44/45: the last report follows detection within about two
    # minutes and shaking has passed by then. Default 10 minutes.
    "eew": 10 * MINUTE,
    # 震度速報 VXSE51: replaced within minutes by 震源・震度に関する情報. Default 1 hour.
    "seismic_intensity": HOUR,
    # 震源に関する情報 VXSE52: as above, replaced by 震源・震度に関する情報. Default 1 hour.
    "hypocenter": HOUR,
    # 震源・震度に関する情報 VXSE53 (also 遠地地震), 顕著な地震の震源要素更新 VXSE61,
    # 長周期地震動に関する観測情報 VXSE62. Default 6 hours.
    "earthquake": 6 * HOUR,
    # 地震の活動状況等に関する情報 VXSE56, 地震回数に関する情報 VXSE60. Default 1 day.
    "earthquake_activity": DAY,
    # 津波予報（若干の海面変動）alone (VTSE41 with no 警報・注意報 in force): JMA gives a
    # ValidDateTime when it knows one; default 1 day.
    "tsunami_forecast": DAY,
    # 津波警報・注意報 (VTSE41 with a warning or advisory in force): JMA lifts them.
    "tsunami_warning": None,
    # 津波情報 VTSE51 (到達予想時刻・観測) and 沖合の津波観測に関する情報 VTSE52: they
    # accompany warnings and are repeated while the tsunami lasts. Default 1 day.
    "tsunami_info": DAY,
    # 噴火警報・予報 VFVO50: JMA lowers / lifts it explicitly.
    "volcano_warning": None,
    # 火山の状況に関する解説情報 VFVO51. Default 1 day.
    "volcano_commentary": DAY,
    # 噴火に関する火山観測報 VFVO52. Default 3 hours.
    "eruption_observation": 3 * HOUR,
    # 噴火速報 VFVO56: a flash that a 噴火警報 or 観測報 follows. Default 1 hour.
    "eruption_flash": HOUR,
    # 降灰予報（定時）VFVO53: JMA forecasts 18 hours ahead, issued every 3 hours.
    "ashfall_scheduled": 18 * HOUR,
    # 降灰予報（速報）VFVO54: JMA forecasts ash within 1 hour of the eruption.
    "ashfall_quick": HOUR,
    # 降灰予報（詳細）VFVO55: JMA forecasts 6 hours ahead.
    "ashfall_detailed": 6 * HOUR,
    # 推定噴煙流向報 VFVO60. Default 3 hours.
    "plume_direction": 3 * HOUR,
    # 記録的短時間大雨情報 VPOA50: reports one hour of observed / analysed rain; JMA sends
    # a new one while such rain goes on. Default 1 hour.
    "record_rain": HOUR,
    # 竜巻注意情報 VPHW50/51: JMA's rule is about 1 hour from issue (the telegram's own
    # ValidDateTime is used when earlier).
    "tornado": HOUR,
    # 府県・地方・全般気象情報, 台風情報 and the like: replaced by the next issue.
    # Default 1 day.
    "weather_info": DAY,
    # 南海トラフ地震臨時情報 VYSE50 by its keyword. 巨大地震警戒: Cabinet Office guideline
    # (南海トラフ地震の多様な発生形態に備えた防災対応検討ガイドライン): one week of
    # 警戒 then one week of 注意 — 14 days; 巨大地震注意: one week — 7 days.
    "nankai_alert": 14 * DAY,
    "nankai_caution": 7 * DAY,
    # 調査中: JMA announces the result from about 2 hours later. Default 1 day.
    "nankai_investigating": DAY,
    # 調査終了: nothing to do any more. Default 6 hours.
    "nankai_ended": 6 * HOUR,
    # 南海トラフ地震関連解説情報 VYSE51/52. Default 1 day.
    "nankai_explanation": DAY,
    # 北海道・三陸沖後発地震注意情報: Cabinet Office guideline, one week.
    "hokkaido_sanriku_caution": 7 * DAY,
    # Explicitly lifted by JMA: 気象特別警報・警報・注意報, 土砂災害警戒情報, 指定河川洪水予報.
    "weather_warning": None,
    "landslide": None,
    "river_flood": None,
    # Municipal and CAP messages carry their own end (解除, Cancel, expires).
    "commons": None,
    "cap": None,
}

_BY_TYPE: dict[str, str] = {
    "VXSE43": "eew", "VXSE44": "eew", "VXSE45": "eew",
    "VXSE51": "seismic_intensity", "VXSE52": "hypocenter", "VXSE53": "earthquake",
    "VXSE61": "earthquake", "VXSE62": "earthquake",
    "VXSE56": "earthquake_activity", "VXSE60": "earthquake_activity",
    "VTSE51": "tsunami_info", "VTSE52": "tsunami_info",
    "VFVO50": "volcano_warning", "VFVO51": "volcano_commentary", "VFVO52": "eruption_observation",
    "VFVO53": "ashfall_scheduled", "VFVO54": "ashfall_quick", "VFVO55": "ashfall_detailed",
    "VFVO56": "eruption_flash", "VFVO60": "plume_direction",
    "VPOA50": "record_rain", "VPHW50": "tornado", "VPHW51": "tornado",
}
_BY_KIND: dict[str, str] = {
    "eew": "eew", "earthquake": "earthquake", "earthquake_activity": "earthquake_activity",
    "record_rain": "record_rain", "tornado": "tornado", "weather_info": "weather_info",
    "ashfall": "ashfall_detailed", "weather_warning": "weather_warning", "landslide": "landslide",
    "river_flood": "river_flood",
}
_NANKAI = (("巨大地震警戒", "nankai_alert"), ("巨大地震注意", "nankai_caution"),
           ("調査中", "nankai_investigating"), ("調査終了", "nankai_ended"),
           ("解説情報", "nankai_explanation"), ("後発地震注意", "hokkaido_sanriku_caution"))
_TSUNAMI_WARNINGS = frozenset({"major_tsunami_warning", "tsunami_warning", "tsunami_advisory"})


def lifetime_key(*, format: str, kind: str, type_code: str | None, title: str,
                 in_force_hazards: Iterable[str] = ()) -> str | None:
    """The ``LIFETIMES`` key of a message (None: unknown, no lifetime).

    ``in_force_hazards`` are the kinds of its hazards still in force: a VTSE41 is a
    津波予報 (one-shot) only when no 警報・注意報 is in force in it.
    """
    if format != "jmaxml":
        return format if format in LIFETIMES else None
    if kind == "nankai":
        for word, key in _NANKAI:
            if word in title:
                return key
        return "nankai_explanation"
    if kind == "tsunami" and type_code not in ("VTSE51", "VTSE52"):
        return "tsunami_warning" if _TSUNAMI_WARNINGS & set(in_force_hazards) else "tsunami_forecast"
    if type_code in _BY_TYPE:
        return _BY_TYPE[type_code]
    if kind == "volcano":
        return "volcano_warning" if "警報" in title or "予報" in title else "volcano_commentary"
    return _BY_KIND.get(kind)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT = {"s": 1, "m": MINUTE, "h": HOUR, "d": DAY, None: 1}


def parse_duration(value: Any) -> float | None:
    """Seconds from ``3600``, ``"90m"``, ``"6h"``, ``"7d"``; None for ``"none"`` / false / 0."""
    if value is None or value is False or (isinstance(value, str) and value.strip().lower() in ("none", "")):
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError(f"not a duration: {value!r} (use seconds or e.g. '90m', '6h', '7d')")
        seconds = float(m.group(1)) * _UNIT[m.group(2)]
    if seconds < 0:
        raise ValueError(f"negative duration: {value!r}")
    return seconds or None


def lifetimes_with(overrides: Mapping[str, Any] | None) -> dict[str, float | None]:
    """The table with ``[lifecycle] lifetimes`` applied; an unknown key is an error."""
    table = dict(LIFETIMES)
    for key, value in (overrides or {}).items():
        if key not in table:
            raise ValueError(f"[lifecycle] lifetimes: unknown key {key!r} (known: {', '.join(sorted(table))})")
        table[key] = parse_duration(value)
    return table
