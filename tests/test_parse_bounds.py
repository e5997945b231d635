"""Text from a message is bounded at parse time (one post-pass over every format).

A 1 MB headline, description, area or shelter name is cut to its limit and ends with the
documented marker; the field is named in ``details["truncated"]``; an over-long
identifier refuses the message with its reason; real messages are untouched.
"""

from __future__ import annotations

import pytest

from lalert.parsers import ParseError, parse
from lalert.vocab.limits import (
    HEADLINE_MAX,
    ID_MAX,
    NAME_MAX,
    TEXT_MAX,
    TITLE_MAX,
    TRUNCATION_MARKER,
)
from tests.conftest import corpus_files
from tests.daemon_helpers import cap, start_daemon
from tests.hostile_messages import hostile

MB = 1024 * 1024


def test_megabyte_fields_of_cap_are_cut_with_the_marker():
    big = "警" * MB
    (a,) = parse(cap("bounds-1", headline=big).replace(b"<areaDesc>", f"<areaDesc>{big}".encode()),
                 max_bytes=20 * MB)
    assert len(a.headline) == HEADLINE_MAX and a.headline.endswith(TRUNCATION_MARKER)
    assert a.headline.startswith("警" * 100)
    assert all(len(ar.name) <= NAME_MAX and ar.name.endswith(TRUNCATION_MARKER)
               for ar in a.areas)
    assert "headline" in a.details["truncated"]
    assert any(p.startswith("areas[") for p in a.details["truncated"])


@pytest.mark.parametrize("name", ["jma", "commons", "commons_shelter", "cap"])
def test_every_free_text_field_of_each_format_is_bounded(name):
    (a, *_) = parse(hostile(name, payload="長" * 300_000), max_bytes=50 * MB)
    limits = {"title": TITLE_MAX, "headline": HEADLINE_MAX, "text": TEXT_MAX}
    for field, limit in limits.items():
        v = getattr(a, field)
        assert v is None or len(v) <= limit, field
    for s in a.shelters:
        assert len(s.name) <= NAME_MAX and s.name.endswith(TRUNCATION_MARKER)
    for ar in a.areas:
        assert ar.name is None or len(ar.name) <= NAME_MAX
    assert a.details["truncated"]
    assert len(a.to_json()) < 400_000  # nothing carries the 300,000-character strings whole


def test_an_over_long_identifier_is_refused_with_its_reason():
    with pytest.raises(ParseError) as e:
        parse(cap("x" * (ID_MAX + 1)))
    assert "identifier" in e.value.reason and f"{ID_MAX}-character" in e.value.reason


def test_real_messages_are_untouched(corpus):
    files = [f for f in corpus_files("xml", "**/*.xml") if f.is_file()]
    assert files
    for f in files:
        try:
            alerts = parse(f.read_bytes())
        except ParseError:
            continue
        for a in alerts:
            assert "truncated" not in a.details, f


def test_daemon_keeps_a_megabyte_headline_short(tmp_path):
    with start_daemon(tmp_path / "home", outputs=["map", "signage"]) as d:
        status, body = d.post(cap("bounds-daemon", headline="見" * MB))
        assert status == 202 and body["outcome"] == "accepted", body
        d.wait_applied(1)
        (f,) = d.get_json("/api/v1/alerts")[1]["features"]
        assert len(f["properties"]["headline"]) == HEADLINE_MAX
        status, _, page = d.get("/text")
        assert status == 200 and len(page) < 100_000
        assert TRUNCATION_MARKER in page.decode()
