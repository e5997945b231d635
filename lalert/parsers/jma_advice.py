"""What a JMA telegram tells residents to do (``Alert.instruction``), from where JMA puts it.

- Body/Comment/Text — the warnings' 補足情報 (Ｒ０６: "避難が必要となる危険な状況 …").
- Body/Comments/WarningComment and ForecastComment Text — 固定付加文 (tsunami, earthquake:
  "この地震による津波の心配はありません。", "海岸から離れてください").
- Head/Headline/Text sections ＜とるべき措置＞ and ＜…の補足情報＞ — 土砂災害警戒情報.
- Body/VolcanoInfoContent/VolcanoPrevention — 防災上の警戒事項 of volcano telegrams.
- Body/Warning/Item/Kind/Addition/Note — 付加事項 (竜巻, 落雷, 氾濫 …) of warnings in force.

VarComment (notes on the data) and FreeFormComment (commentary) are not advice; they stay
in ``Alert.text`` only. Elements are matched by local name (the Body namespace varies).
"""

from __future__ import annotations

import re

from lxml import etree

from lalert.parsers.jma_common import kid, kids, leaf, local, text_at

# Headline sections that are advice: ＜とるべき措置＞, ＜レベル４土砂災害危険警報の補足情報＞.
_ADVICE_SECTION = re.compile(r"^＜(とるべき措置|[^＞]+補足情報)＞\s*$")
_SECTION = re.compile(r"^＜[^＞]+＞\s*$")
# Kind/Status words of an item with nothing in force (its 付加事項 do not apply).
_NOT_IN_FORCE = ("解除", "なし", "発表警報・注意報はなし")
ADDITION_PREFIX = "付加事項: "


def headline_advice(text: str | None) -> list[str]:
    """The advice sections of a Headline text (the lines under ＜とるべき措置＞ …)."""
    out: list[str] = []
    current: list[str] | None = None
    for line in (text or "").splitlines():
        if _SECTION.match(line.strip()):
            if current:
                out.append("\n".join(current).strip())
            current = [] if _ADVICE_SECTION.match(line.strip()) else None
        elif current is not None:
            current.append(line.strip().lstrip("\u3000"))
    if current:
        out.append("\n".join(current).strip())
    return [p for p in out if p]


def _additions(body: etree._Element) -> list[str]:
    """The 付加事項 (Warning/Item/Kind/Addition/Note) of the Kinds still in force.

    A warning telegram has thousands of elements and a few hundred Additions naming a
    handful of notes (氾濫, 突風, うねり …): ``iter('{*}Addition')`` finds them in C (a
    ``local-name()`` XPath is five times slower) and only those become Python objects.
    The Kind/Item/Warning ancestry and the Kind's Status are checked only for a note not
    yet kept, so a repeated note costs one read.
    """
    notes: dict[str, None] = {}
    for w in body.iterchildren("{*}Warning"):
        for add in w.iter("{*}Addition"):
            in_force: bool | None = None
            for x in add.iterchildren("{*}Note"):
                n = leaf(x)
                if not n or n in notes:
                    continue
                if in_force is None:
                    in_force = _in_force_kind(add.getparent(), w)
                if in_force:
                    notes[n] = None
    return list(notes)


def _in_force_kind(k: etree._Element | None, w: etree._Element) -> bool:
    """Is ``k`` a Kind of an Item of ``w`` whose Status says it is in force?"""
    item = k.getparent() if k is not None else None
    if item is None or local(k.tag) != "Kind" or local(item.tag) != "Item" or item.getparent() is not w:
        return False
    status = text_at(k, "Status") or ""
    return not any(x in status for x in _NOT_IN_FORCE)


def instruction(head: etree._Element | None, body: etree._Element | None) -> str | None:
    """The telegram's advice as one text (paragraphs joined by a blank line), or None."""
    parts: list[str] = []
    headline = kid(head, "Headline") if head is not None else None
    parts += headline_advice(text_at(headline, "Text") if headline is not None else None)
    if body is not None:
        for c in kids(body, "Comment"):
            parts += [t for t in (leaf(x) for x in kids(c, "Text")) if t]
        for c in kids(body, "Comments"):
            for part in ("WarningComment", "ForecastComment"):
                parts += [t for t in (text_at(x, "Text") for x in kids(c, part)) if t]
        for c in kids(body, "VolcanoInfoContent"):
            parts += [t for t in (leaf(x) for x in kids(c, "VolcanoPrevention")) if t]
        notes = _additions(body)
        if notes:
            parts.append(ADDITION_PREFIX + "、".join(notes))
    text = "\n\n".join(dict.fromkeys(p.strip() for p in parts if p and p.strip()))
    return text or None  # bounded with every field by lalert.parsers.bounds
