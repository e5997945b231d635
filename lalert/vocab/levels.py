"""警戒レベル wording: who said it, in one table every output reads.

A municipality *orders* (緊急安全確保 / 避難指示 / 高齢者等避難, levels 5–3); JMA *informs*
(警戒レベル相当情報: 土砂災害警戒情報 is "警戒レベル４相当情報［土砂災害］"); levels 2 and 1 are
JMA's own (注意報, 早期注意情報). The two never share a label.

Sources: 内閣府「避難情報に関するガイドライン」(令和3年5月, 令和4年9月改定) for the orders,
the residents' actions and the English of the level names; 気象庁「防災気象情報と警戒レベルとの
対応について」for the wording of 警戒レベル相当情報 ("警戒レベル４相当情報［土砂災害］").

The logic (who says a level) is here; the words are the Japanese msgids of the one catalogue
(``lalert.i18n``), whose English is the Cabinet Office / JMA English where it exists
(避難指示 = "Evacuation instruction"), so every output renders a term the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from lalert.i18n import N_, gettext

ORDER = "order"  # a municipality's 避難情報 (levels 3–5)
EQUIVALENT = "equivalent"  # JMA's 警戒レベル相当情報 (or a level read from CAP severity)
LEVEL = "level"  # a level JMA itself issues (2: 注意報, 1: 早期注意情報)
SOURCES = (ORDER, EQUIVALENT, LEVEL)

# kinds whose level is a municipality's order (Commons EvacuationOrder, CAP evacuation)
ORDER_KINDS = frozenset({"evacuation"})
# kinds whose levels 1–2 are JMA's own 警戒レベル (大雨・洪水・高潮注意報, 早期注意情報)
JMA_LEVEL_KINDS = frozenset({"weather_warning"})

# Level names (Japanese msgids). 3–5 are the municipal orders; 1–2 the guideline's names.
LEVEL_NAMES: dict[int, str] = {
    5: N_("緊急安全確保"),
    4: N_("避難指示"),
    3: N_("高齢者等避難"),
    2: N_("避難行動の確認"),
    1: N_("災害への心構えを高める"),
}
# What residents do at each level: the same for an order and its 相当 information.
LEVEL_ACTIONS: dict[int, str] = {
    5: N_("命の危険 直ちに安全確保！"),
    4: N_("危険な場所から全員避難"),
    3: N_("危険な場所から高齢者等は避難"),
    2: N_("自らの避難行動を確認"),
    1: N_("災害への心構えを高める"),
}
# Short badges with ``%(n)s`` for the level: printf style, as gettext uses them.
BADGES: dict[str, str] = {
    ORDER: N_("警戒レベル%(n)s"),
    LEVEL: N_("警戒レベル%(n)s"),
    EQUIVALENT: N_("警戒レベル%(n)s相当"),
}
# JMA's full name of the information: 警戒レベル４相当情報［土砂災害］.
EQUIVALENT_INFO = N_("警戒レベル%(n)s相当情報")
# The hazard in JMA's brackets, by lalert hazard tag, in the order tried.
EQUIVALENT_HAZARDS: dict[str, str] = {
    "landslide": N_("土砂災害"),
    "flood": N_("洪水"),
    "storm_surge": N_("高潮"),
}
# How the pieces join (each language its own punctuation): 警戒レベル4 避難指示 /
# Alert level 4 — Evacuation instruction; ［土砂災害］ / [landslide]; 土砂災害・洪水.
JOIN_NAME = N_("%(badge)s %(name)s")
JOIN_BRACKET = N_("%(info)s［%(hazard)s］")
JOIN_HAZARDS = N_("・")
# kind → bracket hazard when the alert's tags do not say (土砂災害警戒情報, 洪水予報)
KIND_HAZARDS: dict[str, str] = {"landslide": "landslide", "river_flood": "flood"}
# the languages of ``describe`` (push payloads, API bodies)
DESCRIBE_LANGS = ("ja", "en")


def source(kind: str | None, level: int | None) -> str | None:
    """Who a level comes from: ``order`` | ``equivalent`` | ``level``; None without a level."""
    if not level:
        return None
    if kind in ORDER_KINDS:
        return ORDER if level >= 3 else LEVEL
    if level <= 2 and kind in JMA_LEVEL_KINDS:
        return LEVEL
    return EQUIVALENT


def badge(level: int | None, src: str | None, lang: str) -> str | None:
    """'警戒レベル4' (an order) or '警戒レベル4相当' (JMA's information)."""
    if not level or src is None:
        return None
    return gettext(lang, BADGES[src]) % {"n": level}


def level_name(level: int | None, src: str | None, lang: str) -> str | None:
    """The order's name (避難指示 …) — never for 相当 information, which orders nothing."""
    if not level or src in (None, EQUIVALENT):
        return None
    msgid = LEVEL_NAMES.get(level)
    return gettext(lang, msgid) if msgid else None


def action(level: int | None, lang: str) -> str | None:
    msgid = LEVEL_ACTIONS.get(level or 0)
    return gettext(lang, msgid) if msgid else None


def bracket_hazard(kind: str | None, hazard_tags: Iterable[str], lang: str) -> str | None:
    """The ［…］ of 警戒レベル相当情報: from the alert's hazard tags, else from its kind."""
    tags = list(hazard_tags)
    names = [gettext(lang, EQUIVALENT_HAZARDS[h]) for h in EQUIVALENT_HAZARDS if h in tags]
    if not names and kind in KIND_HAZARDS:
        names = [gettext(lang, EQUIVALENT_HAZARDS[KIND_HAZARDS[kind]])]
    return gettext(lang, JOIN_HAZARDS).join(names) or None


def label(level: int | None, kind: str | None, hazard_tags: Iterable[str], lang: str) -> str | None:
    """The one label of an alert's level in every output.

    order: '警戒レベル4 避難指示' / 'Alert level 4 — Evacuation instruction';
    equivalent: '警戒レベル4相当情報［土砂災害］' / 'Alert level 4 equivalent information [landslide]';
    level: '警戒レベル2 避難行動の確認'.
    """
    src = source(kind, level)
    if src is None:
        return None
    if src == EQUIVALENT:
        text = gettext(lang, EQUIVALENT_INFO) % {"n": level}
        hz = bracket_hazard(kind, hazard_tags, lang)
        if hz:
            text = gettext(lang, JOIN_BRACKET) % {"info": text, "hazard": hz}
        return text
    name = level_name(level, src, lang)
    head = badge(level, src, lang) or ""
    if not name:
        return head
    return gettext(lang, JOIN_NAME) % {"badge": head, "name": name}


def describe(level: int | None, kind: str | None, hazard_tags: Iterable[str]) -> dict | None:
    """Everything outputs and push payloads say about a level, in both languages."""
    src = source(kind, level)
    if src is None:
        return None
    tags = list(hazard_tags)
    return {
        "level": level,
        "source": src,
        **{lang: {"label": label(level, kind, tags, lang), "badge": badge(level, src, lang),
                  "name": level_name(level, src, lang), "action": action(level, lang)}
           for lang in DESCRIBE_LANGS},
    }
