"""JMA 防災情報XML vocabularies: each word the telegrams use, mapped once.

Sources:
- JMA 防災情報XMLフォーマット 技術資料 (コード表 "気象警報・注意報", "土砂災害警戒情報",
  "指定河川洪水予報", "津波警報・注意報・予報", "火山" and the 辞書
  ``corpus/xml/jma-schema/jmaxml_20250630_dictionary.xls``), which also lists the 2026
  (Ｒ０６) names such as レベル４土砂災害危険警報 and statuses such as 危険警報から注意報.
- 警戒レベル相当: Cabinet Office 避難情報に関するガイドライン (2021) and JMA's
  "防災気象情報と警戒レベルとの対応について": 大雨特別警報 5, 土砂災害警戒情報 4,
  高潮特別警報・高潮警報 4, 大雨警報（土砂災害）・洪水警報 3, 大雨注意報・洪水注意報・
  高潮注意報 2; 指定河川洪水予報 氾濫発生 5, 氾濫危険 4, 氾濫警戒 3, 氾濫注意 2. From the
  Ｒ０６ generation on, the level is part of the published name (レベル５ … レベル２).
- 津波 and 噴火警戒レベル are deliberately *not* 警戒レベル: the guideline keeps them
  apart, so their hazards carry no ``level`` (the volcano level goes into ``details``).
"""

from __future__ import annotations

import re

# --- Control/Status, Head/InfoType ---------------------------------------------------
STATUS: dict[str, str] = {"通常": "actual", "訓練": "exercise", "試験": "test"}
INFO_TYPES: dict[str, str] = {
    "発表": "issue",
    "訂正": "correction",
    "取消": "cancel",
    "遅延": "delay",
}

# --- Control/Title (then Head/InfoKind) → lalert kind ---------------------------------
# Matched as prefixes, in order, on the title with trailing ASCII letters removed
# (JMA writes "津波情報a"). Longer, more specific prefixes come first.
TITLE_KINDS: tuple[tuple[str, str], ...] = (
    ("気象特別警報", "weather_warning"),
    ("気象警報・注意報", "weather_warning"),
    ("土砂災害警戒情報", "landslide"),
    ("指定河川洪水予報", "river_flood"),
    ("記録的短時間大雨情報", "record_rain"),
    ("竜巻注意情報", "tornado"),
    ("緊急地震速報", "eew"),
    ("震度速報", "earthquake"),
    ("震源に関する情報", "earthquake"),
    ("震源・震度に関する情報", "earthquake"),
    ("震源速報", "earthquake"),
    ("地震情報", "earthquake"),
    ("長周期地震動に関する観測情報", "earthquake"),
    ("顕著な地震の震源要素更新のお知らせ", "earthquake"),
    ("地震の活動状況等に関する情報", "earthquake_activity"),
    ("地震回数に関する情報", "earthquake_activity"),
    ("沖合の津波観測に関する情報", "tsunami"),
    ("津波", "tsunami"),
    ("大津波", "tsunami"),
    ("降灰予報", "ashfall"),
    ("噴火", "volcano"),
    ("火山", "volcano"),
    ("推定噴煙流向報", "volcano"),
    ("南海トラフ", "nankai"),
    ("北海道・三陸沖後発地震注意情報", "nankai"),
    ("東海地震", "nankai"),
    ("府県気象情報", "weather_info"),
    ("地方気象情報", "weather_info"),
    ("全般気象情報", "weather_info"),
    ("気象情報", "weather_info"),
    ("台風", "weather_info"),
    ("全般台風情報", "weather_info"),
    ("スモッグ気象情報", "weather_info"),
    ("府県天候情報", "weather_info"),
    ("地方天候情報", "weather_info"),
    ("全般天候情報", "weather_info"),
)
_TITLE_TAIL = re.compile(r"[a-zA-Z]+$")


def kind_for_title(title: str | None) -> str | None:
    """lalert kind for a Control/Title or Head/InfoKind, None when unknown."""
    if not title:
        return None
    t = _TITLE_TAIL.sub("", title.strip())
    for prefix, kind in TITLE_KINDS:
        if t.startswith(prefix):
            return kind
    return None


