"""Printing report tables: CSV and JSON exactly, a table for people.

Money prints with two decimals, ratios with four, day counts with one (all
rounded half-even from exact values); an undefined value is an empty cell
(``null`` in JSON).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from fractions import Fraction
from typing import Any

from itu_plan.errors import printable
from itu_plan.money import format_chf, round_half_even
from itu_plan.reports.common import Column, Table

PLACES = {"ratio": 4, "days": 1}


#: What a terminal would act on rather than show: C0 and C1 controls, DEL, and the
#: invisible format characters that reorder or hide text (bidi overrides, zero widths).
def text_value(column: Column, value: Any) -> str:
    """The exact text of a value, as CSV and JSON carry it."""
    if value is None:
        return ""
    if column.kind == "money":
        return format_chf(int(value))
    if column.kind in PLACES:
        places = PLACES[column.kind]
        scaled = round_half_even(Fraction(value) * 10**places)
        sign = "-" if scaled < 0 else ""
        whole, frac = divmod(abs(scaled), 10**places)
        return f"{sign}{whole}.{frac:0{places}d}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def typed_value(column: Column, value: Any) -> Any:
    """The value as the DataFrame holds it: exact Decimals for money and ratios."""
    if value is None:
        return None
    if column.kind in ("money", "ratio", "days"):
        return Decimal(text_value(column, value))
    return value


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(table.names)
    for row in table.rows:
        writer.writerow([text_value(c, v) for c, v in zip(table.columns, row, strict=True)])
    return out.getvalue()


def _json_value(column: Column, value: Any) -> str:
    if value is None:
        return "null"
    if column.kind in ("int", "money", "ratio", "days"):
        return text_value(column, value)  # a JSON number, written exactly
    return json.dumps(text_value(column, value), ensure_ascii=False)


def to_json(table: Table) -> str:
    """A JSON array of objects; numbers are written with their exact decimals."""
    lines = []
    for row in table.rows:
        fields = ", ".join(
            f"{json.dumps(c.name)}: {_json_value(c, v)}" for c, v in zip(table.columns, row, strict=True)
        )
        lines.append("  {" + fields + "}")
    return "[\n" + ",\n".join(lines) + "\n]\n" if lines else "[]\n"


def _people(column: Column, value: Any) -> str:
    text = text_value(column, value)
    if not text:
        return ""
    if column.kind == "money":
        whole, _, cents = text.partition(".")
        sign = "-" if whole.startswith("-") else ""
        return f"{sign}{int(whole.lstrip('-')):,}.{cents}"
    if column.kind == "ratio":
        return f"{Decimal(text) * 100:.2f} %"
    return text


def heading(table: Table, year: int | None = None) -> str:
    """What the numbers are: the report, its version and period, the year asked for and
    the as-of date, e.g. ``budget-vs-actual: version 2006-2007 approved (2006-2007),
    year 2007, as of 2007-06-30``."""
    said = []
    if "version" in table.notes:
        period = table.notes.get("period")
        said.append(f"version {table.notes['version']}" + (f" ({period})" if period else ""))
    if year is not None:
        said.append(f"year {year}")
    if "as_of" in table.notes:
        said.append(f"as of {table.notes['as_of']}")
    return f"{table.name}: {', '.join(said)}" if said else table.name


def outside_period(version: str, period: str, year: int) -> str:
    """Why a report of ``version`` has no rows for ``year``: the year is not in its period."""
    return (
        f"{year} is outside the period of version {version} ({period}): its figures are for {period} only; "
        f"choose a year of {period} or a version whose period covers {year}"
    )


#: Notes that the heading says already, or that are not for people.
HEADING_NOTES = ("by_category", "version", "period", "as_of")


def notes_text(table: Table) -> list[str]:
    """The table's other notes, one line each: ``scenario: inflation=0.05``, ``target_days: 120``."""
    lines = []
    for name, value in table.notes.items():
        if name in HEADING_NOTES:
            continue
        text = ", ".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else str(value)
        lines.append(printable(f"{name}: {text}"))
    return lines


def to_table(table: Table, *, year: int | None = None, empty: str | None = None) -> str:
    """A heading naming the version, period, the year asked for and the as-of date, then
    aligned columns with thousands separators, numbers to the right; without rows,
    ``empty`` says why (``(no rows)`` without one)."""
    cells = [[printable(_people(c, v)) for c, v in zip(table.columns, row, strict=True)] for row in table.rows]
    widths = [max([len(c.name)] + [len(r[i]) for r in cells]) for i, c in enumerate(table.columns)]
    right = [c.kind in ("int", "money", "ratio", "days") for c in table.columns]

    def line(values: list[str]) -> str:
        parts = [v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right, strict=True)]
        return "  ".join(parts).rstrip()

    out = [printable(heading(table, year)), line(table.names), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    if not cells:
        out.append(f"(no rows: {empty})" if empty else "(no rows)")
    return "\n".join(out) + "\n"


FORMATS = {"csv": to_csv, "json": to_json, "table": to_table}
