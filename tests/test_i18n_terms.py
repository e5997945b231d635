"""One term per concept: the same alert rendered by the desk, the map, ``/text``, signage, the
CAP feed and every push payload names its level, action, kind and shelters the same way in
each language.

Each output is asked through the function that builds what it sends (the desk's alert view,
the map's list entry, the ``/text`` page, the signage body, the CAP element, the push body,
the MQTT message, the Web Push notification); the terms are collected per concept and the
test fails when two outputs disagree.
"""

from __future__ import annotations

import json
from collections import defaultdict
from html import escape

import pytest

from lalert.changes import AlertChange
from lalert.outputs import phrases
from lalert.outputs.delivery import change_body
from lalert.outputs.feeds.capwriter import LEVEL_LABEL_PARAMETER, to_cap_element
from lalert.outputs.mqtt import message
from lalert.outputs.publicmap.data import alert_summary
from lalert.outputs.publicmap.text import render_text
from lalert.outputs.signage import content
from lalert.outputs.signage.i18n import tr
from lalert.outputs.signage.screens import parse_screen
from lalert.outputs.webpush.output import payload
from lalert.server.desk.views import alert_view
from tests.signage_support import LAT, LON, alert

CAP = {"c": "urn:oasis:names:tc:emergency:cap:1.2"}
SCREEN = parse_screen({"id": "p", "name": "駅", "lat": LAT, "lon": LON,
                       "languages": ["ja", "en", "zh_Hans", "ko", "ja_x_easy"]})
# a municipality's order (警戒レベル4 避難指示) and JMA's 相当 information (土砂災害警戒情報)
ALERTS = {
    "order": alert("order", level=4, kind="evacuation", hazard_tags=("flood",)),
    "equivalent": alert("jma", level=4, kind="landslide", title="土砂災害警戒情報",
                        hazard_tags=("landslide",)),
}


def _cap_info(ea, lang: str):
    el = to_cap_element(ea, sender="lalert@example.invalid")
    tag = "ja-JP" if lang == "ja" else "en"
    return el.xpath(f"c:info[c:language='{tag}']", namespaces=CAP)[0]


def _param(info, name: str) -> str | None:
    vals = info.xpath(f"c:parameter[c:valueName='{name}']/c:value/text()", namespaces=CAP)
    return vals[0] if vals else None


def rendered_terms(ea, lang: str) -> dict[str, dict[str, str]]:
    """concept → output → the words that output renders for it."""
    terms: dict[str, dict[str, str]] = defaultdict(dict)
    a = ea.alert
    # desk
    desk = alert_view(ea, False, lang)
    terms["label"]["desk"] = desk["level_text"]
    terms["kind"]["desk"] = desk["kind_text"]
    terms["hazards"]["desk"] = ", ".join(desk["hazard_text"])
    # map (the list the page's script draws)
    m = alert_summary(ea, lang)
    terms["label"]["map"] = m["level_label"]
    terms["action"]["map"] = m["action"]
    terms["kind"]["map"] = m["kind_name"]
    terms["badge"]["map"] = m["level_badge"]
    # /text: the terms must appear as the others render them (HTML-escaped)
    html = render_text([ea], None, lang=lang, updated=a.issued_at)
    for concept in ("label", "action", "kind"):
        word = terms[concept]["map"]
        terms[concept]["text"] = word if escape(word, quote=False) in html else f"<not in /text: {word}>"
    # CAP feed
    info = _cap_info(ea, lang)
    terms["label"]["cap"] = _param(info, LEVEL_LABEL_PARAMETER)
    if lang == "en":
        terms["kind"]["cap"] = info.findtext("c:event", namespaces=CAP)
    if lang == "en" or not a.instruction:
        terms["action"]["cap"] = info.findtext("c:instruction", namespaces=CAP)
    # push: the body every channel sends (webhook, SSE), MQTT's message, Web Push's notification
    change = AlertChange(seq=1, kind="upsert", reason="issue", alert=ea)
    body = change_body(change)
    words = body["level_label"][lang]
    terms["label"]["push"] = words["label"]
    terms["action"]["push"] = words["action"]
    terms["badge"]["push"] = words["badge"]
    mq = json.loads(message(body, {"scheme": "x", "code": "1"}))
    terms["label"]["mqtt"] = mq["level_label"][lang]["label"]
    if lang == "ja":  # a notification is in Japanese
        terms["label"]["webpush"] = payload(body, "{base_url}/{id}", "http://127.0.0.1")["level_label"]
    # signage (every catalogue language)
    sig = content.build(SCREEN, [ea], tr=tr)["text"][lang]
    terms["badge"]["signage"] = sig["level"]
    terms["action"]["signage"] = sig["action"]
    if "level_words" in sig:
        terms["name"]["signage"] = sig["level_words"]
        terms["name"]["push"] = words["name"]
    return terms


@pytest.mark.parametrize("which", sorted(ALERTS))
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_output_renders_a_concept_with_one_term(which, lang):
    terms = rendered_terms(ALERTS[which], lang)
    for concept, by_output in terms.items():
        assert len(set(by_output.values())) == 1, f"{which} {lang} {concept}: {by_output}"
    assert {"desk", "map", "text", "cap", "push", "mqtt"} <= set(terms["label"])
    assert {"map", "text", "push", "signage"} <= set(terms["action"])


def test_an_order_is_named_with_the_official_english():
    terms = rendered_terms(ALERTS["order"], "en")
    assert set(terms["label"].values()) == {"Alert level 4 — Evacuation instruction"}
    assert set(terms["name"].values()) == {"Evacuation instruction"}
    jma = rendered_terms(ALERTS["equivalent"], "en")
    assert set(jma["label"].values()) == {"Alert level 4 equivalent information [Landslide]"}


@pytest.mark.parametrize("lang", ["zh_Hans", "ko", "ja_x_easy"])
def test_signage_languages_use_the_same_level_words_as_the_vocabulary(lang):
    """Signage alone shows zh / ko / やさしい日本語: its words are the catalogue's, as the
    level vocabulary renders them for any other output asking in that language."""
    from lalert.vocab import levels

    sig = content.build(SCREEN, [ALERTS["order"]], tr=tr)["text"][lang]
    assert sig["level"] == levels.badge(4, levels.ORDER, lang)
    assert sig["level_words"] == levels.level_name(4, levels.ORDER, lang)
    assert sig["action"] == levels.action(4, lang)
    assert sig["level_words"] not in (levels.level_name(4, levels.ORDER, "ja"), "")


def test_shelter_states_read_the_same_on_map_desk_and_signage():
    from lalert.server.desk.text import SHELTER_STATES, pick

    for lang in ("ja", "en"):
        for state in ("open", "closed", "unopened", "full", "unknown"):
            words = {phrases.shelter_state(state, lang), pick(SHELTER_STATES, state, lang),
                     tr(lang, content.STATES[state])}
            assert len(words) == 1, (lang, state, words)

