"""Presentation of exact values: CHF with thousands separators, percentages, table HTML.

Reports hand over exact ``Decimal``s (money with two decimals, ratios with four,
day counts with one); this module only rounds for display, never for storage,
and is deterministic (same frame, same HTML).
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from itu_plan.money import ratio

if TYPE_CHECKING:
    import pandas as pd

#: Column headers people read, by report column name.
LABELS = {
    "year": "Year",
    "unit_code": "Unit",
    "objective_code": "Objective",
    "product_code": "Product",
    "funding_source_code": "Funding source",
    "activity_code": "Activity",
    "category": "Category",
    "amount": "Amount (CHF)",
    "budget": "Budget (CHF)",
    "plan": "Plan (CHF)",
    "actual": "Actual (CHF)",
    "variance": "Variance (CHF)",
    "execution_rate": "Execution",
    "income": "Income (CHF)",
    "direct_cost": "Direct cost (CHF)",
    "indirect_cost": "Indirect cost (CHF)",
    "full_cost": "Full cost (CHF)",
    "net": "Net (CHF)",
    "recovery_rate": "Recovery",
    "completed": "Completed",
    "median_days": "Median days",
    "mean_days": "Mean days",
    "within_target": "Within target",
    "share": "Share",
    "count": "Count",
    "line": "Line",
    "severity": "Severity",
    "rule": "Rule",
    "subject": "Subject",
    "message": "Message",
    "signed_date": "Signed",
    "in_force_date": "In force",
    "work_months": "Work-months",
    "units": "Contributory units",
    "member_type": "Member type",
    "members": "Members",
}

#: Member types as people name them.
MEMBER_TYPES = {
    "member_state": "Member States",
    "sector_member": "Sector Members",
    "associate": "Associates",
    "academia": "Academia",
}

#: Financial-plan lines as people name them.
LINE_LABELS = {
    "assessed_contributions": "Assessed contributions (Member States)",
    "sector_member_contributions": "Sector Member contributions",
    "associate_contributions": "Associate contributions",
    "cost_recovery": "Cost recovery (Resolution 91)",
    "other_income": "Other income",
    "total_income": "Total income",
    "expenditure": "Expenditure",
    "balance": "Balance",
    "reserve_drawing": "Reserve drawing (below the line)",
    "net_balance": "Net balance (after the reserve drawing)",
}


def label(column: str) -> str:
    return LABELS.get(column, column.replace("_", " ").capitalize())


def kind_of(value: Any) -> str:
    """How a value prints: ``money`` (Decimal, 2 places), ``ratio`` (4), ``days`` (1),
    ``int``, ``date`` or ``text``."""
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        return {-2: "money", -4: "ratio", -1: "days"}.get(exponent if isinstance(exponent, int) else 0, "number")
    if isinstance(value, bool):
        return "text"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "number"
    if isinstance(value, dt.date):
        return "date"
    return "text"


def column_kinds(frame: pd.DataFrame) -> dict[str, str]:
    """The kind of each column, from its first non-empty value."""
    kinds = {}
    for column in frame.columns:
        kinds[str(column)] = next((kind_of(v) for v in frame[column] if v is not None and v == v), "text")
    if "year" in kinds:
        kinds["year"] = "text"  # 2006, not 2,006
    if kinds.get("units") == "ratio":
        kinds["units"] = "number"  # contributory units have four decimals too
    return kinds


def chf(value: Decimal | int | None, places: int = 2) -> str:
    """``Decimal("1234567.5")`` -> ``"1,234,567.50"``; None -> ``""``."""
    if value is None:
        return ""
    quantum = Decimal(1).scaleb(-places)
    return f"{Decimal(value).quantize(quantum, ROUND_HALF_EVEN):,.{places}f}"


def chf_short(value: Decimal | int | None) -> str:
    """A headline amount: ``"CHF 346.63 m"``, ``"CHF 912.5 k"``, ``"CHF 850"``."""
    if value is None:
        return "n/a"
    amount = Decimal(value)
    size = abs(amount)
    if size >= 1_000_000_000:
        text = f"{(amount / Decimal(1_000_000_000)).quantize(Decimal('0.01'), ROUND_HALF_EVEN):,} bn"
    elif size >= 1_000_000:
        text = f"{(amount / Decimal(1_000_000)).quantize(Decimal('0.01'), ROUND_HALF_EVEN):,} m"
    elif size >= 10_000:
        text = f"{(amount / Decimal(1_000)).quantize(Decimal('0.1'), ROUND_HALF_EVEN):,} k"
    else:
        text = f"{amount.quantize(Decimal(1), ROUND_HALF_EVEN):,}"
    return f"CHF {text}"


def percent(value: Decimal | None, places: int = 1) -> str:
    """``Decimal("0.9834")`` -> ``"98.3 %"``; None (undefined) -> ``"n/a"``."""
    if value is None:
        return "n/a"
    quantum = Decimal(1).scaleb(-places)
    return f"{(Decimal(value) * 100).quantize(quantum, ROUND_HALF_EVEN)} %"


def rate_of_totals(numerator: Iterable[Decimal | None], denominator: Iterable[Decimal | None]) -> Decimal | None:
    """The ratio of two sums of money (``Decimal`` CHF), rounded as reports round ratios
    (:func:`itu_plan.money.ratio`): the total row's execution rate is sum of actual / sum
    of budget, not a sum of rates. None when the denominator's total is 0."""
    top = sum((v for v in numerator if v is not None), Decimal(0))
    bottom = sum((v for v in denominator if v is not None), Decimal(0))
    return ratio(int(top * 100), int(bottom * 100))


