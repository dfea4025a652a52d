"""Rules about single values that the importer, the editor and the API share.

One definition each, so that a value the editor refuses is never imported
(CONTRACT.md, v2): no control character in any cell, no amount with more than
15 digits before the point, no negative amount in a plan file.
"""

from __future__ import annotations

import re

#: Characters below U+0020 and U+007F (DEL): NUL, tab, line breaks, ESC ...
CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f]")
#: The most digits an amount may have before the point.
MAX_WHOLE_DIGITS = 15


def control_character(text: str) -> str | None:
    """Why ``text`` is refused for holding a control character, or None."""
    found = CONTROL_CHARACTER.search(text)
    if found is None:
        return None
    return f"holds a control character (U+{ord(found.group()):04X}); remove it"


def too_many_digits(whole: str) -> str | None:
    """Why an amount whose part before the point is ``whole`` is refused, or None."""
    digits = whole.lstrip("-")
    if len(digits) <= MAX_WHOLE_DIGITS:
        return None
    return f"has {len(digits)} digits before the point; an amount has at most {MAX_WHOLE_DIGITS}"
