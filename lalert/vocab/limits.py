"""How long a string from a message may be (characters), per field.

Enforced at parse time by ``lalert.parsers.bounds``: text over its limit is cut and ends
with ``TRUNCATION_MARKER`` (the whole result is at most the limit), and the field is
named in ``details["truncated"]``; an identifier or code over ``ID_MAX`` refuses the
message (cutting it would change what it identifies). The limits sit far above what real
messages carry — the longest JMA body text in the sample corpus is about 3,100
characters, headlines under 300, names under 40 — so only abuse or a broken sender is cut.
"""

from __future__ import annotations

TRUNCATION_MARKER = "…[truncated]"

TITLE_MAX = 200  # title: a line on a screen
HEADLINE_MAX = 1_000  # headline: a few sentences
TEXT_MAX = 20_000  # text / description: the body of a bulletin
INSTRUCTION_MAX = 4_000  # CAP instruction, what to do
NAME_MAX = 200  # area, shelter, publisher, hazard names
ADDRESS_MAX = 400  # shelter address
OTHER_MAX = 2_000  # any other string (details, labels, translations' other keys)
ID_MAX = 512  # identifiers and codes: refused, never cut

# field name (of the model's dataclasses, of a translation or a details entry) → limit
TEXT_LIMITS: dict[str, int] = {
    "title": TITLE_MAX,
    "headline": HEADLINE_MAX,
    "text": TEXT_MAX,
    "description": TEXT_MAX,
    "instruction": INSTRUCTION_MAX,
    "name": NAME_MAX,
    "area_name": NAME_MAX,
    "publisher": NAME_MAX,
    "sender_name": NAME_MAX,
    "address": ADDRESS_MAX,
}
# fields that identify something: over ID_MAX the message is refused
IDENTIFIERS = frozenset({"id", "event_id", "references", "code", "area_code"})