def share(value: Fraction) -> Decimal:
    """An exact share (``Fraction(273, 365)``) as a ratio with four decimals, rounded as
    reports round ratios: ``Decimal("0.7479")``."""
    rounded = ratio(value.numerator, value.denominator)
    assert rounded is not None  # a Fraction's denominator is never 0
    return rounded


def cell(value: Any, kind: str) -> str:
    """One value as a table shows it (not escaped)."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if kind == "money":
        return chf(value)
    if kind == "ratio":
        return percent(value)
    if kind == "int":
        return f"{value:,}"
    if kind == "number" and isinstance(value, Decimal):
        return f"{value:,}"
    if kind == "date" and isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def exact(value: Any, kind: str) -> str:
    """The exact text of a value as ``itu-plan report --format csv`` prints it."""
    if value is None:
        return ""
    if kind == "money":
        return f"{Decimal(value).quantize(Decimal('0.01'), ROUND_HALF_EVEN)}"
    if kind == "ratio":
        return f"{Decimal(value).quantize(Decimal('0.0001'), ROUND_HALF_EVEN)}"
    return str(value)


NUMERIC = ("money", "ratio", "days", "int", "number")
#: What an empty table says.
EMPTY = "Nothing to show for this selection."


def table_html(
    frame: pd.DataFrame,
    *,
    labels: Mapping[str, str] | None = None,
    kinds: Mapping[str, str] | None = None,
    cell_html: Mapping[str, Any] | None = None,
    totals: Iterable[str] = (),
    total_cells: Mapping[str, str] | None = None,
    attrs: Mapping[str, str] | None = None,
    empty: str = EMPTY,
) -> str:
    """The frame as an HTML ``<table class="itu-table">``: CHF with thousands separators,
    numbers right-aligned, optional total row over the ``totals`` columns, every
    value escaped. ``cell_html`` maps a column to a function that returns the
    (already escaped) HTML of one value; ``total_cells`` gives the total row's text
    of columns that are not summed (a ratio of the totals)."""
    if frame.empty:
        return f'<p class="itu-note">{html.escape(empty)}</p>'
    kinds = {**column_kinds(frame), **(kinds or {})}
    labels = labels or {}
    cell_html = cell_html or {}
    columns = [str(c) for c in frame.columns]
    extra = "".join(f' {name}="{html.escape(value)}"' for name, value in sorted((attrs or {}).items()))
    out = [f'<div class="itu-table-wrap"><table class="itu-table"{extra}><thead><tr>']
    for column in columns:
        css = ' class="itu-num"' if kinds[column] in NUMERIC else ""
        out.append(f"<th{css}>{html.escape(labels.get(column, label(column)))}</th>")
    out.append("</tr></thead><tbody>")
    for row in frame.itertuples(index=False, name=None):
        out.append("<tr>")
        for column, value in zip(columns, row, strict=True):
            css = ' class="itu-num"' if kinds[column] in NUMERIC else ""
            text = cell_html[column](value) if column in cell_html else html.escape(cell(value, kinds[column]))
            out.append(f"<td{css}>{text}</td>")
        out.append("</tr>")
    out.append("</tbody>")
    totals = [t for t in totals if t in columns]
    total_cells = total_cells or {}
    if totals:
        out.append("<tfoot><tr>")
        for i, column in enumerate(columns):
            if column in totals:
                total = sum((v for v in frame[column] if v is not None), Decimal(0))
                out.append(f'<td class="itu-num">{html.escape(cell(total, kinds[column]))}</td>')
            elif column in total_cells:
                out.append(f'<td class="itu-num">{html.escape(total_cells[column])}</td>')
            else:
                out.append(f"<td>{'Total' if i == 0 else ''}</td>")
        out.append("</tr></tfoot>")
    out.append("</table></div>")
    return "".join(out)
