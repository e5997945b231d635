"""The seismic parser reads a big observation in bulk (compiled XPath in the Body's
namespace) and any other telegram element by element; both must read the same alert.

JMA matches elements by local name whatever their namespace, so a telegram that puts
some leaves in a second namespace must still give the areas and hazards of the plain
telegram (the parser then walks it in Python instead of by XPath)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lalert.parsers import parse_one

BIG = "32-35_07_06_240613_VXSE53.xml"  # ~1,000 areas and cities


def _foreign_leaves(raw: bytes, count: int) -> bytes:
    """The first ``count`` City Name/Code/MaxInt leaves moved into another namespace."""
    text = raw.decode("utf-8")
    pattern = re.compile(r"<City><Name>([^<]*)</Name><Code>([^<]*)</Code><MaxInt>([^<]*)</MaxInt>")
    repl = (r'<City><x:Name xmlns:x="urn:example:other">\1</x:Name>'
            r'<y:Code xmlns:y="urn:example:other">\2</y:Code><z:MaxInt xmlns:z="urn:example:z">\3</z:MaxInt>')
    out, n = pattern.subn(repl, text, count=count)
    assert n == count, "the sample's City layout changed"
    return out.encode("utf-8")


def _flat(raw: bytes) -> bytes:
    """The telegram without the indentation between elements (the layout the regex needs)."""
    return re.sub(rb">\s+<", b"><", raw)


@pytest.mark.parametrize("count", [1, 40])
def test_leaves_in_another_namespace_read_as_in_the_body_namespace(corpus: Path, count: int) -> None:
    plain = _flat((corpus / "xml" / "jma" / BIG).read_bytes())
    mixed = _foreign_leaves(plain, count)
    a, b = parse_one(plain), parse_one(mixed)
    assert len(a.hazards) > 900
    assert b.areas == a.areas  # the same areas in the same order: bulk read = walk
    assert b.hazards == a.hazards
    assert b.details == a.details



EEW = "77_01_27_240613_VXSE45.xml"  # 緊急地震速報（地震動予報）, ~30 forecast areas


@pytest.mark.parametrize("count", [1, 20])
def test_eew_forecast_leaves_in_another_namespace(corpus: Path, count: int) -> None:
    plain = _flat((corpus / "xml" / "jma" / EEW).read_bytes())
    pattern = re.compile(rb"<Category><Kind><Name>([^<]*)</Name>(.*?)<ForecastInt><From>([^<]*)</From>")
    repl = (rb'<Category><Kind><x:Name xmlns:x="urn:example:other">\1</x:Name>\2'
            rb'<ForecastInt><y:From xmlns:y="urn:example:y">\3</y:From>')
    mixed, n = pattern.subn(repl, plain, count=count)
    assert n == count, "the sample's forecast layout changed"
    a, b = parse_one(plain), parse_one(mixed)
    assert len(a.hazards) > 20
    assert {h.state_label for h in a.hazards} >= {"緊急地震速報（警報）"}
    assert b.areas == a.areas
    assert b.hazards == a.hazards


TSUNAMI = "32-39_12_12_250206_VTSE51.xml"  # 津波警報・注意報・予報, observed heights too


@pytest.mark.parametrize("count", [1, 30])
def test_tsunami_heights_in_the_body_namespace_read_as_in_jmx_eb(corpus: Path, count: int) -> None:
    """JMA puts TsunamiHeight in jmx_eb; the same element in the Body's own namespace
    (or an Area's Name in a third one) must read the same."""
    plain = _flat((corpus / "xml" / "jma" / TSUNAMI).read_bytes())
    mixed, n = re.subn(rb"<jmx_eb:TsunamiHeight([^>]*)>([^<]*)</jmx_eb:TsunamiHeight>",
                       rb"<TsunamiHeight\1>\2</TsunamiHeight>", plain, count=count)
    assert n == count
    mixed, n = re.subn(rb"<Area><Name>([^<]*)</Name>", rb'<Area><x:Name xmlns:x="urn:example:other">\1</x:Name>',
                       mixed, count=count)
    assert n == count
    a, b = parse_one(plain), parse_one(mixed)
    assert len(a.hazards) > 50 and a.details["tsunami"]["observed_max_height_m"]
    assert b.areas == a.areas
    assert b.hazards == a.hazards
    assert b.details == a.details
