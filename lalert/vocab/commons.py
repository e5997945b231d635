"""L-Alert / 公共情報コモンズ vocabularies: each word the PCXML bodies use, mapped once.

Sources: ``corpus/xml/commons/FORMAT-NOTES.md`` (element names of the v4 bodies), the
Cabinet Office 避難情報に関するガイドライン (2021) for the 警戒レベル of each order, and
EDXL-DE 1.0 for ``distributionStatus`` / ``distributionType``.
"""

from __future__ import annotations

# contentObject/category (= Control/Title) → lalert kind. FloodControlWarning is a
# 指定河川洪水予報 relayed by the river office, so it is river_flood, not river_level.
CATEGORY_KINDS: dict[str, str] = {
    "EvacuationOrder": "evacuation",
    "Shelter": "shelter",
    "GeneralInformation": "general",
    "AntidisasterHeadquarter": "headquarters",
    "DamageInformation": "damage",
    "UrgentMail": "urgent_mail",
    "SedimentDisastersWarning": "landslide",
    "FloodControlWarning": "river_flood",
    "WaterLevel": "river_level",
    "Rainfall": "river_level",
    "FamiliariseRiver": "river_level",
    "Event": "event",
    "System": "system",
}

# EDXL distributionStatus / Control status, English and the Japanese words some senders use.
STATUS: dict[str, str] = {
    "actual": "actual",
    "exercise": "exercise",
    "test": "test",
    "system": "system",
    "通常": "actual",
    "訓練": "exercise",
    "試験": "test",
    "システム": "system",
}

# 更新種別 words (Head InfoType / updateCategory) and EDXL distributionType values.
INFO_TYPES: dict[str, str] = {
    "新規": "issue",
    "更新": "update",
    "訂正": "correction",
    "取消": "cancel",
    "取り消し": "cancel",
    "report": "issue",
    "update": "update",
    "cancel": "cancel",
    "ack": "ack",
    "error": "error",
}

# 避難情報の種類 (EvacuationOrder Detail/Sort) → (order, 警戒レベル). The old words
# (避難勧告, 避難準備, 避難指示（緊急）) were retired in May 2021 but still arrive from
# archives and replays; they keep the level they had.
EVACUATION_ORDERS: dict[str, tuple[str, int | None]] = {
    "緊急安全確保": ("emergency_safety", 5),
    "避難指示": ("evacuation_order", 4),
    "避難指示（緊急）": ("evacuation_order", 4),
    "避難指示(緊急)": ("evacuation_order", 4),
    "高齢者等避難": ("elderly_evacuation", 3),
    "避難勧告": ("evacuation_advisory", 4),
    "避難準備・高齢者等避難開始": ("evacuation_preparation", 3),
    "避難準備（高齢者等避難開始）": ("evacuation_preparation", 3),
    "避難準備": ("evacuation_preparation", 3),
}

EVACUATION_ACTIONS: dict[str, str] = {"発令": "issued", "解除": "lifted"}

# Shelter Information/Sort (開設状況) and Status (混雑状況).
SHELTER_STATES: dict[str, str] = {
    "未開設": "unopened",
    "開設": "open",
    "閉鎖": "closed",
    "常設": "permanent",
    "不明": "unknown",
}
SHELTER_CROWDING: dict[str, str] = {
    "空き": "vacant",
    "混雑": "crowded",
    "定員一杯": "full",
    "満員": "full",
    "不明": "unknown",
}


def evacuation_order(sort: str | None) -> tuple[str, int | None]:
    """(order, level) for a Sort word; tolerant of spaces and full-width brackets."""
    if not sort:
        return ("other", None)
    s = "".join(sort.split())
    if s in EVACUATION_ORDERS:
        return EVACUATION_ORDERS[s]
    # Longest known word contained in the label (e.g. "【警戒レベル4】避難指示").
    for word in sorted(EVACUATION_ORDERS, key=len, reverse=True):
        if word in s:
            return EVACUATION_ORDERS[word]
    return ("other", None)