# Control/Title → telegram type (the header is not in the XML body). Only titles that
# name exactly one type are listed: 南海トラフ地震関連解説情報 is VYSE51 *or* VYSE52 and
# 指定河川洪水予報 is VXKO50–89 by river, so those stay unknown.
TITLE_TYPE_CODES: dict[str, str] = {
    "気象警報・注意報": "VPWW50",
    "気象特別警報・警報・注意報": "VPWW53",
    "気象警報・注意報（Ｈ２７）": "VPWW54",
    "気象警報・注意報（Ｒ０６）（大雨）": "VPWW55",
    "気象警報・注意報（Ｒ０６）（土砂）": "VPWW56",
    "気象警報・注意報（Ｒ０６）（高潮）": "VPWW57",
    "気象警報・注意報（Ｒ０６）（暴風）": "VPWW58",
    "気象警報・注意報（Ｒ０６）（波浪）": "VPWW59",
    "気象警報・注意報（Ｒ０６）（大雪）": "VPWW60",
    "気象警報・注意報（Ｒ０６）（その他注意報）": "VPWW61",
    "土砂災害警戒情報": "VXWW50",
    "記録的短時間大雨情報": "VPOA50",
    "竜巻注意情報": "VPHW50",
    "竜巻注意情報（目撃情報付き）": "VPHW51",
    "府県気象情報": "VPFJ50",
    "地方気象情報": "VPCJ50",
    "全般気象情報": "VPZJ50",
    "緊急地震速報（警報）": "VXSE43",
    "緊急地震速報（予報）": "VXSE44",
    "緊急地震速報（地震動予報）": "VXSE45",
    "震度速報": "VXSE51",
    "震源に関する情報": "VXSE52",
    "震源・震度に関する情報": "VXSE53",
    "地震の活動状況等に関する情報": "VXSE56",
    "地震回数に関する情報": "VXSE60",
    "顕著な地震の震源要素更新のお知らせ": "VXSE61",
    "長周期地震動に関する観測情報": "VXSE62",
    "津波警報・注意報・予報a": "VTSE41",
    "津波警報・注意報・予報": "VTSE41",
    "津波情報a": "VTSE51",
    "津波情報": "VTSE51",
    "沖合の津波観測に関する情報": "VTSE52",
    "噴火警報・予報": "VFVO50",
    "火山の状況に関する解説情報": "VFVO51",
    "噴火に関する火山観測報": "VFVO52",
    "降灰予報（定時）": "VFVO53",
    "降灰予報（速報）": "VFVO54",
    "降灰予報（詳細）": "VFVO55",
    "噴火速報": "VFVO56",
    "推定噴煙流向報": "VFVO60",
    "南海トラフ地震臨時情報": "VYSE50",
}

# --- codeType → lalert.vocab.AREA_SCHEMES ---------------------------------------------
CODE_TYPE_SCHEMES: dict[str, str] = {
    "気象・地震・火山情報／市町村等": "jma.city",
    "気象情報／府県予報区・細分区域等": "jma.forecast_area",
    "地震情報／細分区域": "jma.eq_region",
    "緊急地震速報／細分区域": "jma.eq_region",
    "地震情報／都道府県等": "jma.eq_pref",
    "津波予報区": "jma.tsunami_region",
    "潮位観測点": "jma.tsunami_station",
    "火山名": "jma.volcano",
    "河川": "jma.river",
    "指定河川洪水予報（予報区域）": "jma.river",
    "水位観測所": "jma.flood_area",
    "水位基準地点": "jma.flood_area",
    "流量観測所": "jma.flood_area",
    "浸水想定地区": "jma.flood_area",
    "震度観測点": "jma.obs_point",
}


def scheme_for_code_type(code_type: str | None, default: str = "jma.other") -> str:
    if not code_type:
        return default
    return CODE_TYPE_SCHEMES.get(code_type.strip(), "jma.other")


