"""cost-recovery: the Resolution 91 statement per product and year, of the entries
dated on or before as-of.

indirect_cost = direct_cost x the overhead rate of the product's unit for the
year (0 without one), full_cost = direct + indirect, net = income - full_cost,
recovery_rate = income / full_cost.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any

from sqlalchemy import Connection, and_, case, extract, func, select

from itu_plan.model import CostRecoveryEntry, OverheadRate, Product
from itu_plan.money import round_half_even
from itu_plan.reports.common import Column, Options, Table, effective_as_of, in_year, notes, ratio

COLUMNS = [
    Column("year", "int"),
    Column("product_code"),
    Column("income", "money"),
    Column("direct_cost", "money"),
    Column("indirect_cost", "money"),
    Column("full_cost", "money"),
    Column("net", "money"),
    Column("recovery_rate", "ratio"),
]


def compute(connection: Connection, year: int | None = None, as_of: dt.date | None = None) -> list[tuple[Any, ...]]:
    """Rows (year, product_code, income, direct_cost, indirect_cost, full_cost, net,
    recovery_rate) of the entries dated on or before ``as_of`` (all without one), of
    ``year`` alone if given."""
    entry_year = extract("year", CostRecoveryEntry.date)
    income = func.sum(case((CostRecoveryEntry.type == "income", CostRecoveryEntry.amount_centimes), else_=0))
    direct = func.sum(case((CostRecoveryEntry.type == "direct_cost", CostRecoveryEntry.amount_centimes), else_=0))
    totals = select(
        entry_year.label("year"), CostRecoveryEntry.product_id, income.label("income"), direct.label("direct")
    ).group_by(entry_year, CostRecoveryEntry.product_id)
    if as_of is not None:
        totals = totals.where(CostRecoveryEntry.date <= as_of)
    if year is not None:
        totals = totals.where(in_year(CostRecoveryEntry.date, year))
    sub = totals.subquery()
    statement = (
        select(sub.c.year, Product.code, sub.c.income, sub.c.direct, OverheadRate.rate_e6)
        .join(Product, Product.id == sub.c.product_id)
        .outerjoin(OverheadRate, and_(OverheadRate.unit_id == Product.unit_id, OverheadRate.year == sub.c.year))
        .order_by(sub.c.year, Product.code)
    )
    rows = []
    for entry_year_value, code, income_c, direct_c, rate_e6 in connection.execute(statement):
        income_c, direct_c = int(income_c), int(direct_c)
        indirect = round_half_even(Fraction(direct_c * (rate_e6 or 0), 1_000_000))
        full = direct_c + indirect
        rows.append(
            (int(entry_year_value), code, income_c, direct_c, indirect, full, income_c - full, ratio(income_c, full))
        )
    return rows


def run(connection: Connection, options: Options) -> Table:
    as_of = effective_as_of(connection, options)
    return Table("cost-recovery", COLUMNS, compute(connection, options.year, as_of), notes(as_of))
