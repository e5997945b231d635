"""Area-code rules shared by importers, the gazetteer and queries (pure).

Each rule cites its source; the tables are small on purpose (anything larger is data and
is imported, not written here).
"""

from __future__ import annotations

from lalert.vocab import lg_code_check_digit

# Japan's extent with a margin (南鳥島 153.98E, 沖ノ鳥島 20.42N, 択捉島 45.5N, 与那国島
# 122.93E). A coordinate outside is a bad row (swapped lat/lon, zeros, wrong datum).
JAPAN_BOUNDS = (122.0, 20.0, 154.5, 46.0)  # west, south, east, north

# JMA 市町村等 codes that older telegrams use and the current code table no longer holds,
# because the municipality changed status (source: 気象庁 個別コード表 改正履歴;
# 那珂川町 became 那珂川市 on 2018-10-01, 福岡県 code 40305 → 40231).
JMA_CITY_SUCCESSORS: dict[str, str] = {
    "4030500": "4023100",
}


def in_japan(lat: float, lon: float) -> bool:
    w, s, e, n = JAPAN_BOUNDS
    return s <= lat <= n and w <= lon <= e


def valid_lg_code(code: str) -> bool:
    """A 6-digit 全国地方公共団体コード whose check digit is right."""
    return len(code) == 6 and code.isdigit() and lg_code_check_digit(code[:5]) == code[5]


def designated_city_code(ward_codes: list[str]) -> str:
    """N03 code of the 政令指定都市 whose wards these are: its first ward's code with the
    last digit 0 (札幌 01101–01110 → 01100, 川崎 14131–14137 → 14130, 熊本 43101 → 43100;
    総務省 numbers a city's wards from city + 1). The first ward, not each ward: 札幌's
    tenth ward 01110 would otherwise map onto itself."""
    return min(ward_codes)[:4] + "0"


def is_designated_ward(pref_city: str | None, ward: str | None) -> bool:
    """N03 feature of a 政令市 ward: N03_003 is a city (…市) and N03_004 a ward (…区).
    Tokyo's 特別区 have no N03_003 and are municipalities in their own right."""
    return bool(pref_city and ward and pref_city.endswith("市") and ward.endswith("区"))


def normalise_code(code: object, digits: int) -> str | None:
    """Codes read from CSV lose leading zeros (1101 for 01101): restore them."""
    if code is None:
        return None
    s = str(code).strip()
    if s.endswith(".0"):
        s = s[:-2]
    if not s.isdigit():
        return None
    return s.zfill(digits) if len(s) <= digits else None
