"""``lalert validate``: every deliberately broken corpus file is rejected for its own
reason, every good one passes, with and without the CAP XSD."""

from __future__ import annotations

from pathlib import Path

import pytest

from lalert.cli import main
from lalert.validate import is_valid, validate
from tests.conftest import ROOT, corpus_files

FIX = Path(__file__).parent / "fixtures"
EXAMPLES = sorted((ROOT / "lalert" / "demo" / "messages").glob("*.xml"))

# file → words the reasons must contain (read by eye from each file's comment / content)
BROKEN = {
    "invalid.cap": ["<scope>"],  # "Missing required Scope"
    "invalid.rss": ["<channel> lacks required <title>", "<description>", "<item>"],
    "invalid_element.atom": ["<foo>"],  # "Invalid extra element foo"
    "canada_errors.cap": ["<references> is empty"],  # "Zero references is invalid"
    "noaa_errors.cap": ["<references> is empty", "'+40.85,-118.09,'", "<polygon> is empty",
                        "urgency", "severity", "certainty"],
    "no_entries.atom": ["outside any <entry>"],
    "no_id.atom": ["<feed> lacks required <id>", "<entry> lacks required <id>"],
    "no_link.atom": ["neither <content> nor a <link>"],
    "no_title.atom": ["<entry> lacks required <title>"],
    "weather_invalid.atom": ["<identifier> 'INVALID, '"],  # "Invalid identifier"
}
CAP_GOOD = [p for p in corpus_files("xml/cap", "*.cap", "*.atom", "*.rss") if p.name not in BROKEN]


def _errors(path: Path) -> list[str]:
    return [p.message for p in validate(path.read_bytes(), str(path)) if p.severity == "error"]


def _check_broken(path: Path, words: list[str]) -> None:
    problems = validate(path.read_bytes(), path.name)
    assert not is_valid(problems)
    text = "\n".join(p.message for p in problems if p.severity == "error")
    for w in words:
        assert w in text, f"{path.name}: {w!r} not in\n{text}"
    assert all(p.line for p in problems if p.severity == "error")


def test_every_broken_corpus_file_is_named(corpus: Path) -> None:
    cap = corpus / "xml" / "cap"
    names = {p.name for pat in ("invalid*", "*_errors.cap", "no_*.atom") for p in cap.glob(pat)}
    assert names == set(BROKEN) - {"weather_invalid.atom"}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_cap_files_are_rejected_with_their_reason(corpus: Path, name: str) -> None:
    _check_broken(corpus / "xml/cap" / name, BROKEN[name])


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_files_rejected_without_xsd(corpus: Path, name: str, monkeypatch) -> None:
    monkeypatch.setenv("LALERT_CAP_XSD", "off")
    words = [w for w in BROKEN[name] if w not in ("urgency", "severity", "certainty")]
    _check_broken(corpus / "xml/cap" / name, words)


def test_without_xsd_the_output_says_so(corpus: Path, monkeypatch) -> None:
    monkeypatch.setenv("LALERT_CAP_XSD", "off")
    notes = [p.message for p in validate((corpus / "xml/cap/thunderstorm.cap").read_bytes())
             if p.severity == "note"]
    assert notes == ["CAP XSD not found (set LALERT_CAP_XSD to cap12.xsd); "
                     "checked with lalert's structural rules only"]
    errors = _errors(corpus / "xml/cap/noaa_errors.cap")
    assert any("<urgency> '' is not one of" in e for e in errors)


def test_xsd_from_configured_path(corpus: Path, monkeypatch) -> None:
    xsd = corpus / "xml/cap-schema/cap12.xsd"
    monkeypatch.setenv("LALERT_CAP_XSD", str(xsd))
    problems = validate((corpus / "xml/cap/invalid.cap").read_bytes())
    assert any(p.severity == "note" and str(xsd) in p.message for p in problems)
    assert any(p.message.startswith("CAP schema:") and "scope" in p.message for p in problems)


@pytest.mark.parametrize("path", CAP_GOOD, ids=lambda p: p.name)
def test_good_cap_files_pass(path: Path) -> None:
    assert _errors(path) == []


@pytest.mark.parametrize("path", corpus_files("xml/commons", "*.xml"), ids=lambda p: p.name)
def test_commons_samples_pass_with_warnings_only(path: Path) -> None:
    problems = validate(path.read_bytes(), path.name)
    assert is_valid(problems)
    if "sample" in path.name:  # shortened samples: no senderID, no Control
        assert any("lacks <senderID>" in p.message for p in problems)


def test_jma_corpus_passes(corpus: Path) -> None:
    bad = {}
    for path in sorted((corpus / "xml/jma").glob("*.xml")):
        errors = _errors(path)
        if errors:
            bad[path.name] = errors
    assert bad == {}


def test_jma_missing_head_elements_are_reported(corpus: Path) -> None:
    path = next(iter(sorted((corpus / "xml/jma").glob("*VPWW5*.xml"))))
    raw = path.read_bytes()
    start = raw.index(b"<InfoType>")
    end = raw.index(b"</InfoType>") + len(b"</InfoType>")
    problems = validate(raw[:start] + raw[end:], path.name)
    assert [p.message for p in problems] == ["JMA <Head> lacks required <InfoType>"]
    assert problems[0].line and problems[0].path == "/Report/Head"
    bad_status = validate(raw.replace(b"<Status>\xe9\x80\x9a\xe5\xb8\xb8</Status>", b"<Status>X</Status>"))
    assert any("Control/Status 'X'" in p.message for p in bad_status)


def test_commons_missing_parts_are_errors() -> None:
    problems = validate((FIX / "commons/no_status.xml").read_bytes())
    errors = [p.message for p in problems if p.severity == "error"]
    assert any(e.startswith("no status") for e in errors)
    assert "documentRevision 'one' is not a number" in errors
    assert any("PCXML <Report> lacks <Control>" in p.message for p in problems if p.severity == "warning")


def test_cap_spec_rules_beyond_the_xsd() -> None:
    errors = _errors(FIX / "cap/rule_breaker.cap")
    assert "msgType Update must name the message(s) it refers to in <references>" in errors
    assert "scope Restricted requires a non-empty <restriction>" in errors
    assert any(e.startswith("<expires>") and "after <effective>" in e for e in errors)
    assert "<polygon> is not closed: the first and last points differ" in errors
    assert any("'95.0,130.7'" in e for e in errors)
    assert any(e.startswith("<circle> '32.8,130.7'") for e in errors)
    assert not any(e.startswith("CAP schema:") for e in errors)  # all of it passes the XSD


def test_unclosed_polygon_in_feed_is_reported_at_its_line() -> None:
    (p,) = [p for p in validate((FIX / "cap/inline_two.atom").read_bytes()) if p.severity == "error"]
    assert p.line == 28 and "not closed" in p.message and p.path.endswith("area/polygon[1]")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_are_valid(path: Path) -> None:
    assert _errors(path) == []


def test_cli_prints_file_line_message_and_exit_codes(corpus: Path, capsys) -> None:
    good = str(EXAMPLES[0])
    assert main(["validate", "-q", good]) == 0
    capsys.readouterr()
    bad = str(corpus / "xml/cap/invalid.cap")
    assert main(["validate", good, bad]) == 2
    out = capsys.readouterr().out.splitlines()
    assert f"{bad}:2: CAP <alert> lacks required <scope> [/alert]" in out
    assert not any(line.startswith(good + ":") and "error" in line for line in out)
    assert main(["validate", str(corpus / "no-such-file.xml")]) == 2
