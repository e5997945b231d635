"""Fixed phrases for public outputs (map, text twin, CAP feeds) in Japanese and English.

A small catalogue rather than machine translation: an English reader gets the kind of
message and the 警戒レベル action word for word; free text stays in Japanese.
"""

from __future__ import annotations

from lalert.vocab import (
    KINDS,
    LEVEL_ACTION_JA,
    LEVEL_WORDS_JA,
    SHELTER_HAZARDS,
    SHELTER_HAZARDS_EN,
)

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

LEVEL_WORDS_EN: dict[int, str] = {
    5: "Emergency safety measures",
    4: "Evacuation order",
    3: "Evacuation of elderly people etc.",
    2: "Check how to evacuate",
    1: "Be prepared",
}
LEVEL_ACTION_EN: dict[int, str] = {
    5: "Danger to life. Secure your safety immediately!",
    4: "Everyone must evacuate from dangerous places.",
    3: "Elderly and others who need time must evacuate from dangerous places.",
    2: "Check your evacuation plan.",
    1: "Be prepared for a disaster.",
}

HAZARD_EN = SHELTER_HAZARDS_EN

SHELTER_STATE: dict[str, dict[str, str]] = {
    "ja": {"open": "開設", "permanent": "常設", "closed": "閉鎖", "unopened": "未開設",
           "unknown": "状況不明"},
    "en": {"open": "Open", "permanent": "Always open", "closed": "Closed",
           "unopened": "Not opened", "unknown": "Status unknown"},
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


def level_word(level: int | None, lang: str) -> str | None:
    if level is None:
        return None
    return (LEVEL_WORDS_EN if lang == "en" else LEVEL_WORDS_JA).get(level)


def level_action(level: int | None, lang: str) -> str | None:
    if level is None:
        return None
    return (LEVEL_ACTION_EN if lang == "en" else LEVEL_ACTION_JA).get(level)


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

