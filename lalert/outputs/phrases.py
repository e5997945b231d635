"""Fixed phrases of the public outputs (map, ``/text``, signage, CAP feeds, push): which
msgid names which concept, rendered through the one catalogue (``lalert.i18n``).

Free text stays as published (in Japanese); an English reader gets the kind of message and
the 警戒レベル words from the catalogue, which the desk reads too, so a term reads the same
everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lalert.i18n import HTML_LANG, N_, gettext, table
from lalert.i18n import LANGS as PAGE_LANGS  # the map and /text: every catalogue language
from lalert.vocab import levels as _levels

LANGS = ("ja", "en")  # CAP feeds; the map, /text and signage show all of PAGE_LANGS
# A language's own name (for "switch to …" links): an endonym is never translated.
LANG_NAMES = {"ja": "日本語", "en": "English", "zh_Hans": "中文（简体）", "ko": "한국어",
              "ja_x_easy": "やさしい日本語"}

# Alert kinds (lalert.vocab.KINDS), by the name the desk, map, feeds and push all show.
KIND_NAMES: dict[str, str] = {
    "weather_warning": N_("気象特別警報・警報・注意報"),
    "landslide": N_("土砂災害警戒情報"),
    "river_flood": N_("指定河川洪水予報"),
    "record_rain": N_("記録的短時間大雨情報"),
    "tornado": N_("竜巻注意情報"),
    "weather_info": N_("気象情報"),
    "eew": N_("緊急地震速報"),
    "earthquake": N_("震度速報・震源・震度に関する情報"),
    "earthquake_activity": N_("地震の活動状況等に関する情報"),
    "tsunami": N_("津波警報・注意報・予報・津波情報"),
    "volcano": N_("噴火警報・予報・火山の状況・噴火速報"),
    "ashfall": N_("降灰予報"),
    "nankai": N_("南海トラフ地震に関連する情報"),
    "evacuation": N_("避難指示・高齢者等避難・緊急安全確保"),
    "shelter": N_("避難所情報"),
    "headquarters": N_("災害対策本部設置状況"),
    "damage": N_("被害情報"),
    "general": N_("お知らせ・その他"),
    "urgent_mail": N_("緊急速報メール"),
    "river_level": N_("水位・雨量・河川情報"),
    "event": N_("イベント情報"),
    "system": N_("システム"),
    "other": N_("その他"),
}

# Designated-site hazards (lalert.vocab.SHELTER_HAZARDS): the law's terms.
HAZARD_NAMES: dict[str, str] = {
    "flood": N_("洪水"),
    "landslide": N_("崖崩れ、土石流及び地滑り"),
    "storm_surge": N_("高潮"),
    "earthquake": N_("地震"),
    "tsunami": N_("津波"),
    "large_fire": N_("大規模な火事"),
    "inland_flood": N_("内水氾濫"),
    "volcano": N_("火山現象"),
}

# A shelter's state (lalert.geo.reports statuses) as every output names it.
SHELTER_STATES: dict[str, str] = {
    "open": N_("開設"),
    "permanent": N_("常設"),
    "closed": N_("閉鎖"),
    "unopened": N_("未開設"),
    "crowded": N_("開設・混雑"),
    "full": N_("定員一杯"),
    "unknown": N_("状況不明"),
}

# Compass points of "which way to walk" (signage), N first, clockwise.
DIRECTIONS: dict[str, str] = {
    "N": N_("北"), "NE": N_("北東"), "E": N_("東"), "SE": N_("南東"),
    "S": N_("南"), "SW": N_("南西"), "W": N_("西"), "NW": N_("北西"),
}
FEED_TITLES = {False: N_("lalert 防災情報（CAP）"), True: N_("lalert 訓練情報（CAP）")}  # by drills
LIFTED = N_("解除")  # an alert no longer in force (push titles)
AREA = N_("対象地域")  # an area without a name (CAP areaDesc)

# The map's and /text's words; the map's script gets them as JSON (``ui``).
UI: dict[str, str] = {
    "title": N_("防災マップ"),
    "text_title": N_("防災情報（テキスト版）"),
    "alerts": N_("発表中の情報"),
    "no_alerts": N_("現在、発表中の情報はありません。"),
    "level": N_("警戒レベル"),
    "no_level": N_("レベルなし"),
    "what_to_do": N_("とるべき行動"),
    "areas": AREA,
    "shelters": N_("避難場所・避難所"),
    "hotspots": N_("公衆無線LAN"),
    "municipalities": N_("市町村境界"),
    "basemap": N_("背景地図"),
    "no_basemap": N_("背景地図なし（オフライン表示）"),
    "cluster": N_("避難場所・避難所 {n}か所（拡大すると個別に表示）"),
    "where": N_("現在地の情報"),
    "where_btn": N_("現在地を調べる"),
    "where_hint": N_("地図をタップしても調べられます。"),
    "here_alerts": N_("この地点に発表中の情報"),
    "here_none": N_("この地点に発表中の情報はありません。"),
    "here_none_placed": N_("地図上でこの地点にかかる情報はありません。"),
    "here_unplaced": N_("地図に範囲を示せない地域に発表中の情報（この地点が含まれるか確認してください）"),
    "more_places": N_("ほか%(n)s地域"),
    "nearest": N_("近くの開設中の避難場所"),
    # the list holds open sites and sites with no opening reported; or only the latter
    "nearest_any": N_("近くの避難場所"),
    "nearest_unreported": N_("近くに開設の報告がある避難所はありません。近くの指定避難場所："),
    "open_shelters": N_("開設中の避難所"),
    "reported_shelters": N_("市町村が報告した避難所の状況"),
    "nearest_none": N_("近くに開設中の避難先は見つかりません。"),
    "notify_btn": N_("この場所の情報を通知で受け取る"),
    "notify_ok": N_("通知を登録しました（半径1km）。"),
    "distance": N_("%(m)s m・徒歩%(min)s分"),
    "filter": N_("災害種別で絞り込み"),
    "all": N_("すべて"),
    "legend": N_("凡例"),
    "open": SHELTER_STATES["open"],
    "closed": N_("未開設・閉鎖"),
    "updated": N_("更新"),
    "text_link": N_("テキスト版"),
    "map_link": N_("地図版"),
    "drill": N_("訓練"),
    "issued": N_("発表"),
    "capacity": N_("収容人数"),
    "hazards": N_("対応災害"),
    "geo_error": N_("現在地を取得できませんでした。地図をタップしてください。"),
    "source": N_("出典"),
    "instruction": N_("発表者からの呼びかけ"),
    "show_all": N_("ほかの地域の情報も表示"),
    "region_only": N_("この地域の情報だけ表示"),
    "sources": N_("lalert ・ 気象庁 ・ Lアラート ・ 国土地理院 ・ 国土数値情報"),
}


# The Web Push module's messages (outputs/webpush/static/lalert-push.js marks the same
# msgids with N_); the map hands their translations to it as {msgid: text}.
PUSH_WORDS: tuple[str, ...] = (
    N_("この端末のブラウザはプッシュ通知に対応していません"),
    N_("通知が許可されていません"),
    N_("プッシュ通知は現在利用できません"),
    N_("登録が多すぎます。しばらくしてから再度お試しください"),
    N_("登録に失敗しました (%(status)s)"),
)


def push_words(lang: str) -> dict[str, str]:
    return {msgid: gettext(lang, msgid) for msgid in PUSH_WORDS}


def ui(lang: str) -> dict[str, str]:
    """The map's and /text's words in a language."""
    return table(lang, UI)


def lang_links(lang: str) -> list[dict[str, str]]:
    """The switch to every other page language: its ``?lang=`` value, its BCP 47 tag
    (``lang`` / ``hreflang``) and its own name (an endonym: a visitor looks for 한국어,
    not for the Japanese word for Korean)."""
    return [{"q": query_lang(other), "tag": HTML_LANG[other], "name": LANG_NAMES[other]}
            for other in PAGE_LANGS if other != lang]


def query_lang(lang: str) -> str:
    """A catalogue language as a ``?lang=`` value: zh-Hans, ja-x-easy (BCP 47 spelling)."""
    return lang.replace("_", "-")


# BCP 47 language (its primary subtag, or a whole tag) → catalogue language
_TAGS = {"ja-x-easy": "ja_x_easy", "ja": "ja", "en": "en", "ko": "ko", "zh": "zh_Hans"}


def lang_of(value: str | None) -> str | None:
    """The catalogue language of one BCP 47 tag (``?lang=`` or an Accept-Language entry):
    ``zh-Hans`` / ``zh-CN`` / ``zh-TW`` → zh_Hans (the Chinese lalert has), ``ko-KR`` → ko,
    ``ja-x-easy`` → やさしい日本語, ``en-GB`` → en, ``ja`` → ja; None for others."""
    if not value:
        return None
    tag = value[:64].strip().lower().replace("_", "-")[:35]  # the sender's: bounded first
    if tag in ("ja-x-easy", "easy"):
        return "ja_x_easy"
    return _TAGS.get(tag.split("-", 1)[0])


def accept_lang(header: str | None, default: str = "ja") -> str:
    """The page language for an Accept-Language header: its most wanted language lalert
    has (q-values honoured, order kept among equals), else ``default``. Only the first 20
    entries are read: the header is the sender's."""
    wanted: list[tuple[float, int, str]] = []
    for i, part in enumerate((header or "").split(",")[:20]):
        tag, _, params = part.partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        lang = lang_of(tag)
        if lang is not None and q > 0:
            wanted.append((-q, i, lang))
    return min(wanted)[2] if wanted else default