# --- hazard states (Kind/Status, Category, volcano Condition) -----------------------------
STATES: dict[str, str] = {
    "発表": "issued",
    "継続": "continued",
    "特別警報から警報": "downgraded",
    "特別警報から注意報": "downgraded",
    "特別警報から危険警報": "downgraded",
    "危険警報から警報": "downgraded",
    "危険警報から注意報": "downgraded",
    "警報から注意報": "downgraded",
    "解除": "lifted",
    "発表警報・注意報はなし": "none",
    "なし": "none",
    "引上げ": "upgraded",
    "引下げ": "downgraded",
    "対象地域": "issued",
}

# --- weather warnings ----------------------------------------------------------------
# Rank of a warning class, for telling an upgrade (発表 over a lower LastKind) apart.
ADVISORY, WARNING, DANGER, SPECIAL = 1, 2, 3, 4

# Base name (without the Ｒ０６ "レベルN" prefix) → (English kind, class, family).
# family groups names that replace one another in one area (大雨注意報 → 大雨警報 …).
WARNING_NAMES: dict[str, tuple[str, int, str]] = {
    "暴風雪特別警報": ("snowstorm_special_warning", SPECIAL, "snowstorm"),
    "大雨特別警報": ("heavy_rain_special_warning", SPECIAL, "rain"),
    "暴風特別警報": ("storm_special_warning", SPECIAL, "wind"),
    "大雪特別警報": ("heavy_snow_special_warning", SPECIAL, "snow"),
    "波浪特別警報": ("high_wave_special_warning", SPECIAL, "wave"),
    "高潮特別警報": ("storm_surge_special_warning", SPECIAL, "surge"),
    "土砂災害特別警報": ("landslide_special_warning", SPECIAL, "landslide"),
    "大雨危険警報": ("heavy_rain_danger_warning", DANGER, "rain"),
    "土砂災害危険警報": ("landslide_danger_warning", DANGER, "landslide"),
    "高潮危険警報": ("storm_surge_danger_warning", DANGER, "surge"),
    "暴風雪警報": ("snowstorm_warning", WARNING, "snowstorm"),
    "大雨警報": ("heavy_rain_warning", WARNING, "rain"),
    "洪水警報": ("flood_warning", WARNING, "flood"),
    "暴風警報": ("storm_warning", WARNING, "wind"),
    "大雪警報": ("heavy_snow_warning", WARNING, "snow"),
    "波浪警報": ("high_wave_warning", WARNING, "wave"),
    "高潮警報": ("storm_surge_warning", WARNING, "surge"),
    "土砂災害警報": ("landslide_warning", WARNING, "landslide"),
    "大雨注意報": ("heavy_rain_advisory", ADVISORY, "rain"),
    "大雪注意報": ("heavy_snow_advisory", ADVISORY, "snow"),
    "風雪注意報": ("wind_snow_advisory", ADVISORY, "snowstorm"),
    "雷注意報": ("thunderstorm_advisory", ADVISORY, "thunder"),
    "強風注意報": ("strong_wind_advisory", ADVISORY, "wind"),
    "波浪注意報": ("high_wave_advisory", ADVISORY, "wave"),
    "融雪注意報": ("snowmelt_advisory", ADVISORY, "snowmelt"),
    "洪水注意報": ("flood_advisory", ADVISORY, "flood"),
    "高潮注意報": ("storm_surge_advisory", ADVISORY, "surge"),
    "濃霧注意報": ("dense_fog_advisory", ADVISORY, "fog"),
    "乾燥注意報": ("dry_air_advisory", ADVISORY, "dry"),
    "なだれ注意報": ("avalanche_advisory", ADVISORY, "avalanche"),
    "低温注意報": ("low_temperature_advisory", ADVISORY, "cold"),
    "霜注意報": ("frost_advisory", ADVISORY, "frost"),
    "着氷注意報": ("icing_advisory", ADVISORY, "icing"),
    "着雪注意報": ("snow_accretion_advisory", ADVISORY, "snow_accretion"),
    "土砂災害注意報": ("landslide_advisory", ADVISORY, "landslide"),
    "その他の注意報": ("other_advisory", ADVISORY, "other"),
    # Ｒ０６ 指定河川洪水予報 names (レベル５氾濫特別警報 …)
    "氾濫特別警報": ("river_flood_special_warning", SPECIAL, "river"),
    "氾濫危険警報": ("river_flood_danger_warning", DANGER, "river"),
    "氾濫警報": ("river_flood_warning", WARNING, "river"),
    "氾濫注意報": ("river_flood_advisory", ADVISORY, "river"),
}

