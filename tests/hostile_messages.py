"""Hostile variants of the example messages for the web-safety tests.

Every free-text field of a CAP, a JMA and a Commons example (any text node with
non-ASCII characters that is not a controlled word: kinds, statuses, level values)
gets an XSS payload and bidi controls in front; identifiers get a suffix so the
variants are new messages beside the demo's; times are moved to now so they are in
force. The XML carries the payload as text (escaped by lxml), as a sender would.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lxml import etree

from tests.conftest import ROOT

EXAMPLES = ROOT / "lalert" / "demo" / "messages"
# Each part sets the window flag or opens a dialog if it ever runs as markup.
PAYLOAD = ('"><svg onload=window.__xss=1><img src=x onerror="window.__xss=1;alert(1)">'
           "<script>window.__xss=1</script>\u202e\u2067")
MARK = "onerror="  # survives in the text the page shows
HOSTILE = {
    "cap": "23_cap_evacuation_kumamoto_ja_en.xml",
    "jma": "11_jma_landslide_kumamoto.xml",
    "commons": "20_commons_evacuation_order_kumamoto.xml",
    "commons_shelter": "21_commons_shelter_kumamoto.xml",
}
# Controlled vocabularies: changing these would make the message unreadable, not hostile.
KEEP_LOCAL = {"Status", "InfoType", "InfoKind", "InfoKindVersion", "event", "value",
              "valueName", "category", "Condition", "Sort", "Type", "ShelterType",
              "ShelterStatus", "Kind", "EventID", "Serial", "Code", "jisX0402",
              "IssueOrLift", "IssueOrLiftName", "distributionStatus", "distributionType",
              "language", "documentRevision", "OrganizationCode", "Category", "Object",
              "Location", "ClassName", "ShelterKind", "HazardKind"}
KEEP_PARENT = {"Kind", "LastKind", "Property"}
IDS = ("identifier", "distributionID", "documentID", "EventID")
_TIME = re.compile(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d)")


def _shift_times(text: str, delta: timedelta) -> str:
    def move(m: re.Match[str]) -> str:
        t = datetime.fromisoformat(m.group(0).replace("Z", "+00:00")) + delta
        return t.isoformat().replace("+00:00", "Z") if m.group(0).endswith("Z") else t.isoformat()
    return _TIME.sub(move, text)


def hostile(name: str, *, payload: str = PAYLOAD, suffix: str = "xss") -> bytes:
    """The example ``HOSTILE[name]`` with ``payload`` in every free-text field."""
    raw = (EXAMPLES / HOSTILE[name]).read_text("utf-8")
    first = _TIME.search(raw)
    assert first
    t0 = datetime.fromisoformat(first.group(0).replace("Z", "+00:00"))
    raw = _shift_times(raw, datetime.now(UTC) - t0 - timedelta(minutes=5))
    root = etree.fromstring(raw.encode("utf-8"))
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        local = etree.QName(el).localname
        parent = el.getparent()
        plocal = etree.QName(parent).localname if parent is not None else ""
        if local in IDS:
            el.text = f"{el.text or ''}{suffix}" if local != "EventID" or el.text else el.text
            continue
        if (el.text and el.text.strip() and not el.text.isascii() and local not in KEEP_LOCAL
                and plocal not in KEEP_PARENT):
            el.text = payload + el.text
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def save(directory: Path) -> list[Path]:
    """Write every hostile variant to ``directory`` (for looking at them by hand)."""
    out = []
    for name in HOSTILE:
        p = directory / f"{name}.xml"
        p.write_bytes(hostile(name))
        out.append(p)
    return out