def kind_name(kind: str | None, lang: str) -> str:
    """An alert kind for people; the code itself for a kind the table does not know (so
    nothing is ever hidden)."""
    msgid = KIND_NAMES.get(kind or "other")
    return gettext(lang, msgid) if msgid else str(kind)


def level_label(level: int | None, kind: str | None, hazard_tags: Iterable[str],
                lang: str) -> str | None:
    """The alert's level as every output writes it (``lalert.vocab.levels.label``): a
    municipality's order ('警戒レベル4 避難指示') or JMA's '警戒レベル4相当情報［土砂災害］'."""
    return _levels.label(level, kind, hazard_tags, lang)


# A JMA warning class (``lalert.vocab.jma``: ADVISORY … SPECIAL) in a few words, for
# places under warnings that carry no 警戒レベル.
WARNING_CLASS_WORDS = {1: N_("注意報"), 2: N_("警報"), 3: N_("危険警報"), 4: N_("特別警報")}


def warning_class_word(cls: int, lang: str) -> str:
    return gettext(lang, WARNING_CLASS_WORDS[cls])


def grade_label(level: int | None, grade: tuple[int, tuple[str, ...]] | None,
                lang: str) -> str | None:
    """'特別警報: 大雪特別警報' where no 警戒レベル applies (``model.Grade``); None where one
    does, or no JMA warning is in force."""
    if level is not None or grade is None:
        return None
    return f"{warning_class_word(grade[0], lang)}: {'・'.join(grade[1])}"