# English kind → its class: what a place under a warning without 警戒レベル (大雪, 暴風,
# 波浪 …) is told — 大雪特別警報 is the gravest class there is, not "no level".
# Tsunami and volcano warnings are 特別警報 / 警報 / 注意報 in law too (気象業務法): 大津波警報
# and 噴火警報（居住地域） are 特別警報. Their own scales (噴火警戒レベル) are not 警戒レベル.
WARNING_CLASS: dict[str, int] = {
    **{kind: cls for kind, cls, _family in WARNING_NAMES.values()},
    "major_tsunami_warning": SPECIAL, "tsunami_warning": WARNING, "tsunami_advisory": ADVISORY,
    "eruption_warning": SPECIAL, "eruption_warning_sea": WARNING, "crater_area_warning": WARNING,
}
# The 警戒レベル whose colour JMA's own warning map paints each class in; what a place
# under such a warning is ranked, coloured and filtered by (never shown as a level).
CLASS_LEVEL: dict[int, int] = {SPECIAL: 5, DANGER: 4, WARNING: 3, ADVISORY: 2}

# JMA 気象警報・注意報 code list (コード表 "警報等情報要素／気象警報・注意報"), used when a
# Kind carries a code but no name. The Ｒ０６ codes seen in JMA's 2026 samples are added.
WARNING_CODES: dict[str, str] = {
    "02": "暴風雪警報",
    "03": "大雨警報",
    "04": "洪水警報",
    "05": "暴風警報",
    "06": "大雪警報",
    "07": "波浪警報",
    "08": "高潮警報",
    "09": "土砂災害警報",
    "10": "大雨注意報",
    "12": "大雪注意報",
    "13": "風雪注意報",
    "14": "雷注意報",
    "15": "強風注意報",
    "16": "波浪注意報",
    "17": "融雪注意報",
    "18": "洪水注意報",
    "19": "高潮注意報",
    "20": "濃霧注意報",
    "21": "乾燥注意報",
    "22": "なだれ注意報",
    "23": "低温注意報",
    "24": "霜注意報",
    "25": "着氷注意報",
    "26": "着雪注意報",
    "27": "その他の注意報",
    "29": "土砂災害注意報",
    "32": "暴風雪特別警報",
    "33": "大雨特別警報",
    "35": "暴風特別警報",
    "36": "大雪特別警報",
    "37": "波浪特別警報",
    "38": "高潮特別警報",
    "43": "大雨危険警報",
    "48": "高潮危険警報",
    "49": "土砂災害危険警報",
}

# 警戒レベル相当 of the pre-Ｒ０６ names (see the module docstring for the source).
# 大雨警報 is level 3 for its 土砂災害 part only; see ``warning_level``.
WARNING_LEVELS: dict[str, int] = {
    "大雨特別警報": 5,
    "高潮特別警報": 4,
    "高潮警報": 4,
    "洪水警報": 3,
    "大雨注意報": 2,
    "洪水注意報": 2,
    "高潮注意報": 2,
}

# Kind/Condition, Attention/Note words → sub-kinds.
SUB_KINDS: dict[str, str] = {
    "土砂災害": "landslide",
    "浸水害": "inundation",
    "土砂災害注意": "landslide",
    "浸水注意": "inundation",
    "浸水": "inundation",
}

_LEVEL_PREFIX = re.compile(r"^レベル([1-5１-５])")
_Z = str.maketrans("１２３４５", "12345")


def split_level_name(name: str) -> tuple[int | None, str]:
    """'レベル４土砂災害危険警報' → (4, '土砂災害危険警報'); other names → (None, name)."""
    m = _LEVEL_PREFIX.match(name)
    if not m:
        return None, name
    return int(m.group(1).translate(_Z)), name[m.end():]


