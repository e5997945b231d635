"""Message catalogues for the five signage languages, read from the committed ``.po`` files.

Only the ``.po`` text is kept in the repository: each catalogue is compiled to ``.mo`` in
memory with Babel when first needed, so nothing binary is committed and an edit to a
``.po`` file shows at the next start.
"""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from lalert import resources
from lalert.outputs.signage.screens import LANGS

ASSETS = resources.path("outputs", "signage")  # templates/, static/
DOMAIN = "signage"


@lru_cache(maxsize=16)
def catalogue(lang: str, locales: Path | None = None) -> gettext.NullTranslations:
    """The compiled catalogue for a language; English (the msgid language) is the identity."""
    po = (locales or resources.signage_locales()) / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang not in LANGS or not po.is_file():
        return gettext.NullTranslations()
    with po.open("rb") as fh:
        cat = read_po(fh, locale=None, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, cat, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def tr(lang: str, msgid: str) -> str:
    """``tr("ko", "Open")`` → "개설"; falls back to the English msgid."""
    return catalogue(lang).gettext(msgid)
