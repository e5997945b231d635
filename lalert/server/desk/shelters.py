"""The desk's unmatched shelters: reported names that match no registry facility, per
municipality, each with a one-click "this is facility X" (POST with CSRF). The decision is
journaled in the home (``lalert.store.shelter_links``) and applied to later reports; the
report already received keeps what it said.

Kept apart from the other pages (which mounts these routes) with its own few words, so the
console's shared text table stays as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from aiohttp import web

from lalert.geo.match import FacilityIndex, geo_index, muni_key, name_score
from lalert.geo.names import name_keys
from lalert.i18n import N_, gettext
from lalert.server.desk.session import Handler, render
from lalert.server.desk.text import TEXT
from lalert.server.keys import CONFIG, PIPELINE
from lalert.store.shelter_links import append_link, history

CANDIDATES = 3
# the console's navigation names pages through its shared table: add this page's entry
TEXT.setdefault("nav.shelters", N_("避難所照合"))
WORDS: dict[str, str] = {
    "title": N_("未照合の避難所"),
    "intro": N_("避難所情報にあって施設台帳のどれとも一致しなかった名称です。正しい施設を選ぶと、"
                 "以後の避難所情報に適用されます（受信済みの情報は書き換えません）。"),
    "none": N_("未照合の避難所はありません。"),
    "municipality": N_("市区町村"),
    "reported": N_("報告された名称"),
    "is": N_("この施設です"),
    "linked": N_("照合を記録しました"),
    "recent": N_("最近の照合"),
    "no_candidate": N_("候補なし"),
}


def word(key: str, lang: str) -> str:
    return gettext(lang, WORDS[key])


def candidates(idx: FacilityIndex, muni: str, name: str, lat: float | None,
               lon: float | None) -> list[dict[str, Any]]:
    """The facilities of the municipality most like the report: by name, else nearest."""
    cand = idx.candidates(muni_key(muni))
    if not cand:
        return []
    keys = name_keys(name, idx.place_names.get(muni_key(muni), ()))
    score = np.array([name_score(keys, idx.keys[i]) if keys else 0.0 for i in cand])
    if lat is not None and lon is not None:
        from lalert.geo.match import _distances

        dist = _distances(idx, cand, lat, lon)
        order = np.lexsort((dist, -score))
    else:
        dist = None
        order = np.argsort(-score, kind="stable")
    out = []
    for j in order[:CANDIDATES]:
        i = cand[j]
        out.append({"id": idx.ids[i], "name": idx.names[i],
                    "distance_m": None if dist is None else round(float(dist[j]))})
    return out


def unmatched(app: web.Application) -> dict[str, list[dict[str, Any]]]:
    """Unmatched reported shelters of the alerts in force, by municipality code."""
    geo = app[PIPELINE].geo
    board = app[PIPELINE].view.board()
    idx = geo_index(geo) if geo is not None and not geo.shelters.empty else None
    out: dict[str, list[dict[str, Any]]] = {}
    for c in board.unmatched():
        s = c.report
        muni = muni_key(s.area_code) or c.key.split(":")[1]
        out.setdefault(muni, []).append({
            "name": s.name, "state": c.status, "address": s.address, "municipality": muni,
            "candidates": candidates(idx, muni, s.name, s.lat, s.lon) if idx else []})
    return dict(sorted(out.items()))


async def shelters_page(request: web.Request) -> web.Response:
    """Unmatched reported shelters and a one-click link to a registry facility."""
    lang = request.get("desk.lang", "ja")
    return await render(request, "shelters.html.j2", groups=unmatched(request.app),
                        recent=list(reversed(history(request.app[CONFIG].home)))[:10],
                        w=lambda k: word(k, lang), linked=request.query.get("linked"))


async def shelters_link(request: web.Request) -> web.Response:
    """Journal "the report named N in municipality M is facility F"; later reports use it."""
    form = await request.post()
    geo = request.app[PIPELINE].geo
    muni, name, fid = (str(form.get(k, ""))[:200] for k in ("municipality", "name", "facility"))
    idx = geo_index(geo) if geo is not None else None
    if idx is None or fid not in idx.by_id or not name.strip():
        raise web.HTTPBadRequest(text="unknown facility or empty name\n")
    entry = append_link(request.app[CONFIG].home, municipality=muni, name=name, facility_id=fid,
                        facility_name=idx.names[idx.by_id[fid]], by=request.get("desk.user"))
    from lalert.geo.match import link_key

    geo.shelter_links[link_key(muni, name)] = fid
    raise web.HTTPSeeOther(f"/desk/shelters?linked={entry['facility_id']}")


def routes(page: Callable[[Handler], Handler]) -> list[web.RouteDef]:
    """The two routes, each wrapped by the desk's ``page`` (session, CSRF, language)."""
    return [web.get("/desk/shelters", page(shelters_page)),
            web.post("/desk/shelters/link", page(shelters_link))]
