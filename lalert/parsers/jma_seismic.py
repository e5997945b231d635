"""Seismology bodies: 緊急地震速報 (VXSE43–45), 震度速報 / 震源 / 震源・震度 (VXSE51–53),
地震の活動状況等 (VXSE56), 津波 (VTSE41/51/52) and 南海トラフ (VYSE50–52).

Seismic intensity per area is a hazard of kind ``seismic_intensity`` named like
'震度5弱' (code '5-'), at the 細分区域 level (jma.eq_region) and, where the telegram
gives it, per municipality (jma.city); severity follows the intensity
(``vocab.jma.intensity_severity``). Intensities have no 警戒レベル. Tsunami categories
are hazards per 津波予報区; the hypocentre, magnitude and maximum intensity go to
``details``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from lxml import etree

from lalert.parsers.common import zen2han
from lalert.parsers.jma_common import (
    Collector,
    kid,
    kids,
    leaf,
    make_hazard,
    max_severity,
    parse_coordinate,
    scan,
    text_at,
    walk,
)
from lalert.vocab import jma as V


def parse_body(body: etree._Element, col: Collector, *, kind: str, title: str, head: etree._Element) -> None:
    infos: list[etree._Element] = []
    d = scan(body, "EarthquakeInfo", infos)  # one pass over the Body's sections
    if "Earthquake" in d:
        _earthquake(d["Earthquake"], col)
    di = _children_of(d, "Intensity")
    if "Forecast" in di:
        _eew_forecast(di["Forecast"], col)
    if "Observation" in di:
        _observation(di["Observation"], col)
    if "Tsunami" in d:
        _tsunami(d["Tsunami"], col)
    for info in infos:
        _earthquake_info(info, col, head)
    if kind == "eew":
        col.details["eew"] = {
            "warning": "警報" in title,
            "final": "NextAdvisory" in d and "最終" in (leaf(d["NextAdvisory"]) or ""),
        }


def _number(el: etree._Element | None) -> float | None:
    v = leaf_text(el) if el is not None else None
    if not v:
        return None
    try:
        f = float(v)
    except ValueError:
        return None
    return f if math.isfinite(f) else None  # 'INF' / 'NaN' are not JSON numbers


def _earthquake(eq: etree._Element, col: Collector) -> None:
    de = scan(eq)
    d: dict = {"origin_time": leaf(de.get("OriginTime"))}
    hypo_area = _children_of(de, "Hypocenter").get("Area")
    if hypo_area is not None:
        coords: list[etree._Element] = []
        da = scan(hypo_area, "Coordinate", coords)
        name = leaf(da.get("Name"))
        code = leaf(da.get("Code"))
        hypo: dict = {"name": name, "code": code}
        for c in coords:
            coord = parse_coordinate(leaf_text(c))
            if coord:
                hypo.update(coord)
                break
        mark = leaf(da.get("NameFromMark"))
        if mark:
            hypo["name_from_mark"] = mark
        d["hypocenter"] = hypo
        col.area(code, name, "jma.other")
    mag = de.get("Magnitude")
    if mag is not None:
        d["magnitude"] = _number(mag)
        d["magnitude_label"] = mag.get("description")
    col.details["earthquake"] = d


def leaf_text(el: etree._Element) -> str | None:
    return el.text.strip() if el.text and el.text.strip() else None


def _code_types(section: etree._Element) -> dict[str, str]:
    out: dict[str, str] = {}
    for t in kids(kid(section, "CodeDefine"), "Type"):
        if t.get("xpath") and t.text:
            out[t.get("xpath")] = t.text.strip()
    return out


def _intensity_name(frm: str | None, to: str | None) -> tuple[str, str | None]:
    """'5-','5-' → ('震度5弱', '5-'); '5-','over' → ('震度5弱以上', '5-'); '3','4' → ('震度3～4', '4')."""
    f = V.INTENSITY_NAMES.get(frm or "", frm or "不明")
    if to == "over":
        return f + "以上", frm
    if to is None or to == frm:
        return f, frm
    t = V.INTENSITY_NAMES.get(to, to)
    return f"{f}～{t.removeprefix('震度')}", to


def _eew_forecast(fc: etree._Element, col: Collector) -> None:
    ctypes = _code_types(fc)
    pref_scheme = V.scheme_for_code_type(ctypes.get("Pref/Code"))
    area_scheme = V.scheme_for_code_type(ctypes.get("Pref/Area/Code"), "jma.eq_region")
    fi = kid(fc, "ForecastInt")
    name, code = _intensity_name(text_at(fi, "From"), text_at(fi, "To"))
    d: dict = {"max_intensity": code, "max_intensity_name": name if fi is not None else None}
    lg = kid(fc, "ForecastLgInt")
    if lg is not None:
        d["max_lg_intensity"] = text_at(lg, "To") or text_at(lg, "From")
    col.details.setdefault("earthquake", {}).update(d)
    specs: dict[tuple, dict] = {}
    for level, row in _EEW_TABLE.rows(fc):
        if level == 0:
            col.area(row[0], row[1], pref_scheme)
            continue
        code_a = row[0]
        col.area(code_a, row[1], area_scheme)
        key = row[2:]  # From, To, Category/Kind/Name, Condition
        spec = specs.get(key)
        if spec is None:
            spec = specs[key] = {"area_scheme": area_scheme, **_eew_spec(*key)}
        col.hazards.append(make_hazard({**spec, "area_code": code_a}))


def _eew_spec(frm: str | None, to: str | None, cat_name: str | None, cond: str | None) -> dict:
    """Hazard fields (all but the area) of one forecast intensity row of an EEW."""
    iname, icode = _intensity_name(frm, to)
    sev = V.intensity_severity(icode)
    if cat_name and "警報" in cat_name and sev in ("Minor", "Moderate", "Unknown"):
        sev = "Severe"  # an EEW 警報 area is one where strong shaking is expected
    return {"kind": "seismic_intensity", "name": iname, "state": "issued", "code": icode,
            "state_label": cat_name or cond, "severity": sev}


def _observation(obs: etree._Element, col: Collector) -> None:
    ctypes = _code_types(obs)
    pref_scheme = V.scheme_for_code_type(ctypes.get("Pref/Code"), "jma.eq_pref")
    area_scheme = V.scheme_for_code_type(ctypes.get("Pref/Area/Code"), "jma.eq_region")
    city_scheme = V.scheme_for_code_type(ctypes.get("Pref/Area/City/Code"), "jma.city")
    maxint = text_at(obs, "MaxInt")
    eqd = col.details.setdefault("earthquake", {})
    eqd["max_intensity"] = maxint
    eqd["max_intensity_name"] = V.INTENSITY_NAMES.get(maxint or "")
    # A big 震源・震度情報 names ~1,000 areas and cities with a dozen distinct intensity
    # rows between them: the hazard fields are made once per distinct row and level.
    schemes = (pref_scheme, area_scheme, city_scheme)
    specs: dict[tuple, dict | None] = {}
    add_area, hazards = col.area, col.hazards
    for level, row in _OBS_TABLE.rows(obs):  # (Code, Name, MaxInt, Condition, Revise)
        code = row[0]
        add_area(code, row[1], schemes[level])
        if level == 0:
            continue
        key = (level, *row[2:])
        spec = specs.get(key, False)
        if spec is False:
            spec = specs[key] = _intensity_spec(schemes[level], *row[2:])
        if spec is not None:
            hazards.append(make_hazard({**spec, "area_code": code}))


class _Table:
    """Nested rows below a section (Pref > Area > City), each the text of some leaves,
    in document order: ``rows()`` → [(level, (text, ...)), ...].

    A big 震源・震度情報 has ~1,000 Cities with ~5,000 children, an EEW ~30 Areas of ~15
    elements each: visiting each child in Python (a proxy object and a tag string per
    child) is most of their parse. Here one compiled XPath per level and per leaf selects,
    in C, the first such element of every row. XPath matches a namespace where ``kid()``
    matches a local name; the two agree when every element below the section is in the
    section's own namespace, which is what JMA sends. ``rows()`` checks that and
    otherwise walks the section in Python by local name. Compiled expressions are kept
    per namespace: JMA's seismology one, and a few others (capped: the namespace comes
    from the message).

    ``levels``: (element name, leaf paths) per level, e.g. ("Area", ("Code", "ForecastInt/From")).
    A leaf is read as ``tx()`` does (the element's own text) unless ``read`` names another
    reader for its path (``leaf`` for the text with its descendants', ``_element`` for
    the element itself); the reader gets None for a leaf the row does not have.
    ``basis_leaves``: local names JMA puts in the jmx_eb namespace (TsunamiHeight), which
    the check then allows, and only in that namespace.
    """

    _MAX_NAMESPACES = 8

    def __init__(self, levels: tuple[tuple[str, tuple[str, ...]], ...],
                 read: dict[str, Callable] | None = None, basis_leaves: tuple[str, ...] = ()) -> None:
        self.levels = levels
        self.readers = tuple(tuple((read or {}).get(f, _text) for f in fields) for _, fields in levels)
        self.basis_leaves = basis_leaves
        self._by_ns: dict[str, tuple] = {}

    def rows(self, section: etree._Element) -> list[tuple[int, tuple]]:
        bulk = self._bulk(section)
        return bulk if bulk is not None else self._walk(section)

    def _compiled(self, ns: str) -> tuple | None:
        xps = self._by_ns.get(ns)
        if xps is None:
            if len(self._by_ns) >= self._MAX_NAMESPACES and ns != _SEISMOLOGY_NS:
                return None
            m = {"s": ns, "e": _BASIS_NS}
            per_level = []
            path = ""
            for name, fields in self.levels:
                path = f"{path}/s:{name}" if path else f"s:{name}"
                per_level.append((
                    etree.XPath(path, namespaces=m),
                    tuple((etree.XPath(path + "".join(f"/{self._prefix(p)}:{p}[1]" for p in f.split("/")), namespaces=m),
                           f.count("/") + 1) for f in fields),
                ))
            check = etree.XPath(
                "count(descendant::*) = count(descendant::s:*)"
                + "".join(f" + count(descendant::e:{n})" for n in self.basis_leaves)
                + "".join(f" and not(descendant::s:{n})" for n in self.basis_leaves),
                namespaces=m,
            )
            xps = self._by_ns[ns] = (check, tuple(per_level))
        return xps

    def _prefix(self, name: str) -> str:
        return "e" if name in self.basis_leaves else "s"

    def _bulk(self, section: etree._Element) -> list[tuple[int, tuple]] | None:
        tag = section.tag
        if not tag.startswith("{"):
            return None
        xps = self._compiled(tag[1 : tag.index("}")])
        if xps is None or not xps[0](section):
            return None
        rows: list[list[etree._Element]] = []
        values: list[list[tuple]] = []
        for (rows_xp, field_xps), readers in zip(xps[1], self.readers, strict=True):
            r = rows_xp(section)
            rows.append(r)
            values.append(_columns(r, [(xp(section), depth, read)
                                       for (xp, depth), read in zip(field_xps, readers, strict=True)]))
        # Merge the per-level lists (each in document order) back into one walk: each row
        # is followed by its children's rows. Proxies are kept alive in ``rows``, so
        # ``getparent()`` returns the very objects held there.
        out: list[tuple[int, tuple]] = []
        add = out.append
        last = len(rows) - 1
        pos = [0] * len(rows)

        def emit(level: int, parent: etree._Element | None) -> None:
            r, v = rows[level], values[level]
            i, n = pos[level], len(r)
            while i < n and (parent is None or r[i].getparent() is parent):
                add((level, v[i]))
                i += 1
                if level < last:
                    pos[level] = i
                    emit(level + 1, r[i - 1])
            pos[level] = i

        emit(0, None)
        return out

    def _walk(self, section: etree._Element) -> list[tuple[int, tuple]]:
        """The same rows by local name, whatever the namespaces (``kid()``'s rule)."""
        out: list[tuple[int, tuple]] = []
        last = len(self.levels) - 1

        def visit(el: etree._Element, level: int) -> None:
            below: list[etree._Element] = []
            d = scan(el, self.levels[level + 1][0] if level < last else "", below)
            out.append((level, tuple(read(_leaf_at(d, f))
                                     for f, read in zip(self.levels[level][1], self.readers[level], strict=True))))
            for child in below:
                visit(child, level + 1)

        for el in kids(section, self.levels[0][0]):
            visit(el, 0)
        return out


def _leaf_at(d: dict[str, etree._Element], path: str) -> etree._Element | None:
    """The element at ``path`` ("ForecastInt/From"): first child per step, by local name."""
    first, _, rest = path.partition("/")
    el = d.get(first)
    return walk(el, *rest.split("/")) if rest and el is not None else el


def _columns(rows: list[etree._Element], found: list[tuple[list, int, Callable]]) -> list[tuple]:
    """Per row, the text of each leaf (None where it has none).

    Each leaf's list holds at most one element per row, in row order: when it holds one
    for every row it lines up as it is, else each element is matched to its row through
    its ancestor ``depth`` levels up."""
    cols: list[list[str | None]] = []
    for els, depth, read in found:
        if not els:  # Condition, Revise: mostly absent everywhere
            cols.append([None] * len(rows))
            continue
        if len(els) != len(rows):
            by_row = {}
            for e in els:
                up = e
                for _ in range(depth):
                    up = up.getparent()
                by_row[up] = e
            els = [by_row.get(r) for r in rows]
        cols.append([read(e) for e in els])
    return list(zip(*cols, strict=True))


def _text(el: etree._Element | None) -> str | None:
    """``jma_common.tx``: stripped text of a leaf, None for missing or empty."""
    if el is None:
        return None
    t = el.text
    return (t.strip() or None) if t else None


_ROW_FIELDS = ("Code", "Name", "MaxInt", "Condition", "Revise")
_BASIS_NS = "http://xml.kishou.go.jp/jmaxml1/elementBasis1/"  # jmx_eb
_SEISMOLOGY_NS = "http://xml.kishou.go.jp/jmaxml1/body/seismology1/"


def _element(el: etree._Element | None) -> etree._Element | None:
    return el


_PREF = ("Pref", ("Code", "Name"))
_OBS_TABLE = _Table((_PREF, ("Area", _ROW_FIELDS), ("City", _ROW_FIELDS)))
_EEW_TABLE = _Table(
    (_PREF, ("Area", ("Code", "Name", "ForecastInt/From", "ForecastInt/To", "Category/Kind/Name", "Condition"))),
    read={"Category/Kind/Name": leaf},
)
# 津波予報: per 予報区 Item, its Area, Kind, LastKind (when continued) and the forecast height.
_TSUNAMI_FORECAST_TABLE = _Table(
    (("Item", ("Area", "Area/Code", "Area/Name", "Category/Kind/Name", "Category/Kind/Code", "Category/LastKind",
               "Category/LastKind/Name", "Category/LastKind/Code", "MaxHeight/TsunamiHeight")),),
    read={"Area": _element, "Category/LastKind": _element, "MaxHeight/TsunamiHeight": _element,
          "Category/Kind/Name": leaf, "Category/Kind/Code": leaf,
          "Category/LastKind/Name": leaf, "Category/LastKind/Code": leaf},
    basis_leaves=("TsunamiHeight",),
)
# 津波観測 / 推定: per Item its Area, per tide Station the height observed so far.
_TSUNAMI_STATION_TABLE = _Table(
    (("Item", ("Area/Code", "Area/Name")), ("Station", ("MaxHeight/TsunamiHeight",))),
    read={"MaxHeight/TsunamiHeight": _number},
    basis_leaves=("TsunamiHeight",),
)


def _intensity_spec(scheme: str, mi: str | None, cond: str | None, revise: str | None) -> dict | None:
    """Hazard fields (all but the area code) of an observed intensity; None when there is none."""
    if mi is None and cond is None:
        return None
    if mi is None:  # 震度５弱以上未入電: strong shaking likely, no report received yet
        return {"area_scheme": scheme, "kind": "seismic_intensity", "name": zen2han(cond), "state": "issued",
                "code": None, "state_label": cond, "severity": "Severe"}
    sev = V.intensity_severity(mi)
    if cond and "未入電" in cond:  # observed so far, with a 5弱+ report still missing
        sev = max_severity([sev, "Severe"])
    return {"area_scheme": scheme, "kind": "seismic_intensity", "name": V.INTENSITY_NAMES.get(mi, f"震度{mi}"),
            "state": "issued", "code": mi, "state_label": cond or revise, "severity": sev}


def _tx(d: dict[str, etree._Element], name: str) -> str | None:
    """``tx(d.get(name))`` with one call fewer, for the per-area loops."""
    el = d.get(name)
    if el is None:
        return None
    t = el.text
    return (t.strip() or None) if t else None


def _children_of(d: dict[str, etree._Element], name: str) -> dict[str, etree._Element]:
    """``scan`` of the child ``name`` found by an earlier one; {} when absent."""
    el = d.get(name)
    return scan(el) if el is not None else {}


def _tsunami_word(kname: str | None) -> str | None:
    """The published state word of a tsunami Kind: 発表 / 継続 / 解除 from "大津波警報：発表",
    else the whole name (津波注意報解除, 津波予報（若干の海面変動）, 津波なし)."""
    if kname and "：" in kname:
        return kname.split("：", 1)[1] or kname
    return kname


def _tsunami(ts: etree._Element, col: Collector) -> None:
    best_height: float | None = None
    best_label: str | None = None
    fc = kid(ts, "Forecast")
    if fc is not None:
        scheme = V.scheme_for_code_type(_code_types(fc).get("Item/Area/Code"), "jma.tsunami_region")
        for _, (area, code, name, kname, kcode, last, lname, lcode, th) in _TSUNAMI_FORECAST_TABLE.rows(fc):
            if area is None:
                continue
            col.area(code, name, scheme)
            tkind, state, sev = V.tsunami_kind(kname, kcode)
            if last is not None and state == "continued":
                lkind = V.tsunami_kind(lname, lcode)[0]
                lr, r = V.TSUNAMI_RANK.get(lkind, 0), V.TSUNAMI_RANK.get(tkind, 0)
                state = "issued" if lr == 0 else "upgraded" if lr < r else "downgraded" if lr > r else state
            col.hazard(code, scheme, tkind, kname or tkind, state, code=kcode,
                       state_label=_tsunami_word(kname), severity=sev)
            if th is not None:
                val = _number(th)
                label = th.get("description")
                if val is not None and (best_height is None or val > best_height):
                    best_height, best_label = val, label
                elif val is None and label and best_label is None:
                    best_label = label  # 巨大 / 高い: height given in words only
    obs_max: float | None = None
    for section in ("Observation", "Estimation"):
        sec = kid(ts, section)
        if sec is None:
            continue
        scheme = V.scheme_for_code_type(_code_types(sec).get("Item/Area/Code"), "jma.tsunami_region")
        for level, row in _TSUNAMI_STATION_TABLE.rows(sec):
            if level == 0:
                col.area(row[0], row[1], scheme)
            elif row[0] is not None and (obs_max is None or row[0] > obs_max):
                obs_max = row[0]
    col.details["tsunami"] = {
        "max_height_m": best_height,
        "max_height_label": best_label,
        "observed_max_height_m": obs_max,
    }


def _earthquake_info(info: etree._Element, col: Collector, head: etree._Element) -> None:
    serial = kid(info, "InfoSerial")
    name = text_at(serial, "Name")
    code = text_at(serial, "Code")
    col.details["nankai"] = {"info_kind": text_at(info, "InfoKind"), "name": name, "code": code}
    key = name or text_at(head, "Title") or ""
    for word, sev in V.NANKAI_SEVERITY.items():
        if word in key:
            col.fallback_severity = sev
            break
