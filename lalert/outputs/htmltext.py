"""Message text in HTML: escaped, and isolated for bidirectional text.

A string from a message may carry Unicode bidi controls (U+202A–U+202E, U+2066–U+2069)
that would reorder the text around it (a "right-to-left override" in an area name can
make the next words read backwards). ``bdi`` escapes the string and wraps it in
``<bdi>``, whose content is laid out on its own (``unicode-bidi: isolate``, direction
from its first strong character), so it reorders nothing outside. Registered as the
``bdi`` filter of every jinja2 environment that renders message text.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape


def bdi(value: Any) -> Markup:
    """``<bdi>escaped value</bdi>``; empty for None or ''."""
    if value is None or value == "":
        return Markup("")
    return Markup("<bdi>%s</bdi>") % escape(value)
