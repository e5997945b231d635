"""Controlled vocabularies shared by every format: each mapping once, with its source.

Format-specific tables live beside this file (``jma.py``, ``commons.py``, ``cap.py``).
"""

from __future__ import annotations

from lalert.vocab import levels as _levels

# --- area code schemes -------------------------------------------------------------
# The same digits mean different places in different tables (DESIGN.md, "Area codes"),
# so every code travels with one of these scheme names.
AREA_SCHEMES: dict[str, str] = {
    "lg_code": "全国地方公共団体コード (6 digits, last is a check digit; JIS X 0402 + check)",
    "n03": "国土数値情報 N03 行政区域コード (5 digits)",
    "jma.city": "JMA 気象・地震・火山情報／市町村等 (7 digits)",
    "jma.forecast_area": "JMA 気象情報／府県予報区・細分区域等 (6 digits: 府県予報区, 一次細分区域, まとめ地域)",
    "jma.eq_region": "JMA 地震情報／細分区域 (3 digits)",
    "jma.eq_pref": "JMA 地震情報／都道府県等 (2 digits)",
    "jma.tsunami_region": "JMA 津波予報区 (3 digits)",
    "jma.tsunami_station": "JMA 潮位観測点",
    "jma.volcano": "JMA 火山名 (3 digits)",
    "jma.river": "JMA 河川 (指定河川洪水予報)",
    "jma.flood_area": "JMA 水位観測所 / 浸水想定地区",
    "jma.rain_area": "JMA 記録的短時間大雨情報 / 竜巻注意情報 の地域",
    "jma.obs_point": "JMA 震度観測点",
    "jma.other": "other JMA codeType (kept verbatim in Area.name)",
    "commons.chome": "大字・町丁目コード (12 digits, ooAzaTyouTyouMokuCode)",
    "name": "a place given by name only",
    "geometry": "a shape carried by the message itself (CAP polygon / circle, Commons circle)",
    "cap": "CAP geocode; the valueName follows the colon, e.g. 'cap:SAME'",
}

# --- what a message is about ---------------------------------------------------------
KINDS: dict[str, str] = {
    "weather_warning": "気象特別警報・警報・注意報",
    "landslide": "土砂災害警戒情報",
    "river_flood": "指定河川洪水予報",
    "record_rain": "記録的短時間大雨情報",
    "tornado": "竜巻注意情報",
    "weather_info": "気象情報 (府県・地方・全般)",
    "eew": "緊急地震速報",
    "earthquake": "震度速報・震源・震度に関する情報",
    "earthquake_activity": "地震の活動状況等に関する情報",
    "tsunami": "津波警報・注意報・予報・津波情報",
    "volcano": "噴火警報・予報・火山の状況・噴火速報",
    "ashfall": "降灰予報",
    "nankai": "南海トラフ地震に関連する情報",
    "evacuation": "避難指示・高齢者等避難・緊急安全確保",
    "shelter": "避難所情報",
    "headquarters": "災害対策本部設置状況",
    "damage": "被害情報",
    "general": "お知らせ・その他",
    "urgent_mail": "緊急速報メール",
    "river_level": "水位・雨量・河川情報",
    "event": "イベント情報",
    "system": "システム",
    "other": "unclassified",
}

# --- designated-site hazards (災害対策基本法 施行規則, GSI 指定緊急避難場所) -------------------
SHELTER_HAZARDS: dict[str, str] = {
    "flood": "洪水",
    "landslide": "崖崩れ、土石流及び地滑り",
    "storm_surge": "高潮",
    "earthquake": "地震",
    "tsunami": "津波",
    "large_fire": "大規模な火事",
    "inland_flood": "内水氾濫",
    "volcano": "火山現象",
}
# The same hazards in English: the public map's labels and signage's gettext msgids.
SHELTER_HAZARDS_EN: dict[str, str] = {
    "flood": "Flood",
    "landslide": "Landslide",
    "storm_surge": "Storm surge",
    "earthquake": "Earthquake",
    "tsunami": "Tsunami",
    "large_fire": "Large fire",
    "inland_flood": "Inland flooding",
    "volcano": "Volcano",
}

# --- 警戒レベル (Cabinet Office 避難情報に関するガイドライン, 2021) ------------------------------
# Names and actions live in ``levels.py`` (with who says them: order vs 相当情報).
LEVEL_WORDS_JA: dict[int, str] = dict(_levels.LEVEL_NAMES)  # the msgids are the Japanese
LEVEL_ACTION_JA: dict[int, str] = dict(_levels.LEVEL_ACTIONS)
# Colours of the guideline / JMA's 危険度 scheme. Never shown without the level number.
LEVEL_COLOURS: dict[int, str] = {
    5: "#0c000c",  # 黒
    4: "#aa00aa",  # 紫
    3: "#ff2800",  # 赤
    2: "#f2e700",  # 黄
    1: "#ffffff",  # 白
}

SEVERITY_ORDER: dict[str, int] = {"Extreme": 4, "Severe": 3, "Moderate": 2, "Minor": 1, "Unknown": 0}


def severity_for_level(level: int | None) -> str:
    """CAP severity for a 警戒レベル: the mapping every format shares."""
    if level is None:
        return "Unknown"
    return {5: "Extreme", 4: "Severe", 3: "Severe", 2: "Moderate", 1: "Minor"}.get(level, "Unknown")


def lg_code_check_digit(five: str) -> str:
    """Check digit of a 全国地方公共団体コード (総務省 modulus 11 rule)."""
    total = sum(int(d) * w for d, w in zip(five, (6, 5, 4, 3, 2), strict=True))
    rem = total % 11
    return str((11 - rem) % 10)  # rem 0 → 1 (荒尾市 43204 → 432041), rem 1 → 0


def lg_code(five: str) -> str:
    """N03 / JIS X 0402 5-digit code → 6-digit 全国地方公共団体コード."""
    return five + lg_code_check_digit(five)
