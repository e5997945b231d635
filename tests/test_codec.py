"""The one codec of the alert model (``lalert.codec``): every corpus message round-trips
through the public JSON and the packed form to an equal model and validates against the
published schema; the schema cannot drift from the model; anything that is not lalert's
own packed entry — foreign bytes, another schema version, Python-object payloads that
would run code — is refused with a reason and runs nothing."""

from __future__ import annotations

import copy
import json
import pickle

import msgspec
import pytest

from lalert import codec
from lalert.geo.data import demo_geodata
from lalert.geo.enrich import enrich
from lalert.model import SCHEMA_VERSION, Alert, Area, EnrichedAlert, Hazard, Shelter
from lalert.parsers import ParseError, parse
from lalert.schema import alert_schema, drift, validation_errors
from lalert.store.codec import Refused, decode_alerts, decode_enriched, encode
from tests.conftest import corpus_files

MESSAGES = [p for p in corpus_files("xml", "**/*.xml") if "schema" not in p.parent.name]


def test_the_corpus_is_there(corpus):
    assert len(MESSAGES) > 200


@pytest.mark.parametrize("path", MESSAGES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_corpus_message_round_trips(path):
    try:
        alerts = parse(path.read_bytes())
    except ParseError as exc:  # the corpus keeps a few messages lalert must refuse
        pytest.skip(f"n/a: refused by the parser: {exc}")
    assert alerts
    for a in alerts:
        text = codec.alert_json(a)
        doc = json.loads(text)
        assert doc["schema"] == "lalert.alert/1"
        assert validation_errors(doc) == []
        assert codec.alert_from_json(text) == a
        assert Alert.from_dict(a.to_dict()) == a
        assert a.to_dict() == doc and json.loads(a.to_json()) == doc
        assert decode_alerts(encode([a])) == [a]


def _demo_enriched() -> EnrichedAlert:
    """An enriched alert with everything filled: geometry, footprint, shelters, hotspots."""
    geo = demo_geodata()
    code = "4310000"  # 熊本市 in the demo gazetteer
    alert = Alert(format="jmaxml", id="t-enriched", info_type="issue", status="actual",
                  kind="landslide", title="土砂災害警戒情報", raw_sha256="0" * 64,
                  issued_at="2026-07-03T16:40:00+09:00", level=4,
                  areas=(Area(code=code, scheme="jma.city", name="熊本市"),),
                  hazards=(Hazard(area_code=code, area_scheme="jma.city",
                                  kind="landslide_alert", name="土砂災害警戒情報",
                                  state="issued", sub_kinds=("landslide",)),),
                  shelters=(Shelter(name="体育館", state="open", lat=32.8, lon=130.7),),
                  details={"nested": {"list": [1, 2.5, None, "字"]}})
    return enrich(alert, geo)


def test_enriched_alert_round_trips_through_the_packed_form():
    e = _demo_enriched()
    assert e.footprint and e.shelters and e.areas[0].geometry  # really enriched
    packed = codec.pack(e)
    assert packed.startswith(b"lalert/" + SCHEMA_VERSION.encode() + b";msgpack\n")
    back = codec.unpack_enriched(packed)
    # geometry coordinates come back as lists where shapely wrote tuples: compare the
    # encoded forms, and everything else as model objects
    assert codec.enriched_json(back) == codec.enriched_json(e)
    assert codec.pack(back) == packed
    assert back.alert == e.alert and back.shelters == e.shelters
    assert back.hotspots == e.hotspots and back.bbox == e.bbox
    assert decode_enriched(encode(e)) is not None
    # areas nothing resolved are the alert's own: stored once, shared again when read
    same = EnrichedAlert(alert=e.alert, areas=e.alert.areas)
    back = codec.unpack_enriched(codec.pack(same))
    assert back == same and back.areas is back.alert.areas
    assert codec.unpack_enriched(codec.pack(EnrichedAlert(alert=e.alert))).areas == ()


def test_enriched_public_json_keeps_its_shape():
    e = _demo_enriched()
    doc = e.to_dict()
    assert doc["schema"] == "lalert.enriched/1"
    assert list(doc)[-5:] == ["footprint", "bbox", "hazard_tags", "nearby_shelters", "hotspots"]
    assert doc["areas"][0]["geometry"]["type"]  # the enriched areas, not the message's
    assert isinstance(doc["bbox"], list) and len(doc["bbox"]) == 4
    back = EnrichedAlert.from_dict(doc)
    assert back.shelters == e.shelters and back.hazard_tags == e.hazard_tags
    assert codec.enriched_json(codec.enriched_from_json(codec.enriched_json(e))) \
        == codec.enriched_json(e)
    # the alert part alone still validates as an alert
    alert_doc = {k: v for k, v in doc.items() if k not in
                 {"footprint", "bbox", "hazard_tags", "nearby_shelters", "hotspots"}}
    assert validation_errors({**alert_doc, "schema": "lalert.alert/1"}) == []


def test_geometry_objects_encode_as_geojson():
    shapely = pytest.importorskip("shapely")
    a = Alert(format="cap", id="g", info_type="issue", status="actual", kind="other",
              title="t", issued_at="2026-07-03T16:40:00+09:00", raw_sha256="0" * 64,
              areas=(Area(code=None, scheme="geometry", geometry=shapely.Point(130, 32)),))
    doc = json.loads(codec.alert_json(a))
    assert doc["areas"][0]["geometry"] == {"type": "Point", "coordinates": [130.0, 32.0]}


def test_decoding_checks_types():
    a = parse(MESSAGES[0].read_bytes())[0] if MESSAGES else None
    doc = json.loads(codec.alert_json(a)) if a else {
        "format": "cap", "id": "x", "info_type": "issue", "status": "actual", "kind": "other",
        "title": "t", "issued_at": "2026", "raw_sha256": "0"}
    doc["serial"] = "not a number"
    with pytest.raises(msgspec.ValidationError, match="serial"):
        Alert.from_dict(doc)


# --- the schema and the model --------------------------------------------------------


def test_the_schema_matches_the_model():
    assert drift() == []


@pytest.mark.parametrize("change,found", [
    (lambda s: s["properties"]["areas"]["items"]["properties"].pop("status_label"),
     "/areas[]: the model has 'status_label'"),
    (lambda s: s["properties"].update(extra={"type": "string"}), "the schema has 'extra'"),
    (lambda s: s["properties"]["hazards"]["items"]["properties"].update(level={"type": "string"}),
     "/hazards[]/level: schema types"),
    (lambda s: s["properties"].update(serial={"type": "integer"}), "/serial: schema types"),
    (lambda s: s["required"].remove("id"), "/id: required by the model"),
    (lambda s: s.update({"x-version": "0.9"}), "x-version"),
])
def test_drift_is_found(change, found):
    schema = copy.deepcopy(alert_schema())
    change(schema)
    assert any(found in line for line in drift(schema)), drift(schema)


def test_the_schema_ships_inside_the_package():
    from importlib import resources

    text = resources.files("lalert").joinpath("alert.schema.json").read_text("utf-8")
    assert json.loads(text) == alert_schema()


# --- what is not lalert's own entry ------------------------------------------------------


class _Runs:
    """A Python-object payload that, if loaded, creates ``marker`` (runs code)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _foreign(marker) -> dict[str, bytes]:
    payload = pickle.dumps(_Runs(str(marker)), protocol=pickle.HIGHEST_PROTOCOL)
    return {
        "arbitrary bytes": b"\x00\xffnot lalert\x93",
        "empty": b"",
        "a Python-object payload": payload,
        "an older lalert's Python-object entry": b"lalert-pickle/1\n" + payload,
        "a future schema version": b"lalert/9.0;msgpack\n" + codec.pack([])[len(codec.PACKED):],
        "a damaged body": codec.PACKED + b"\xc1\xc1",
        "the right header on the wrong shape": codec.PACKED + msgspec.msgpack.encode({"a": 1}),
    }


def test_foreign_entries_are_refused_and_run_nothing(tmp_path):
    marker = tmp_path / "ran"
    for what, data in _foreign(marker).items():
        for unpack in (codec.unpack_alerts, codec.unpack_enriched):
            with pytest.raises(codec.Undecodable) as err:
                unpack(data)
            assert err.value.reason and len(err.value.reason) <= 200, what
    assert not marker.exists()
    with pytest.raises(codec.Undecodable, match="'9.0'"):
        codec.unpack_alerts(_foreign(marker)["a future schema version"])


def test_store_cache_refuses_and_reports_but_reads_old_json(tmp_path):
    marker = tmp_path / "ran"
    heard: list[str] = []
    for what, data in _foreign(marker).items():
        assert decode_alerts(data, heard.append) is None, what
        assert decode_enriched(data, heard.append) is None, what
    assert not marker.exists()
    # an older lalert's cache is stale (rebuilt quietly from the record); the rest is reported
    assert len(heard) == 2 * (len(_foreign(marker)) - 1)
    assert any("9.0" in h for h in heard)
    a = parse(MESSAGES[0].read_bytes())[0]
    assert decode_alerts("[" + a.to_json() + "]") == [a]  # JSON written before 1.1
    assert decode_alerts(b"{not json", heard.append) is None and "JSON" in heard[-1]


def test_refused_names_each_entry_once():
    r = Refused(keep=2)
    assert r.note("bus:x", "5-1", "why") and not r.note("bus:x", "5-1", "why")
    r.note("bus:x", "6-1", "why")
    r.note("store:journal", "message 3", "why")
    assert r.counts() == {"bus:x": 2, "store:journal": 1}
    assert [e["entry"] for e in r.entries()] == ["6-1", "message 3"]


# --- the packed form's version tag follows the model --------------------------------------

# The structure of the packed form (field names, types, defaults) for each schema version.
# When this test fails, the model's fields changed: entries packed by the previous lalert
# would be read with fields missing or misread, so bump ``model.SCHEMA_VERSION`` (and the
# schema file's ``x-version``) and add the new fingerprint here.
PACKED_STRUCTURE = {"1.1": "4972cc0d"}


def _structure() -> str:
    import hashlib

    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in ("title", "description")}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    shape = msgspec.json.schema_components([codec._PackedEnriched, list[Alert]])
    return hashlib.sha256(json.dumps(strip(shape), sort_keys=True).encode()).hexdigest()[:8]


def test_the_packed_version_tag_follows_the_model():
    assert PACKED_STRUCTURE.get(SCHEMA_VERSION) == _structure(), (
        "the model's fields changed: bump model.SCHEMA_VERSION (entries packed before are "
        f"then refused, not misread) and record {SCHEMA_VERSION!r}'s new fingerprint "
        f"{_structure()!r} in PACKED_STRUCTURE")
