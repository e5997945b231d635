"""Push ingest against a real ``lalert run`` process: auth, size bound, rejects, acks."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.daemon_helpers import Daemon, cap, soap_publish, start_daemon

LIMIT = 20_000


@pytest.fixture(scope="module")
def d(tmp_path_factory) -> Daemon:
    home = tmp_path_factory.mktemp("ingest") / "home"
    dm = start_daemon(home, env={"LALERT_INGEST__MAX_MESSAGE_BYTES": str(LIMIT)})
    yield dm
    dm.stop()


def journal_row(d: Daemon, msg_id: str) -> tuple | None:
    conn = sqlite3.connect(f"file:{d.home / 'journal.sqlite'}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT source, sender, outcome, reason, sha256 FROM messages"
                            " WHERE id=?", (int(msg_id),)).fetchone()
    finally:
        conn.close()


def total(d: Daemon) -> int:
    return d.health()["journal"]["messages"]


def test_missing_token_is_401_and_nothing_is_journaled(d):
    before = total(d)
    status, body = d.post(cap("auth-1"), token=None)
    assert status == 401 and body["error"] == "missing bearer token"
    status, headers, _ = d.request("POST", "/api/v1/messages", cap("auth-1"),
                                   {"Authorization": "Basic abc"})
    assert status == 401 and "Bearer" in headers.get("WWW-Authenticate", "")
    assert total(d) == before


def test_wrong_token_is_403(d):
    before = total(d)
    status, body = d.post(cap("auth-2"), token="not-the-token")
    assert status == 403
    assert total(d) == before


def test_over_the_size_bound_is_413_and_recorded(d):
    big = cap("big-1", headline="x" * (LIMIT + 10))
    status, body = d.post(big)
    assert status == 413 and body["limit"] == LIMIT
    row = journal_row(d, body["id"])
    assert row[2] == "rejected" and "bound" in row[3]


def test_unparsable_is_400_with_reason_and_raw_is_kept(d):
    bad = b"<?xml version='1.0'?><alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><oops>"
    status, body = d.post(bad)
    assert status == 400
    assert "well-formed" in body["reason"]
    # the desk can read the raw bytes (with a token) ...
    st, _, raw = d.request("GET", f"/api/v1/messages/{body['id']}/raw",
                           headers={"Authorization": f"Bearer {d.token}"})
    assert st == 200 and raw == bad
    # ... the public cannot
    assert d.get(f"/api/v1/messages/{body['id']}/raw")[0] == 401
    st, item = d.get_json(body["status_url"])
    assert item["outcome"] == "rejected" and "well-formed" in item["reason"]
    hist = d.get_json("/api/v1/history?outcome=rejected")[1]["items"]
    assert any(i["id"] == body["id"] and i["reason"] for i in hist)


def test_dtd_is_rejected_with_reason(d):
    evil = (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]>'
            b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">&x;</alert>')
    status, body = d.post(evil)
    assert status == 400 and "DTD" in body["reason"]


def test_accepted_is_202_only_after_the_journal_commit(d):
    status, body = d.post(cap("ack-1"))
    assert status == 202 and body["outcome"] == "accepted" and body["alerts"] == ["ack-1"]
    assert body["status_url"] == f"/api/v1/messages/{body['id']}"
    # the row is already durable in the journal when the 202 arrives
    row = journal_row(d, body["id"])
    assert row is not None and row[0] == "http" and row[1] == "env" and row[2] == "accepted"
    d.wait_applied()
    item = d.get_json(body["status_url"])[1]
    assert item["outcome"] == "active" and item["alerts"] == [{"id": "ack-1", "outcome": "active"}]


def test_duplicates_by_bytes_and_by_message_id_are_recorded_once(d):
    msg = cap("dup-1")
    s1, b1 = d.post(msg)
    s2, b2 = d.post(msg)
    assert (s1, s2) == (202, 202)
    assert b2["outcome"] == "duplicate" and b2["duplicate_of"] == b1["id"]
    # same alert id in different bytes (wrapped in SOAP) is a duplicate too
    s3, b3 = d.post(soap_publish(msg))
    assert s3 == 202 and b3["outcome"] == "duplicate"
    conn = sqlite3.connect(f"file:{d.home / 'journal.sqlite'}?mode=ro", uri=True)
    try:
        kept = conn.execute("SELECT count(*) FROM messages WHERE sha256=? AND raw IS NOT NULL",
                            (journal_row(d, b1["id"])[4],)).fetchone()[0]
    finally:
        conn.close()
    assert kept == 1  # the bytes are stored once
    d.wait_applied()
    feats = d.get_json("/api/v1/alerts")[1]["features"]
    assert [f["id"] for f in feats].count("dup-1") == 1


def test_soap_publish_envelope_is_accepted(d):
    status, body = d.post(soap_publish(cap("soap-1")), content_type="text/xml")
    assert status == 202 and body["alerts"] == ["soap-1"]


def test_commons_soap_from_the_corpus(d, corpus):
    data = (corpus / "xml" / "commons" / "publiccommons-py_soap1.xml").read_bytes()
    status, body = d.post(data)
    assert status == 202, body
    assert body["format"] == "commons"
    d.wait_applied()
    # a Test message from 2013: never among the public alerts, and long expired
    ids = {f["id"] for f in d.get_json("/api/v1/alerts")[1]["features"]}
    assert not set(body["alerts"]) & ids
    assert d.get_json(body["status_url"])[1]["outcome"] == "expired"


def test_unknown_message_status_is_404(d):
    assert d.get("/api/v1/messages/999999")[0] == 404
    assert d.get("/api/v1/messages/abc")[0] == 404


def test_home_is_locked_against_a_second_daemon(d, tmp_path):
    with pytest.raises(RuntimeError, match="in use"):
        start_daemon(Path(d.home), timeout=20)
