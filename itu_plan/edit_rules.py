"""The value rules of edits: each checks one value given for a field, in business
terms, and notes what is wrong with it as a :class:`FieldProblem` naming the field and
the value; :func:`reject` then raises every problem of the request at once.

Money in CHF and work-months are ``Decimal``, ``str`` or ``int`` with at most two
decimals; dates ``datetime.date`` or ISO strings; years integers.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal

from itu_plan.errors import Problem, UsageError, ValidationError
from itu_plan.money import format_scaled, parse_scaled
from itu_plan.values import amount_beyond_limit, control_character

#: Amounts: one ceiling for the editor, the importer and the API (itu_plan.values.MAX_CENTIMES).
#: The most work-months one cost line may hold.
MAX_WORK_MONTHS_E2 = 10_000_00
YEARS = (1900, 2100)


@dataclass(frozen=True, order=True)
class FieldProblem(Problem):
    """A bad value in an edit: ``column`` names the field at fault (so that a grid can
    mark it), ``value`` is what was given and ``message`` says what is wrong with it
    (starting with the value as the message quotes it). ``file`` is the record;
    ``row`` numbers the problems of one request in the order they were found."""

    value: object = field(default=None, compare=False)


class EditRejected(ValidationError, UsageError):
    """The values of one edit were rejected (exit 2); nothing was written.

    ``problems`` holds a :class:`FieldProblem` for each bad value, in the order
    found; the message lists them all as one sentence:
    ``cannot save cost line ...: amount '12.345' is not a number with at most 2 decimals``.
    """

    def __init__(self, what: str, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.what = what
        self.args = (f"cannot save {what}: " + "; ".join(f"{p.column} {p.message}" for p in self.problems),)


def bad(problems: list[Problem], name: str, value: object, reason: str, *, shown: object = None) -> None:
    """Note that field ``name`` has the bad ``value`` (quoted as ``shown`` if given)."""
    quoted = repr(value if shown is None else shown)
    problems.append(FieldProblem("", len(problems) + 1, name, f"{quoted} {reason}", value))


def reject(what: str, problems: list[Problem]) -> None:
    """Raise every problem found in the edit of ``what`` at once, if there is any."""
    if problems:
        raise EditRejected(what, [replace(p, file=what) for p in problems])


def scaled(problems: list[Problem], name: str, value: object, scale: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal | float):
        bad(problems, name, value, "is not a number")
        return None
    try:
        return parse_scaled(str(value), scale)
    except ValueError:
        bad(problems, name, value, f"is not a number with at most {scale} decimals")
        return None


def money(problems: list[Problem], name: str, value: object) -> int | None:
    centimes = scaled(problems, name, value, 2)
    if centimes is None:
        return None
    if centimes < 0:
        bad(problems, name, value, "is negative")
    elif reason := amount_beyond_limit(centimes):
        bad(problems, name, value, reason)
    return centimes


def work_months(problems: list[Problem], value: object) -> int | None:
    if value is None or value == "":
        return None
    e2 = scaled(problems, "work_months", value, 2)
    if e2 is None:
        return None
    if e2 < 0:
        bad(problems, "work_months", value, "is negative")
    elif e2 > MAX_WORK_MONTHS_E2:
        bad(problems, "work_months", value, f"is more than {format_scaled(MAX_WORK_MONTHS_E2, 2)}")
    return e2


def year(problems: list[Problem], value: object) -> int | None:
    year: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        year = value
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        year = int(value.strip())
    if year is None or not YEARS[0] <= year <= YEARS[1]:
        bad(problems, "year", value, f"is not a year between {YEARS[0]} and {YEARS[1]}")
        return None
    return year


def choice(
    problems: list[Problem], name: str, value: object, choices: tuple[str, ...], *, optional: bool
) -> str | None:
    if optional and (value is None or value == ""):
        return None
    if not isinstance(value, str) or value not in choices:
        bad(problems, name, value, f"is not one of {', '.join(choices)}")
        return None
    return value


def date(problems: list[Problem], name: str, value: object) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        bad(problems, name, value, "is a date and time; give a date")
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
                return dt.date.fromisoformat(value)
        except ValueError:
            pass
    bad(problems, name, value, "is not a date (YYYY-MM-DD)")
    return None


def text(problems: list[Problem], name: str, value: object, length: int, *, optional: bool = False) -> str | None:
    if optional and (value is None or value == ""):
        return None
    if not isinstance(value, str) or not value.strip():
        bad(problems, name, value, "is empty" if isinstance(value, str) else "is not text")
        return None
    if len(value) > length:
        bad(problems, name, value, f"is longer than {length} characters", shown=value[:40] + "...")
    elif reason := control_character(value):
        bad(problems, name, value, reason)
    elif any(not c.isprintable() for c in value):
        bad(problems, name, value, "holds characters that do not print (such as a line break)")
    return value.strip()


def row_version(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UsageError(
            f"the row version {value!r} is not a positive whole number; pass the row_version read with the record"
        )
    return value
