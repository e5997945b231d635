"""The one message catalogue of every output: desk, map, ``/text``, signage, feeds, push.

Scheme: the **official Japanese term is the msgid** (``gettext("en", "避難指示")`` →
"Evacuation instruction"). Japanese is the source language, so a concept has exactly one
msgid and therefore one rendering per language; the same Japanese cannot be translated two
ways in two outputs. Code marks its msgids with :func:`N_` (a no-op Babel extracts) and
translates at render time with :func:`gettext`; ``tests/test_i18n_catalogue.py`` extracts every
msgid from lalert/, the templates and the map JS and checks each language has it.

Catalogues live in the package (``lalert/locales/<lang>/LC_MESSAGES/lalert.po``, one domain)
and are read with ``importlib.resources``, so an installed wheel finds them. Only the ``.po``
text is shipped: each is compiled to ``.mo`` in memory with Babel on first use (tens of
milliseconds per language, once per process: ``bench/i18n.py``). That keeps no generated
binary in git that could drift from its source, needs no setuptools build hook, and an
edited ``.po`` shows at the next start.
"""

from __future__ import annotations

import io
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the catalogue machinery is imported on first use: ``lalert parse``
    import gettext as _gettext  # reaches this module through the level names and needs none

DOMAIN = "lalert"
SOURCE = "ja"  # the msgid language
LANGS = ("ja", "en", "zh_Hans", "ko", "ja_x_easy")
# BCP 47 tags for ``lang=`` attributes and CAP ``<language>``
HTML_LANG = {"ja": "ja", "en": "en", "zh_Hans": "zh-Hans", "ko": "ko", "ja_x_easy": "ja"}


def N_(msgid: str) -> str:
    """Mark a msgid for extraction where it is defined; translate later with ``gettext``."""
    return msgid


def po_path(lang: str):
    """The ``.po`` resource of a language (a ``Traversable``: a file or a zip member)."""
    from importlib.resources import files

    return files("lalert").joinpath("locales", lang, "LC_MESSAGES", f"{DOMAIN}.po")


@lru_cache(maxsize=len(LANGS))
def catalogue(lang: str) -> _gettext.NullTranslations:
    """The compiled catalogue of a language; the identity (Japanese) for one lalert lacks."""
    import gettext as _gettext

    from babel.messages.mofile import write_mo  # Babel only when a catalogue is first read
    from babel.messages.pofile import read_po

    if lang not in LANGS:
        return _gettext.NullTranslations()
    po = po_path(lang)
    if not po.is_file():
        return _gettext.NullTranslations()
    with po.open("rb") as fh:
        cat = read_po(fh, locale=None, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, cat, use_fuzzy=False)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def gettext(lang: str, msgid: str) -> str:
    """``gettext("ko", "開設")`` → "개설"; the Japanese msgid when the language lacks it."""
    return catalogue(lang).gettext(msgid)


def table(lang: str, msgids: dict[str, str]) -> dict[str, str]:
    """A key → msgid table rendered in one language (the map's JS reads it as JSON)."""
    cat = catalogue(lang)
    return {key: cat.gettext(msgid) for key, msgid in msgids.items()}
