"""Which designated-site hazards (``lalert.vocab.SHELTER_HAZARDS``) an alert concerns.

A site designated for floods only is no tsunami refuge (災害対策基本法 第49条の4: sites
are designated per 異常な現象の種類), so the alert's hazards must be mapped onto exactly
those eight kinds. One table, read top to bottom; each pattern is matched against the
hazard kind, its sub-kinds and its published name, so it works for JMA, Commons and CAP
wording alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lalert.model import Alert, Hazard
from lalert.vocab import SHELTER_HAZARDS

# (pattern, shelter hazards). Sources: JMA 警報・注意報の種類; 土砂災害警戒情報 → 崖崩れ等;
# 大雨警報(浸水害) → 内水氾濫; 洪水警報 / 指定河川洪水予報 → 洪水; 高潮 → 高潮.
HAZARD_TABLE: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (re.compile(r"landslide|sediment|土砂|崖崩れ|土石流|地すべり|地滑り", re.I), ("landslide",)),
    (re.compile(r"inundation|浸水|内水", re.I), ("inland_flood",)),
    (re.compile(r"storm_surge|storm surge|高潮", re.I), ("storm_surge",)),
    (re.compile(r"tsunami|津波", re.I), ("tsunami",)),
    (re.compile(r"river_flood|flood|洪水|氾濫", re.I), ("flood",)),
    (re.compile(r"earthquake|eew|seismic|quake|地震|震度", re.I), ("earthquake",)),
    (re.compile(r"volcan|eruption|ashfall|噴火|火山|降灰", re.I), ("volcano",)),
    (re.compile(r"large_fire|fire|大規模な火事|大火|火災", re.I), ("large_fire",)),
    # 大雨 without a sub-kind threatens both slopes and low ground.
    (re.compile(r"heavy_rain|大雨", re.I), ("landslide", "inland_flood")),
)

# Alert kinds (lalert.vocab.KINDS) that name their hazard by themselves.
KIND_TAGS: dict[str, tuple[str, ...]] = {
    "landslide": ("landslide",),
    "river_flood": ("flood",),
    "eew": ("earthquake",),
    "earthquake": ("earthquake",),
    "tsunami": ("tsunami",),
    "volcano": ("volcano",),
    "ashfall": ("volcano",),
    "record_rain": ("landslide", "inland_flood"),
}

NOT_IN_FORCE = frozenset({"lifted", "none"})


def tags_for_words(words: Iterable[str]) -> set[str]:
    """Shelter hazards named by any of ``words`` (kinds, sub-kinds, published names)."""
    out: set[str] = set()
    for w in words:
        if not w:
            continue
        for pattern, tags in HAZARD_TABLE:
            if pattern.search(w):
                out.update(tags)
                if tags != ("landslide", "inland_flood"):
                    break  # first specific match wins: 大雨(土砂災害) is landslide only
    return out


def hazard_tags_for(hazard: Hazard) -> set[str]:
    """Tags for one hazard: its sub-kinds decide when present (大雨 → 土砂災害 only)."""
    if hazard.sub_kinds:
        tags = tags_for_words(hazard.sub_kinds)
        if tags:
            return tags
    return tags_for_words((hazard.kind, hazard.name))


def alert_hazard_tags(alert: Alert) -> tuple[str, ...]:
    """The shelter hazards an alert concerns, in ``SHELTER_HAZARDS`` order."""
    tags: set[str] = set(KIND_TAGS.get(alert.kind, ()))
    for h in alert.hazards:
        if h.state not in NOT_IN_FORCE:
            tags |= hazard_tags_for(h)
    if not tags and alert.kind in {"evacuation", "urgent_mail", "general", "other"}:
        tags = tags_for_words((alert.title, alert.headline or ""))
    return tuple(t for t in SHELTER_HAZARDS if t in tags)


def place_hazard_tags(alert: Alert) -> dict[tuple[str, str | None, str | None], tuple[str, ...]]:
    """The shelter hazards in force at each active area (``Alert.area_hazards``), keyed
    ``area_key``, in ``SHELTER_HAZARDS`` order; empty where its hazards name none (the
    caller then takes the alert's, ``EnrichedAlert.hazard_tags``: an order naming its
    hazard only in its title).

    What a site near that place must be designated for — every one of them: a riverbank
    designated for 崖崩れ is no refuge where a 洪水警報 is in force as well."""
    return {key: site_hazards(alert.kind, hazards)
            for key, hazards in alert.area_hazards().items()}


def site_hazards(kind: str, hazards: Iterable[Hazard]) -> tuple[str, ...]:
    """The shelter hazards of an alert ``kind`` and some of its ``hazards`` (those in
    force at one place), in ``SHELTER_HAZARDS`` order."""
    tags = set(KIND_TAGS.get(kind, ()))
    for h in hazards:
        tags |= hazard_tags_for(h)
    return tuple(t for t in SHELTER_HAZARDS if t in tags)
