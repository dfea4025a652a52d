"""Rules about single values that the importer, the editor and the API share.

One definition each, so that a value the editor refuses is never imported
(CONTRACT.md, v2): no control character in any cell, no amount beyond
:data:`MAX_CENTIMES` (15 digits before the point, the contract's limit), no other
number with more than 15 digits before the point, digits only ASCII ``0-9``, no
negative amount in a plan file (the bundle's ``low=0`` bounds).
"""

from __future__ import annotations

import re

#: Characters below U+0020 and U+007F (DEL): NUL, tab, line breaks, ESC ...
CONTROL_CHARACTER = re.compile("[\x00-\x1f\x7f]")
#: The largest amount, either way, that one value may hold: CHF 999,999,999,999,999.99,
#: 15 digits before the point (the contract's limit). The editor, the importer and
#: ``users add --limit`` all refuse more. (A total of more than 92 such amounts would
#: leave SQLite's 64-bit integers; the CLI says so in a sentence.)
MAX_CENTIMES = 10**17 - 1
#: The most digits any other number (work-months, rates, quantities ...) may have
#: before the point: 15, what a float holds exactly, far below 64 bits.
MAX_WHOLE_DIGITS = 15
#: A plain decimal number, ASCII digits only (``\\d`` would take Arabic-Indic digits
#: and ``int()`` would read them).
PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def control_character(text: str) -> str | None:
    """Why ``text`` is refused for holding a control character, or None."""
    found = CONTROL_CHARACTER.search(text)
    if found is None:
        return None
    return f"holds a control character (U+{ord(found.group()):04X}); remove it"


def too_many_digits(whole: str) -> str | None:
    """Why a number whose part before the point is ``whole`` is refused, or None."""
    digits = whole.lstrip("-")
    if len(digits) <= MAX_WHOLE_DIGITS:
        return None
    return f"has {len(digits)} digits before the point; a number has at most {MAX_WHOLE_DIGITS}"


def amount_beyond_limit(centimes: int) -> str | None:
    """Why an amount of ``centimes`` is refused for its size, or None."""
    if -MAX_CENTIMES <= centimes <= MAX_CENTIMES:
        return None
    side = "more than CHF " if centimes > 0 else "less than CHF -"
    return f"is {side}{MAX_CENTIMES // 100:,}.{MAX_CENTIMES % 100:02d}, the largest amount a value may hold"


def parse_amount(text: str) -> int:
    """A plain CHF amount (``-?[0-9]+(.[0-9]{1,2})?``) as centimes; ValueError saying why
    not (not a number, more than two decimals, beyond :data:`MAX_CENTIMES`)."""
    if not PLAIN_NUMBER.fullmatch(text):
        raise ValueError(f"{text!r} is not an amount in CHF")
    whole, _, frac = text.lstrip("-").partition(".")
    if len(frac) > 2:
        raise ValueError(f"{text!r} has more than two decimals")
    negative = text.startswith("-")
    if len(whole.lstrip("0")) > MAX_WHOLE_DIGITS:  # refused before any long conversion
        raise ValueError(f"{text!r} {amount_beyond_limit(-MAX_CENTIMES - 1 if negative else MAX_CENTIMES + 1)}")
    value = int(whole) * 100 + (int(frac.ljust(2, "0")) if frac else 0)
    value = -value if negative else value
    if reason := amount_beyond_limit(value):
        raise ValueError(f"{text!r} {reason}")
    return value
