"""Normalised keys for shelter names and addresses (pure, no I/O).

Municipalities write the same place many ways: 第２中学校 / 第2中学校 / 第二中学校,
人吉市立第一中学校 体育館, ﾀﾝﾎﾟﾎﾟ / たんぽぽ, 〇〇総合体育館（スポンサー名）. These keys make the
ways comparable; ``lalert.geo.match`` decides what counts as the same facility.

Width and kana forms come from ``jaconv`` (NFKC plus its dash / tilde unification and
hiragana → katakana), kanji numerals from ``kanjize``. The short word lists below are
not character tables but the vocabulary of Japanese facility names (owner prefixes,
building parts), which no library carries.
"""

from __future__ import annotations

import re
from functools import lru_cache

import jaconv
from kanjize import kanji2number

KANJI_DIGITS = "〇零一二三四五六七八九十百千"
_NUMERAL_AFTER_DAI = re.compile(f"第([{KANJI_DIGITS}]+)")
_NUMERAL_BEFORE_CHOME = re.compile(f"([{KANJI_DIGITS}]+)(丁目)")
_SPACES = re.compile(r"[\s\u3000・･]+")
_BRACKETED = re.compile(r"[(（\[［〔【「『<＜《]([^)）\]］〕】」』>＞》]*)[)）\]］〕】」』>＞》]")
_BRACKET_CHARS = re.compile(r"[()（）\[\]［］〔〕【】「」『』<>＜＞《》]")
# 〇〇市立 / 町立 / 村立 / 県立 / 国立 / 私立 … at the start of a name: the owner, not the place
_OWNER_PREFIX = re.compile(r"^(?:[^\s]{0,6}?[都道府県市区町村]立|国立|私立|組合立)")
# a building or part of a facility named after the facility itself
BUILDING_SUFFIXES = ("公民館分館", "体育館", "屋内運動場", "校舎", "本校舎", "講堂", "武道場", "武道館",
                     "グラウンド", "グランド", "運動場", "校庭", "本館", "分館", "別館", "北棟", "南棟",
                     "東棟", "西棟", "ホール", "会議室", "多目的室", "体育室")
# what the rest must end with for a suffix to be a building of it (総合体育館 stays whole)
_FACILITY_ENDINGS = ("学校", "校", "センター", "公民館", "会館", "館", "園", "所", "場", "ホーム")
_DIGITS = re.compile(r"\d+")
_ADDRESS_PARTS = re.compile(r"(丁目|番地の|番地|番|号|の)")
_DASHES = re.compile(r"[-‐‑‒–—―−ーｰ－]+")


def _numerals(text: str) -> str:
    def conv(m: re.Match[str], tail: str = "") -> str:
        try:
            return str(kanji2number(m.group(1)))
        except (ValueError, KeyError):
            return m.group(1)

    text = _NUMERAL_AFTER_DAI.sub(lambda m: "第" + conv(m), text)
    return _NUMERAL_BEFORE_CHOME.sub(lambda m: conv(m) + m.group(2), text)


@lru_cache(maxsize=65536)
def base(text: str | None) -> str:
    """NFKC (jaconv), katakana for hiragana, 第二 → 第2, no spaces or middle dots."""
    t = jaconv.normalize(str(text or ""), "NFKC")
    t = jaconv.hira2kata(t)
    t = _numerals(t).replace("高等学校", "高校")  # the usual short form, both ways written
    return _SPACES.sub("", t).strip()


def _strip_places(t: str, places: tuple[str, ...]) -> str:
    m = _OWNER_PREFIX.match(t)
    if m and len(t) > m.end():
        t = t[m.end():]
    changed = True
    while changed:
        changed = False
        for p in places:
            # 熊本県民総合運動公園 is not 熊本県 + 民総合運動公園
            if p and t.startswith(p) and len(t) > len(p) + 1 and t[len(p)] != "民":
                t, changed = t[len(p):], True
    return t


def building_stem(key: str) -> str | None:
    """``人吉東小学校体育館`` → ``人吉東小学校``; None when the name is not a building of a
    facility (``総合体育館`` is a facility of its own)."""
    for suf in sorted(BUILDING_SUFFIXES, key=len, reverse=True):
        if key.endswith(suf):
            rest = key[: -len(suf)]
            if len(rest) >= 2 and rest.endswith(_FACILITY_ENDINGS):
                return rest
    return None


def name_keys(name: str | None, places: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Comparable forms of a facility name, most specific first: the whole name without
    owner / municipality prefix and without brackets; the name without its bracketed
    part; the bracketed part alone (a sponsor's or former name); each one's building stem."""
    places = tuple(base(p) for p in places if p)
    t = base(name)
    if not t:
        return ()
    forms = [_BRACKET_CHARS.sub("", t)]
    outside = _BRACKETED.sub("", t)
    if outside != t:
        forms.append(outside)
        forms.extend(m.group(1) for m in _BRACKETED.finditer(t))
    out: list[str] = []
    for f in forms:
        k = _strip_places(_BRACKET_CHARS.sub("", f), places)
        if len(k) >= 2:
            out.append(k)
            stem = building_stem(k)
            if stem:
                out.append(stem)
    return tuple(dict.fromkeys(out))


def digits_of(key: str) -> tuple[str, ...]:
    """The numbers in a key: 第1 and 第5 中学校 never match each other."""
    return tuple(_DIGITS.findall(key))


@lru_cache(maxsize=65536)
def address_key(address: str | None, places: tuple[str, ...] = ()) -> str:
    """熊本県人吉市下原田町字荒毛２１３６ and 下原田町荒毛2136 → the same key: no prefecture or
    municipality, no 大字 / 字, 丁目 / 番地 / 号 as dashes."""
    t = base(address)
    if not t:
        return ""
    t = re.sub(r"^(?:北海道|東京都|大阪府|京都府|.{2,3}?県)", "", t)
    ps = tuple(base(p) for p in places if p)
    if ps:
        t = _strip_places(t, ps)
    else:
        t = re.sub(r"^(?:[^\d]{1,5}?郡[^\d]{1,5}?[町村]|[^\d]{1,5}?市(?:[^\d]{1,4}?区)?)", "", t)
    t = t.replace("大字", "").replace("字", "")
    t = _ADDRESS_PARTS.sub("-", t)
    t = _DASHES.sub("-", t)
    return t.strip("-")
