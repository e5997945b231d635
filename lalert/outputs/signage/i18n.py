"""Signage's words: the one catalogue of every output (``lalert.i18n``), and its templates' home.

Screens show up to five languages at once (``screens.LANGS``), so the templates call
``tr(lang, msgid)`` with the language first rather than one translator per page.
"""

from __future__ import annotations

from lalert import resources
from lalert.i18n import gettext

ASSETS = resources.path("outputs", "signage")  # templates/, static/


def tr(lang: str, msgid: str) -> str:
    """``tr("ko", "開設")`` → "개설"; the Japanese msgid when a language lacks it."""
    return gettext(lang, msgid)