def level_badge(level: int | None, kind: str | None, lang: str) -> str | None:
    """'警戒レベル4' or '警戒レベル4相当' (short, for badges)."""
    return _levels.badge(level, _levels.source(kind, level), lang)


def level_action(level: int | None, lang: str) -> str | None:
    return _levels.action(level, lang)


def level_info(ea: Any) -> dict[str, Any] | None:
    """The level's words in Japanese and English and who says it, for JSON bodies (push, API)."""
    return _levels.describe(ea.alert.level, ea.alert.kind, ea.hazard_tags)


def legend_word(level: int, lang: str) -> str:
    """A level's words in the map's colour key: the residents' action, which holds for a
    municipality's order and JMA's 相当 information alike (a name would claim an order)."""
    return gettext(lang, _levels.LEVEL_ACTIONS[level])


def hazard_name(hazard: str, lang: str) -> str:
    msgid = HAZARD_NAMES.get(hazard)
    return gettext(lang, msgid) if msgid else hazard


def shelter_state(state: str | None, lang: str) -> str:
    return gettext(lang, SHELTER_STATES.get(state or "unknown", SHELTER_STATES["unknown"]))


def direction(code: str | None, lang: str) -> str | None:
    """'北東' / 'northeast' for a compass code ('NE')."""
    return gettext(lang, DIRECTIONS[code]) if code in DIRECTIONS else None


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

