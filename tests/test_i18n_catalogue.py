"""The one catalogue is complete: every msgid the code, the templates and the scripts use is in
every language's ``.po`` and translated, with its placeholders intact.

Msgids are found the way a translator's tool finds them, by Babel extraction over lalert/:
its Python, Jinja templates and JS (``N_("…")``, ``gettext(lang, "…")``, ``tr(lang, "…")``,
``t(langs, "…")``), so a new phrase that never reaches the catalogue fails here.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from lalert import i18n
from lalert.outputs import phrases

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {"N_": None, "gettext": (2,), "tr": (2,), "t": (2,)}
METHODS = [("**.j2", "jinja2"), ("**.js", "javascript"), ("**.py", "python")]
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}")


def _extract(*dirs: Path) -> dict[str, str]:
    """msgid → where it was first found."""
    found: dict[str, str] = {}
    for d in dirs:
        if not d.is_dir():
            continue
        for fn, lineno, msg, _comments, _ctx in extract_from_dir(
                d, METHODS, keywords=KEYWORDS, strip_comment_tags=True):
            if isinstance(msg, str) and msg:
                found.setdefault(msg, f"{d.name}/{fn}:{lineno}")
    return found


@cache
def used_msgids() -> dict[str, str]:
    return _extract(ROOT / "lalert")  # code, templates and scripts all ship in the package


@cache
def po(lang: str):
    with i18n.po_path(lang).open("rb") as fh:
        return read_po(fh, domain=i18n.DOMAIN)


def test_extraction_sees_every_kind_of_source():
    """Python tables, signage templates and the push script all feed the catalogue (so an
    empty extraction cannot pass the tests below)."""
    where = used_msgids()
    assert where["避難指示"].startswith("lalert/")
    assert any(w.endswith(".j2") or ".j2:" in w for w in where.values())
    js = _extract(ROOT / "lalert" / "outputs" / "webpush" / "static")
    assert set(js) == set(phrases.PUSH_WORDS), "the map hands the push script these msgids"


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_used_msgid_is_translated(lang):
    cat = po(lang)
    translated = {m.id for m in cat if m.id and m.string and not m.fuzzy}
    missing = {m: w for m, w in used_msgids().items() if m not in translated}
    assert not missing, f"{lang}: missing or untranslated {missing}"


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_no_entry_outlives_its_use(lang):
    """An entry nothing uses is a term that can drift unseen: remove it with its use."""
    stale = {m.id for m in po(lang) if m.id} - set(used_msgids())
    assert not stale, f"{lang}: unused entries {sorted(stale)}"


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_placeholders_survive_translation(lang):
    for m in po(lang):
        if m.id:
            assert sorted(PLACEHOLDER.findall(m.string)) == sorted(PLACEHOLDER.findall(m.id)), m.id


def test_japanese_is_the_source_and_english_is_official():
    """msgids are the official Japanese; English follows the Cabinet Office / JMA."""
    assert all(m.string == m.id for m in po("ja") if m.id)
    en = {m.id: m.string for m in po("en") if m.id}
    assert en["避難指示"] == "Evacuation instruction"
    assert en["高齢者等避難"] == "Elderly, etc. evacuate"
    assert en["緊急安全確保"] == "Emergency safety measures"
    assert en["警戒レベル"] == "Alert level"


def test_catalogue_is_read_as_a_package_resource():
    """Found through importlib.resources (works from an installed wheel), compiled in memory."""
    assert i18n.po_path("ko").is_file()
    assert i18n.gettext("ko", "開設") == "개설"
    assert i18n.gettext("xx", "開設") == "開設"  # an unknown language reads the source
    assert i18n.gettext("en", "まだ誰も訳していない語") == "まだ誰も訳していない語"