def warning_kind(name: str | None, code: str | None) -> tuple[str, int, str, int | None]:
    """(English kind, class, family, level named in the title) for a warning Kind."""
    base = name or WARNING_CODES.get(code or "", "")
    level, base = split_level_name(base)
    entry = WARNING_NAMES.get(base)
    if entry is None and code in WARNING_CODES:
        entry = WARNING_NAMES.get(WARNING_CODES[code])
    if entry is None:
        rank = SPECIAL if "特別警報" in base else WARNING if "警報" in base else ADVISORY
        return "other_warning" if rank > ADVISORY else "other_advisory", rank, base, level
    return entry[0], entry[1], entry[2], level


def warning_level(base_name: str, named_level: int | None, sub_kinds: tuple[str, ...]) -> int | None:
    """警戒レベル相当 of one warning in one area.

    The Ｒ０６ names carry their level. Before that: 大雨警報 is level 3 for 土砂災害; when
    the telegram names only 浸水害 it has no level, and when it names neither (telegrams
    before 2017 had no Condition) the conservative reading, 3, is kept.
    """
    if named_level is not None:
        return named_level
    if base_name == "大雨警報":
        if sub_kinds and "landslide" not in sub_kinds:
            return None
        return 3
    return WARNING_LEVELS.get(base_name)


def severity_for_class(rank: int) -> str:
    """CAP severity of a warning class when no 警戒レベル applies (暴風警報, 雷注意報 …)."""
    return {SPECIAL: "Extreme", DANGER: "Severe", WARNING: "Severe"}.get(rank, "Minor")


# --- 土砂災害警戒情報 (VXWW50) ----------------------------------------------------------------
# Kind/Code: 3 警戒, 1 解除, 0 なし. 土砂災害警戒情報 is 警戒レベル4相当.
LANDSLIDE_ALERT_LEVEL = 4

# --- 指定河川洪水予報 (VXKOii) ------------------------------------------------------------------
# Name stem → (English kind, 警戒レベル相当). The Ｒ０６ names (レベル５氾濫特別警報 …) go
# through WARNING_NAMES with the level in the name.
RIVER_NAMES: tuple[tuple[str, str, int], ...] = (
    ("氾濫発生", "river_flood_occurrence", 5),
    ("氾濫危険", "river_flood_danger", 4),
    ("氾濫警戒", "river_flood_alert", 3),
    ("氾濫注意", "river_flood_caution", 2),
)


def river_kind(name: str) -> tuple[str, int | None, str]:
    """(English kind, 警戒レベル相当, state) of a 指定河川洪水予報 Kind name.

    '氾濫注意情報解除' is lifted; '氾濫注意情報（警戒情報解除）' is a step down from 警戒.
    """
    level, base = split_level_name(name)
    state = "issued"
    if base.endswith("解除"):
        state = "lifted"
    elif "警戒情報解除" in base:
        state = "downgraded"
    stem = base.replace("解除", "")
    if level is not None:
        for k, (kind, _rank, _fam) in WARNING_NAMES.items():
            if stem.startswith(k):
                return kind, level, state
    for prefix, kind, lv in RIVER_NAMES:
        if stem.startswith(prefix):
            return kind, (level or lv), state
    return "river_flood", level, state


# --- 津波 (VTSE41/51) ---------------------------------------------------------------------------
# Category/Kind/Code (コード表 "警報等情報要素／津波警報・注意報・予報").
TSUNAMI_CODES: dict[str, tuple[str, str, str]] = {
    # code: (English kind, state, severity)
    "52": ("major_tsunami_warning", "continued", "Extreme"),
    "53": ("major_tsunami_warning", "issued", "Extreme"),
    "51": ("tsunami_warning", "continued", "Severe"),
    "62": ("tsunami_advisory", "continued", "Moderate"),
    "71": ("tsunami_forecast", "continued", "Minor"),
    "72": ("tsunami_forecast", "continued", "Minor"),
    "73": ("tsunami_forecast", "continued", "Minor"),
    "50": ("tsunami_warning", "lifted", "Unknown"),
    "60": ("tsunami_advisory", "lifted", "Unknown"),
    "00": ("no_tsunami", "none", "Unknown"),
}
# Rank of a category, to tell issue / upgrade / downgrade from LastKind.
TSUNAMI_RANK: dict[str, int] = {
    "major_tsunami_warning": 4,
    "tsunami_warning": 3,
    "tsunami_advisory": 2,
    "tsunami_forecast": 1,
    "no_tsunami": 0,
}


