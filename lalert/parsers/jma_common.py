"""Small, fast tree helpers and the area/hazard collector the JMA modules share (pure).

JMA puts Control in jmx, Head in informationBasis1 and Body in one namespace per
telegram family, and new namespaces may appear; so elements are matched by local name
only. These helpers walk direct children (no XPath compilation, no whole-tree
``iter()``), which keeps a message at a few hundred microseconds.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

from lxml import etree

from lalert.model import Area, Hazard
from lalert.vocab import SEVERITY_ORDER, severity_for_level

_El = etree._Element


def kids(el: _El | None, name: str) -> Iterator[_El]:
    """Direct children with this local name, in document order, whatever the namespace.

    ``iterchildren('{*}Name')`` filters in C, so non-matching siblings never become
    Python objects: three times faster than comparing tags in Python.
    """
    if el is None:
        return iter(())
    return el.iterchildren("{*}" + name)


def kid(el: _El | None, name: str) -> _El | None:
    """First direct child with this local name."""
    if el is None:
        return None
    for c in el.iterchildren("{*}" + name):
        return c
    return None


def walk(el: _El | None, *names: str) -> _El | None:
    for n in names:
        el = kid(el, n)
        if el is None:
            return None
    return el


def leaf(el: _El | None) -> str | None:
    """Stripped text of an element (its descendants' text too), None when empty."""
    if el is None:
        return None
    t = el.text if len(el) == 0 else "".join(el.itertext())
    if t is None:
        return None
    t = t.strip()
    return t or None


def text_at(el: _El | None, *names: str) -> str | None:
    return leaf(walk(el, *names))


def local(tag: Any) -> str:
    n = _LOCAL.get(tag) if tag.__class__ is str else ""
    return n if n is not None else _local_of(tag)


# ISO 6709 as JMA writes it: "+37.4+138.6-10000/", "+3624.38+13831.38+2568/",
# "+35.2+139.1/" (no depth), "-12.3+170.5-600000/". Degrees, DDMM.mm or DDMMSS forms.
_COORD = re.compile(
    r"^\s*([+-])(\d+(?:\.\d+)?)([+-])(\d+(?:\.\d+)?)(?:([+-])(\d+(?:\.\d+)?))?\s*/?\s*$"
)


def _deg(whole: str, deg_digits: int) -> float:
    head, _, frac = whole.partition(".")
    if len(head) <= deg_digits:
        return float(whole)
    d = int(head[:deg_digits])
    rest = head[deg_digits:]
    if len(rest) <= 2:  # DDMM(.mm)
        return d + float(rest + ("." + frac if frac else "")) / 60.0
    m = int(rest[:2])  # DDMMSS(.ss)
    s = float(rest[2:] + ("." + frac if frac else ""))
    return d + m / 60.0 + s / 3600.0


def parse_coordinate(value: str | None) -> dict[str, float | None] | None:
    """ISO 6709 string → {lat, lon, depth_km | height_m}; None when absent or unreadable.

    Depth is given by JMA as a negative height in metres; we report ``depth_km`` for
    hypocentres (negative third value) and ``height_m`` for volcano summits (positive).
    """
    if not value:
        return None
    m = _COORD.match(value)
    if not m:
        return None
    lat = _deg(m.group(2), 2) * (-1 if m.group(1) == "-" else 1)
    lon = _deg(m.group(4), 3) * (-1 if m.group(3) == "-" else 1)
    out: dict[str, float | None] = {"lat": round(lat, 6), "lon": round(lon, 6)}
    if m.group(6) is not None:
        z = float(m.group(6)) * (-1 if m.group(5) == "-" else 1)
        if z <= 0:
            out["depth_km"] = round(-z / 1000.0, 3)
        else:
            out["height_m"] = z
    return out


def max_severity(values: list[str]) -> str:
    best = "Unknown"
    for v in values:
        if SEVERITY_ORDER.get(v, 0) > SEVERITY_ORDER[best]:
            best = v
    return best


# Clark tag → local name. A telegram repeats a few dozen tags thousands of times, and a
# dict hit costs less than finding and slicing the "}" of each; bounded, because tags
# come from whoever sent the message.
_LOCAL: dict[str, str] = {}
_LOCAL_MAX = 4096


def _local_of(t: str) -> str:
    if len(_LOCAL) >= _LOCAL_MAX:
        _LOCAL.clear()
    n = _LOCAL[t] = t[t.rfind("}") + 1 :]
    return n


def scan(el: _El | None, name: str = "", every: list[_El] | None = None) -> dict[str, _El]:
    """First child per local name, in one pass over the children (for elements with
    several leaves read together, e.g. Area's Name and Code or Kind's Name/Code/Status);
    the same pass gathers every child called ``name`` into ``every`` (an Area's Cities,
    an Item's Stations). One pass costs less than a ``kid()`` per leaf: each
    ``iterchildren`` costs more than visiting a few children."""
    d: dict[str, _El] = {}
    if el is None:
        return d
    get = _LOCAL.get
    for c in el:
        t = c.tag
        n = get(t)
        if n is None:
            if t.__class__ is not str:
                continue  # comments / processing instructions (removed at parse anyway)
            n = _local_of(t)
        if n not in d:
            d[n] = c
        if every is not None and n == name:
            every.append(c)
    return d


def tx(el: _El | None) -> str | None:
    """Stripped text of a leaf element, None for missing or empty."""
    if el is None:
        return None
    t = el.text
    if t is None:
        return None
    t = t.strip()
    return t or None


def _builder(cls: type) -> Any:
    """A constructor for a frozen model dataclass that skips ``__init__``.

    A frozen dataclass's generated ``__init__`` sets each field through
    ``object.__setattr__``; a big earthquake report makes ~2,000 Area/Hazard objects, and
    this costs a third of the parse. Filling ``__dict__`` directly gives an identical
    object (same fields, eq, hash, repr). It falls back to the class itself when the
    model grows anything this shortcut would skip (``__post_init__``, slots, factories).
    """
    flds = dataclasses.fields(cls)
    if (
        hasattr(cls, "__post_init__")
        or "__slots__" in cls.__dict__
        or any(f.default_factory is not dataclasses.MISSING for f in flds)
    ):
        return None
    defaults = {f.name: f.default for f in flds if f.default is not dataclasses.MISSING}
    new = object.__new__

    def build(values: dict[str, Any]) -> Any:
        obj = new(cls)
        d = obj.__dict__
        d.update(defaults)
        d.update(values)
        return obj

    return build


_build_area = _builder(Area)
_build_hazard = _builder(Hazard)


def make_area(values: dict[str, Any]) -> Area:
    return _build_area(values) if _build_area else Area(**values)


def make_hazard(values: dict[str, Any]) -> Hazard:
    return _build_hazard(values) if _build_hazard else Hazard(**values)


class Collector:
    """Areas (deduplicated by scheme and code, order kept), hazards and text parts."""

    __slots__ = ("_areas", "hazards", "texts", "details", "fallback_severity")

    def __init__(self) -> None:
        self._areas: dict[tuple[str, str | None, str | None], tuple[str | None, str | None]] = {}
        self.hazards: list[Hazard] = []
        self.texts: list[str] = []
        self.details: dict[str, Any] = {}
        self.fallback_severity: str = "Unknown"

    def area(self, code: str | None, name: str | None, scheme: str) -> None:
        if code is None and name is None:
            return
        key = (scheme, code, None if code is not None else name)
        if key not in self._areas:
            self._areas[key] = (code, name)

    def area_el(self, el: _El, scheme: str) -> tuple[str | None, str | None]:
        """Record an <Area> (Name, Code children); returns (code, name)."""
        d = scan(el)
        code = tx(d.get("Code"))
        name = tx(d.get("Name"))
        if code is not None or name is not None:
            key = (scheme, code, None if code is not None else name)
            if key not in self._areas:
                self._areas[key] = (code, name)
        return code, name

    def area_fields(self, d: dict[str, _El], scheme: str) -> str | None:
        """Record an area from a ``scan()`` of its element; returns its code."""
        code = tx(d.get("Code"))
        name = tx(d.get("Name"))
        if code is not None or name is not None:
            key = (scheme, code, None if code is not None else name)
            if key not in self._areas:
                self._areas[key] = (code, name)
        return code

    def hazard(
        self,
        area_code: str | None,
        area_scheme: str,
        kind: str,
        name: str,
        state: str,
        *,
        code: str | None = None,
        state_label: str | None = None,
        sub_kinds: tuple[str, ...] = (),
        level: int | None = None,
        severity: str | None = None,
    ) -> None:
        self.hazards.append(
            make_hazard(
                {
                    "area_code": area_code,
                    "area_scheme": area_scheme,
                    "kind": kind,
                    "name": name,
                    "state": state,
                    "code": code,
                    "state_label": state_label,
                    "sub_kinds": sub_kinds,
                    "level": level,
                    "severity": severity or severity_for_level(level),
                }
            )
        )

    def hazard_spec(self, area_code: str | None, area_scheme: str, spec: dict[str, Any]) -> None:
        """Add a hazard from a prepared field dict (shared by every area of one Kind)."""
        values = dict(spec)
        values["area_code"] = area_code
        values["area_scheme"] = area_scheme
        self.hazards.append(make_hazard(values))

    def text(self, value: str | None) -> None:
        if value and value not in self.texts:
            self.texts.append(value)

    @property
    def areas(self) -> tuple[Area, ...]:
        """The areas, each with the status its hazards give it (``Area`` docstring).

        An area with hazards is ``active`` when one of them is in force there, else
        ``lifted`` when one was lifted, else ``none``. When some hazards name their
        areas, an area with none of its own is a ``scope`` area (the prefecture, a
        coarser summary row); hazards for the whole message (no area code) give their
        status to every area; a message with no hazards leaves every area ``active``.
        """
        per: dict[tuple[str, str], list[Hazard]] = {}
        wide: list[Hazard] = []
        for h in self.hazards:
            if h.area_code is None:
                wide.append(h)
            else:
                per.setdefault((h.area_scheme, h.area_code), []).append(h)
        wide_status = area_status(wide) if wide else None
        default = wide_status or (("scope", None) if per else ("active", None))
        out = []
        for key, (c, n) in self._areas.items():
            hs = per.get((key[0], c)) if c is not None else None
            status, label = area_status(hs) if hs else default
            out.append(make_area({"code": c, "scheme": key[0], "name": n,
                                  "status": status, "status_label": label}))
        return tuple(out)


_OFF_STATES = frozenset({"lifted", "none"})


def area_status(hazards: list[Hazard]) -> tuple[str, str | None]:
    """(status, source words) of one area from the hazards a message gives it there."""
    on = [h for h in hazards if h.state not in _OFF_STATES]
    if on:
        chosen, status = on, "active"
    elif any(h.state == "lifted" for h in hazards):
        chosen, status = [h for h in hazards if h.state == "lifted"], "lifted"
    else:
        chosen, status = hazards, "none"
    labels: list[str] = []
    for h in chosen:
        if h.state_label and h.state_label not in labels:
            labels.append(h.state_label)
    return status, "・".join(labels) or None
