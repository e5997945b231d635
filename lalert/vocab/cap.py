"""CAP vocabularies: how a CAP ``info`` becomes a lalert kind, hazard and level.

Sources: OASIS CAP 1.2 (category, msgType, severity enumerations, section 3.2) and, for
the Japanese parameters, the names Japanese CAP senders use for 警戒レベル.
"""

from __future__ import annotations

import re

# msgType → Alert.info_type
MSG_TYPES: dict[str, str] = {
    "Alert": "issue",
    "Update": "update",
    "Cancel": "cancel",
    "Ack": "ack",
    "Error": "error",
}

# CAP category → lalert kind, when no event word says more. Geo is decided by the event
# words below (earthquake / tsunami / volcano); a Geo event naming none of them is general.
CATEGORY_KINDS: dict[str, str] = {
    "Geo": "general",
    "Met": "weather_warning",
    "Safety": "general",
    "Security": "general",
    "Rescue": "general",
    "Fire": "general",
    "Health": "general",
    "Env": "general",
    "Transport": "general",
    "Infra": "general",
    "CBRNE": "general",
    "Other": "general",
}

# Event words that decide the kind whatever the category, tried in this order (避難所
# before 避難: a shelter message is not an evacuation order).
EVENT_KINDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"shelter|避難所", re.I), "shelter"),
    (re.compile(r"evacuat|避難|緊急安全確保", re.I), "evacuation"),
    (re.compile(r"tsunami|津波", re.I), "tsunami"),
    (re.compile(r"earthquake|quake|seismic|地震|震度", re.I), "earthquake"),
    (re.compile(r"volcan|eruption|噴火|火山|降灰", re.I), "volcano"),
    (re.compile(r"landslide|土砂", re.I), "landslide"),
)
# Geo events only become these when their words say so; other categories use EVENT_KINDS
# only for the first two (evacuation / shelter), so a Met "Tsunami Warning" still counts.
GEO_ONLY_KINDS = {"tsunami", "earthquake", "volcano", "landslide"}

# Hazard kinds (English, lower-case) from event words, for Hazard.kind.
HAZARD_WORDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"tsunami|津波", re.I), "tsunami"),
    (re.compile(r"earthquake|quake|地震", re.I), "earthquake"),
    (re.compile(r"volcan|eruption|噴火|火山", re.I), "volcano"),
    (re.compile(r"landslide|土砂", re.I), "landslide"),
    (re.compile(r"flood|洪水|浸水|氾濫", re.I), "flood"),
    (re.compile(r"storm surge|高潮", re.I), "storm_surge"),
    (re.compile(r"fire|火災|火事", re.I), "fire"),
    (re.compile(r"thunder|雷", re.I), "thunderstorm"),
    (re.compile(r"snow|blizzard|大雪|暴風雪", re.I), "snow"),
    (re.compile(r"wind|暴風|強風", re.I), "wind"),
    (re.compile(r"rain|大雨", re.I), "rain"),
    (re.compile(r"heat|熱中症", re.I), "heat"),
)

# parameter valueNames that carry a 警戒レベル (1–5).
LEVEL_PARAMETERS = frozenset({"JMA_LEVEL", "警戒レベル", "AlertLevel_JP", "LEVEL_JP"})

# geocode valueNames that are lalert schemes already: Japanese senders put the 6-digit
# 全国地方公共団体コード here, and keying it as ``lg_code`` lets the gazetteer resolve it.
# Every other geocode keeps the scheme ``cap:<valueName>``.
GEOCODE_SCHEMES: dict[str, str] = {"LGCode": "lg_code", "jisX0402": "lg_code",
                                   "全国地方公共団体コード": "lg_code"}

SEVERITIES = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")


def kind_for(category: str | None, event: str | None) -> str:
    """lalert kind for one info block (see the tables above)."""
    ev = event or ""
    for pattern, kind in EVENT_KINDS:
        if pattern.search(ev):
            if kind in GEO_ONLY_KINDS and category not in ("Geo", "Met", None):
                continue
            return kind
    return CATEGORY_KINDS.get(category or "", "general")


def hazard_kind(category: str | None, event: str | None) -> str:
    ev = event or ""
    for pattern, kind in HAZARD_WORDS:
        if pattern.search(ev):
            return kind
    return (category or "other").lower()
