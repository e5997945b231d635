"""`lalert parse` as a user runs it: a real subprocess, JSON Lines out, reasons on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lalert.schema import validation_errors

ROOT = Path(__file__).resolve().parent.parent


def lalert(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "lalert", *args], input=stdin,
                          capture_output=True, cwd=ROOT, timeout=120)


def test_parse_json_every_corpus_file_and_reject_broken_ones(corpus):
    r = lalert("parse", "--json", str(corpus / "xml"))
    lines = r.stdout.decode().splitlines()
    docs = [json.loads(x) for x in lines]
    good_jma = len(list((corpus / "xml/jma").glob("*.xml")))
    assert sum(d["format"] == "jmaxml" for d in docs) == good_jma
    assert {d["format"] for d in docs} == {"jmaxml", "commons", "cap"}
    for d in docs:
        assert validation_errors(d) == [], d["id"]
    # the corpus holds deliberately broken CAP files: rejected with a reason, run goes on
    assert r.returncode == 2
    err = r.stderr.decode()
    assert "noaa_errors.cap:" in err and "polygon" in err
    assert "no_entries.atom" in err


def test_parse_stdin_and_exit_zero():
    data = (ROOT / "lalert/demo/messages/11_jma_landslide_kumamoto.xml").read_bytes()
    r = lalert("parse", "--json", "-", stdin=data)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["schema"] == "lalert.alert/1"
    assert doc["kind"] == "landslide" and doc["level"] == 4
    assert r.stderr == b""


def test_parse_hostile_input_exit_two_with_reason(tmp_path):
    bad = tmp_path / "xxe.xml"
    bad.write_text('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                   '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">&x;</alert>')
    good = ROOT / "lalert/demo/messages/10_jma_weather_warning_kumamoto.xml"
    r = lalert("parse", str(bad), str(good))
    assert r.returncode == 2
    assert f"{bad}:1: document type declarations" in r.stderr.decode()
    assert "熊本県気象警報・注意報" in r.stdout.decode()  # parsing went on after the bad file


def test_parse_missing_file_is_reported():
    r = lalert("parse", "/nonexistent/lalert.xml")
    assert r.returncode == 2
    assert "cannot read" in r.stderr.decode()
