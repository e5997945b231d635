"""付加事項 in ``Alert.instruction``: only the notes of Kinds still in force, each once, in
the order they first appear in force (the parser checks a Kind only for a note it has
not kept yet, so the order and the lifted-Kind exclusion must hold across Kinds)."""

from __future__ import annotations

from lalert.parsers import parse_one


def _kind(name: str, code: str, status: str, *notes: str) -> str:
    adds = "".join(f"<Note>{n}</Note>" for n in notes)
    return (f"<Kind><Name>{name}</Name><Code>{code}</Code><Status>{status}</Status>"
            f"<Addition>{adds}</Addition></Kind>")


def _telegram(*items: str, inside: str = "", extra: str = "") -> bytes:
    body = "".join(
        f"<Item>{kinds}<Areas codeType=\"気象・地震・火山情報／市町村等\"><Area><Name>町{i}</Name>"
        f"<Code>13{i:05d}</Code></Area></Areas></Item>"
        for i, kinds in enumerate(items)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Report xmlns="http://xml.kishou.go.jp/jmaxml1/">
<Control><Title>気象警報・注意報（Ｈ２７）</Title><Status>通常</Status>
<PublishingOffice>気象庁</PublishingOffice></Control>
<Head xmlns="http://xml.kishou.go.jp/jmaxml1/informationBasis1/"><Title>東京都気象警報・注意報</Title>
<ReportDateTime>2024-06-01T10:00:00+09:00</ReportDateTime><InfoType>発表</InfoType>
<InfoKind>気象警報・注意報</InfoKind></Head>
<Body xmlns="http://xml.kishou.go.jp/jmaxml1/body/meteorology1/">
<Warning type="気象警報・注意報（市町村等）">{body}{inside}</Warning>{extra}</Body></Report>""".encode()


def _notes(alert) -> str | None:
    text = alert.instruction or ""
    return next((p for p in text.split("\n\n") if p.startswith("付加事項: ")), None)


def test_notes_of_lifted_kinds_are_left_out_until_a_kind_in_force_names_them() -> None:
    alert = parse_one(_telegram(
        _kind("洪水注意報", "18", "解除", "氾濫"),
        _kind("雷注意報", "14", "継続", "突風") + _kind("洪水警報", "04", "発表", "氾濫", "突風"),
        _kind("雷注意報", "14", "発表", "ひょう", "突風"),
    ))
    assert _notes(alert) == "付加事項: 突風、氾濫、ひょう"


def test_no_kind_in_force_gives_no_notes() -> None:
    alert = parse_one(_telegram(_kind("洪水注意報", "18", "解除", "氾濫"),
                                _kind("雷注意報", "14", "なし", "突風")))
    assert _notes(alert) is None


def test_additions_outside_warning_items_are_not_advice() -> None:
    stray = ("<MeteorologicalInfos><MeteorologicalInfo><Item>"
             + _kind("雷注意報", "14", "発表", "竜巻") + "</Item></MeteorologicalInfo></MeteorologicalInfos>")
    nested = "<Property><Item>" + _kind("雷注意報", "14", "発表", "ひょう") + "</Item></Property>"
    alert = parse_one(_telegram(_kind("雷注意報", "14", "継続", "突風"), inside=nested, extra=stray))
    assert _notes(alert) == "付加事項: 突風"
