"""Fixed phrases for public outputs (map, text twin, CAP feeds) in Japanese and English.

A small catalogue rather than machine translation: an English reader gets the kind of
message and the 警戒レベル action word for word; free text stays in Japanese.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lalert.vocab import KINDS, SHELTER_HAZARDS, SHELTER_HAZARDS_EN
from lalert.vocab import levels as _levels

LANGS = ("ja", "en")

KIND_EN: dict[str, str] = {
    "weather_warning": "Weather warning / advisory",
    "landslide": "Landslide alert",
    "river_flood": "River flood forecast",
    "record_rain": "Record short-term heavy rain",
    "tornado": "Tornado alert",
    "weather_info": "Weather information",
    "eew": "Earthquake early warning",
    "earthquake": "Earthquake information",
    "earthquake_activity": "Earthquake activity",
    "tsunami": "Tsunami warning / information",
    "volcano": "Volcano warning / information",
    "ashfall": "Ashfall forecast",
    "nankai": "Nankai Trough earthquake information",
    "evacuation": "Evacuation information",
    "shelter": "Shelter information",
    "headquarters": "Disaster headquarters",
    "damage": "Damage report",
    "general": "Notice",
    "urgent_mail": "Emergency alert",
    "river_level": "River level / rainfall",
    "event": "Event",
    "system": "System",
    "other": "Other",
}

HAZARD_EN = SHELTER_HAZARDS_EN

SHELTER_STATE: dict[str, dict[str, str]] = {
    "ja": {"open": "開設", "permanent": "常設", "closed": "閉鎖", "unopened": "未開設",
           "crowded": "開設・混雑", "full": "定員一杯", "unknown": "状況不明"},
    "en": {"open": "Open", "permanent": "Always open", "closed": "Closed",
           "unopened": "Not opened", "crowded": "Open, crowded", "full": "Full",
           "unknown": "Status unknown"},
}

UI: dict[str, dict[str, str]] = {
    "ja": {
        "title": "防災マップ",
        "text_title": "防災情報（テキスト版）",
        "alerts": "発表中の情報",
        "no_alerts": "現在、発表中の情報はありません。",
        "level": "警戒レベル",
        "no_level": "レベルなし",
        "what_to_do": "とるべき行動",
        "areas": "対象地域",
        "shelters": "避難場所・避難所",
        "hotspots": "公衆無線LAN",
        "municipalities": "市町村境界",
        "basemap": "背景地図",
        "no_basemap": "背景地図なし（オフライン表示）",
        "cluster": "避難場所・避難所 {n}か所（拡大すると個別に表示）",
        "where": "現在地の情報",
        "where_btn": "現在地を調べる",
        "where_hint": "地図をタップしても調べられます。",
        "here_alerts": "この地点に発表中の情報",
        "here_none": "この地点に発表中の情報はありません。",
        "nearest": "近くの開設中の避難先",
        "open_shelters": "開設中の避難所",
        "reported_shelters": "市町村が報告した避難所の状況",
        "nearest_none": "近くに開設中の避難先は見つかりません。",
        "notify_btn": "この場所の情報を通知で受け取る",
        "notify_ok": "通知を登録しました（半径1km）。",
        "walk": "徒歩",
        "minutes": "分",
        "filter": "災害種別で絞り込み",
        "all": "すべて",
        "legend": "凡例",
        "open": "開設",
        "closed": "未開設・閉鎖",
        "updated": "更新",
        "text_link": "テキスト版",
        "map_link": "地図版",
        "other_lang": "English",
        "drill": "訓練",
        "issued": "発表",
        "capacity": "収容人数",
        "hazards": "対応災害",
        "geo_error": "現在地を取得できませんでした。地図をタップしてください。",
        "source": "出典",
        "instruction": "発表者からの呼びかけ",
        "show_all": "ほかの地域の情報も表示",
        "region_only": "この地域の情報だけ表示",
    },
    "en": {
        "title": "Disaster map",
        "text_title": "Disaster information (text version)",
        "alerts": "Alerts in force",
        "no_alerts": "No alerts are in force.",
        "level": "Alert level",
        "no_level": "no level",
        "what_to_do": "What to do",
        "areas": "Areas",
        "shelters": "Shelters and evacuation sites",
        "hotspots": "Public Wi-Fi",
        "municipalities": "Municipal boundaries",
        "basemap": "Base map",
        "no_basemap": "No base map (offline)",
        "cluster": "{n} shelters and evacuation sites (zoom in to see each)",
        "where": "Where am I",
        "where_btn": "Check my location",
        "where_hint": "Or tap a point on the map.",
        "here_alerts": "Alerts covering this point",
        "here_none": "No alert covers this point.",
        "nearest": "Nearest open shelters",
        "open_shelters": "Open shelters",
        "reported_shelters": "Shelters as reported by the municipality",
        "nearest_none": "No open shelter found nearby.",
        "notify_btn": "Notify me about this place",
        "notify_ok": "Notifications on for this place (1 km radius).",
        "walk": "walk",
        "minutes": "min",
        "filter": "Filter by hazard",
        "all": "All",
        "legend": "Legend",
        "open": "Open",
        "closed": "Not open / closed",
        "updated": "Updated",
        "text_link": "Text version",
        "map_link": "Map version",
        "other_lang": "日本語",
        "drill": "Drill",
        "issued": "Issued",
        "capacity": "Capacity",
        "hazards": "Designated for",
        "geo_error": "Your location is not available. Tap the map instead.",
        "source": "Sources",
        "instruction": "Advice from the publisher (in Japanese)",
        "show_all": "Show alerts for other regions too",
        "region_only": "Show this region only",
    },
}


def lang_of(value: str | None) -> str:
    """'en' when asked for English (query value or Accept-Language), else Japanese."""
    if value and value.strip().lower().startswith("en"):
        return "en"
    return "ja"


def kind_name(kind: str, lang: str) -> str:
    if lang == "en":
        return KIND_EN.get(kind, KIND_EN["other"])
    return KINDS.get(kind, kind)


def level_label(level: int | None, kind: str | None, hazard_tags: Iterable[str],
                lang: str) -> str | None:
    """The alert's level as every output writes it (``lalert.vocab.levels.label``): a
    municipality's order ('警戒レベル4 避難指示') or JMA's '警戒レベル4相当情報［土砂災害］'."""
    return _levels.label(level, kind, hazard_tags, "en" if lang == "en" else "ja")


def level_badge(level: int | None, kind: str | None, lang: str) -> str | None:
    """'警戒レベル4' or '警戒レベル4相当' (short, for badges)."""
    return _levels.badge(level, _levels.source(kind, level), "en" if lang == "en" else "ja")


def level_action(level: int | None, lang: str) -> str | None:
    return _levels.action(level, "en" if lang == "en" else "ja")


def level_info(ea: Any) -> dict[str, Any] | None:
    """The level's words in both languages and who says it, for JSON bodies (push, API)."""
    return _levels.describe(ea.alert.level, ea.alert.kind, ea.hazard_tags)


def legend_word(level: int, lang: str) -> str:
    """A level's words in the map's colour key: the residents' action, which holds for a
    municipality's order and JMA's 相当 information alike (a name would claim an order)."""
    return _levels.LEVEL_ACTIONS[level][1 if lang == "en" else 0]


def hazard_name(hazard: str, lang: str) -> str:
    if lang == "en":
        return HAZARD_EN.get(hazard, hazard)
    return SHELTER_HAZARDS.get(hazard, hazard)


def shelter_state(state: str | None, lang: str) -> str:
    table = SHELTER_STATE[lang]
    return table.get(state or "unknown", table["unknown"])


def local_time(iso: str | None) -> str:
    """'2026-07-01 10:00' in Japan time (what residents read), from any ISO 8601 time."""
    from datetime import datetime, timedelta, timezone

    if not iso:
        return ""
    try:
        dt = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso
    if dt.tzinfo is not None:
        dt = dt.astimezone(timezone(timedelta(hours=9)))
    return dt.strftime("%Y-%m-%d %H:%M")

