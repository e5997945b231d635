"""Pure view formatting for the desk: level colours (WCAG contrast) and their CSS, Japan
time, level wording, raw bytes as text. No request, no app: easy to test and reuse."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from lalert.outputs import phrases
from lalert.vocab import LEVEL_COLOURS
from lalert.vocab import levels as level_vocab

JST = timezone(timedelta(hours=9), "JST")


RAW_SHOWN = 32 * 1024  # bytes of a raw message shown inline


NO_LEVEL_COLOUR = "#d9dde1"


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def text_colour(bg: str) -> str:
    """Black or white, whichever contrasts more with ``bg`` (WCAG ratio)."""
    lum = _luminance(bg)
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"


def level_css() -> str:
    """``.lv1``–``.lv5`` (and ``.lv0`` for no level) from ``lalert.vocab.LEVEL_COLOURS``."""
    rules = []
    for lv, bg in [*sorted(LEVEL_COLOURS.items()), (0, NO_LEVEL_COLOUR)]:
        rules.append(f".lv{lv}{{background:{bg};color:{text_colour(bg)};"
                     f"border:2px solid {'#000' if lv in (1, 0) else bg}}}")
    return "\n".join(rules) + "\n"


def when(iso: str | None) -> str:
    """ISO time → ``2024-07-01 12:34 JST`` for operators (Japan time)."""
    if not iso:
        return "—"
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if t.tzinfo is None:
        return t.strftime("%Y-%m-%d %H:%M")
    return t.astimezone(JST).strftime("%Y-%m-%d %H:%M JST")


def level_text(level: int | None, lang: str, kind: str | None = None,
               hazard_tags: tuple[str, ...] = ()) -> str:
    """The level as every output writes it (``lalert.vocab.levels``): '警戒レベル4 避難指示'
    for a municipality's order, '警戒レベル4相当情報［土砂災害］' for JMA's information."""
    label = level_vocab.label(level, kind, hazard_tags, lang)
    if label:
        return label
    # no 警戒レベル (tsunami, earthquake, notices): the kind names it, as on the map
    return phrases.kind_name(kind, lang) if kind else phrases.ui(lang)["no_level"]


def raw_text(raw: bytes | None) -> tuple[str | None, bool]:
    """Bytes as text for display (escaped by the template), and whether it was cut."""
    if raw is None:
        return None, False
    cut = len(raw) > RAW_SHOWN
    return raw[:RAW_SHOWN].decode("utf-8", errors="replace"), cut

