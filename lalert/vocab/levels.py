"""警戒レベル wording: who said it, in one table every output reads.

A municipality *orders* (緊急安全確保 / 避難指示 / 高齢者等避難, levels 5–3); JMA *informs*
(警戒レベル相当情報: 土砂災害警戒情報 is "警戒レベル４相当情報［土砂災害］"); levels 2 and 1 are
JMA's own (注意報, 早期注意情報). The two never share a label.

Sources: 内閣府「避難情報に関するガイドライン」(令和3年5月, 令和4年9月改定) for the orders,
the residents' actions and the English of the level names; 気象庁「防災気象情報と警戒レベルとの
対応について」for the wording of 警戒レベル相当情報 ("警戒レベル４相当情報［土砂災害］").

The English strings are also the msgids of signage's gettext catalogues
(``signage/locales/*/LC_MESSAGES/signage.po``); their Japanese msgstr must equal the
Japanese here (``tests/test_level_vocab.py`` checks), so a term is spelled once.
"""

from __future__ import annotations

from collections.abc import Iterable

ORDER = "order"  # a municipality's 避難情報 (levels 3–5)
EQUIVALENT = "equivalent"  # JMA's 警戒レベル相当情報 (or a level read from CAP severity)
LEVEL = "level"  # a level JMA itself issues (2: 注意報, 1: 早期注意情報)
SOURCES = (ORDER, EQUIVALENT, LEVEL)

# kinds whose level is a municipality's order (Commons EvacuationOrder, CAP evacuation)
ORDER_KINDS = frozenset({"evacuation"})
# kinds whose levels 1–2 are JMA's own 警戒レベル (大雨・洪水・高潮注意報, 早期注意情報)
JMA_LEVEL_KINDS = frozenset({"weather_warning"})

# Level names (ja, en). 3–5 are the municipal orders; 1–2 the guideline's names.
LEVEL_NAMES: dict[int, tuple[str, str]] = {
    5: ("緊急安全確保", "Emergency safety measures"),
    4: ("避難指示", "Evacuation order"),
    3: ("高齢者等避難", "Evacuation of elderly people, etc."),
    2: ("避難行動の確認", "Check how to evacuate"),
    1: ("災害への心構えを高める", "Raise awareness of disasters"),
}
# What residents do at each level (ja, en): the same for an order and its 相当 information.
LEVEL_ACTIONS: dict[int, tuple[str, str]] = {
    5: ("命の危険 直ちに安全確保！", "Danger to life! Secure your safety immediately!"),
    4: ("危険な場所から全員避難", "Everyone evacuate from dangerous places"),
    3: ("危険な場所から高齢者等は避難", "Elderly people and others evacuate from dangerous places"),
    2: ("自らの避難行動を確認", "Check how and where you will evacuate"),
    1: ("災害への心構えを高める", "Be prepared for disasters"),
}
# Short badges (ja, en) with ``%(n)s`` for the level: printf style, as gettext uses them.
BADGES: dict[str, tuple[str, str]] = {
    ORDER: ("警戒レベル%(n)s", "Alert level %(n)s"),
    LEVEL: ("警戒レベル%(n)s", "Alert level %(n)s"),
    EQUIVALENT: ("警戒レベル%(n)s相当", "Alert level %(n)s equivalent"),
}
# JMA's full name of the information: 警戒レベル４相当情報［土砂災害］ (ja, en).
EQUIVALENT_INFO: tuple[str, str] = ("警戒レベル%(n)s相当情報", "Alert level %(n)s equivalent information")
# The hazard in JMA's brackets, by lalert hazard tag (ja, en), in the order tried.
EQUIVALENT_HAZARDS: dict[str, tuple[str, str]] = {
    "landslide": ("土砂災害", "landslide"),
    "flood": ("洪水", "flood"),
    "storm_surge": ("高潮", "storm surge"),
}
# kind → bracket hazard when the alert's tags do not say (土砂災害警戒情報, 洪水予報)
KIND_HAZARDS: dict[str, str] = {"landslide": "landslide", "river_flood": "flood"}

_LANG = {"ja": 0, "en": 1}


def _i(lang: str) -> int:
    return _LANG.get(lang, 0)


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
    return BADGES[src][_i(lang)] % {"n": level}


def level_name(level: int | None, src: str | None, lang: str) -> str | None:
    """The order's name (避難指示 …) — never for 相当 information, which orders nothing."""
    if not level or src in (None, EQUIVALENT):
        return None
    pair = LEVEL_NAMES.get(level)
    return pair[_i(lang)] if pair else None


def action(level: int | None, lang: str) -> str | None:
    pair = LEVEL_ACTIONS.get(level or 0)
    return pair[_i(lang)] if pair else None


def bracket_hazard(kind: str | None, hazard_tags: Iterable[str], lang: str) -> str | None:
    """The ［…］ of 警戒レベル相当情報: from the alert's hazard tags, else from its kind."""
    tags = list(hazard_tags)
    names = [EQUIVALENT_HAZARDS[h][_i(lang)] for h in EQUIVALENT_HAZARDS if h in tags]
    if not names and kind in KIND_HAZARDS:
        names = [EQUIVALENT_HAZARDS[KIND_HAZARDS[kind]][_i(lang)]]
    return ("・" if lang != "en" else ", ").join(names) or None


def label(level: int | None, kind: str | None, hazard_tags: Iterable[str], lang: str) -> str | None:
    """The one label of an alert's level in every output.

    order: '警戒レベル4 避難指示' / 'Alert level 4 — Evacuation order';
    equivalent: '警戒レベル4相当情報［土砂災害］' / 'Alert level 4 equivalent information [landslide]';
    level: '警戒レベル2 避難行動の確認'.
    """
    src = source(kind, level)
    if src is None:
        return None
    i = _i(lang)
    if src == EQUIVALENT:
        text = EQUIVALENT_INFO[i] % {"n": level}
        hz = bracket_hazard(kind, hazard_tags, lang)
        if hz:
            text += f"［{hz}］" if i == 0 else f" [{hz}]"
        return text
    name = level_name(level, src, lang)
    head = badge(level, src, lang) or ""
    if not name:
        return head
    return f"{head} {name}" if i == 0 else f"{head} — {name}"


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
           for lang in _LANG},
    }