def tsunami_kind(name: str | None, code: str | None) -> tuple[str, str, str]:
    if code in TSUNAMI_CODES:
        return TSUNAMI_CODES[code]
    n = name or ""
    if "解除" in n:
        return ("tsunami_advisory" if "注意報" in n else "tsunami_warning", "lifted", "Unknown")
    if "大津波警報" in n:
        return TSUNAMI_CODES["52"]
    if "津波警報" in n:
        return TSUNAMI_CODES["51"]
    if "津波注意報" in n:
        return TSUNAMI_CODES["62"]
    if "津波予報" in n:
        return TSUNAMI_CODES["71"]
    return ("no_tsunami", "none", "Unknown")


# --- 震度 ---------------------------------------------------------------------------------------
INTENSITY_NAMES: dict[str, str] = {
    "0": "震度0",
    "1": "震度1",
    "2": "震度2",
    "3": "震度3",
    "4": "震度4",
    "5-": "震度5弱",
    "5+": "震度5強",
    "6-": "震度6弱",
    "6+": "震度6強",
    "7": "震度7",
}
INTENSITY_RANK: dict[str, int] = {k: i for i, k in enumerate(INTENSITY_NAMES)}


def intensity_severity(code: str | None) -> str:
    """CAP severity of a (forecast) seismic intensity: 6弱+ Extreme, 5弱+ Severe, 4 Moderate."""
    r = INTENSITY_RANK.get(code or "", -1)
    if r >= INTENSITY_RANK["6-"]:
        return "Extreme"
    if r >= INTENSITY_RANK["5-"]:
        return "Severe"
    if r == INTENSITY_RANK["4"]:
        return "Moderate"
    if r >= 0:
        return "Minor"
    return "Unknown"


# --- 火山 ---------------------------------------------------------------------------------------
# Kind names in 噴火警報・予報 (対象市町村等) and 噴火速報 / 観測報 → English kind + severity.
VOLCANO_KINDS: tuple[tuple[str, str, str], ...] = (
    ("噴火警報：居住地域", "eruption_warning", "Extreme"),
    ("噴火警報（居住地域）", "eruption_warning", "Extreme"),
    ("居住地域", "eruption_warning", "Extreme"),
    ("噴火警報（周辺海域）", "eruption_warning_sea", "Severe"),
    ("周辺海域", "eruption_warning_sea", "Severe"),
    ("火口周辺警報", "crater_area_warning", "Severe"),
    ("噴火警報（火口周辺）", "crater_area_warning", "Severe"),
    ("噴火予報：警報解除", "eruption_forecast", "Minor"),
    ("噴火予報", "eruption_forecast", "Minor"),
    ("噴火警報", "eruption_warning", "Extreme"),
    ("爆発", "eruption", "Severe"),
    ("噴火", "eruption", "Severe"),
)
# 噴火警戒レベル (not 警戒レベル): レベル５（避難）… レベル１ → severity.
VOLCANO_LEVEL_SEVERITY: dict[int, str] = {5: "Extreme", 4: "Extreme", 3: "Severe", 2: "Moderate", 1: "Minor"}
ASHFALL_KINDS: dict[str, tuple[str, str]] = {
    "降灰": ("ashfall", "Minor"),
    "少量の降灰": ("ashfall_light", "Minor"),
    "やや多量の降灰": ("ashfall_moderate", "Moderate"),
    "多量の降灰": ("ashfall_heavy", "Severe"),
    "小さな噴石の落下": ("small_cinders", "Moderate"),
}


def volcano_kind(name: str) -> tuple[str, str]:
    for stem, kind, sev in VOLCANO_KINDS:
        if stem in name:
            return kind, sev
    return "volcano_status", "Minor"


# --- 南海トラフ地震に関連する情報 -------------------------------------------------------------------
# InfoSerial/Name (or the Head/Title's bracket) → severity for the alert as a whole.
NANKAI_SEVERITY: dict[str, str] = {
    "巨大地震警戒": "Extreme",
    "巨大地震注意": "Severe",
    "調査中": "Moderate",
    "調査終了": "Minor",
}
