"""budget-vs-actual: budget and actual per year, unit and objective, with variance and
execution rate, over the years of the version's period as of a date.

Budgets are one GROUP BY over the version's budget lines. Actuals of a year
whose every transaction is dated on or before as-of come from
``actual_totals``, the summary the importer keeps in the same transaction as
the actuals, so a million transactions cost nothing here; only the year that
as-of falls in (when later actuals exist) is summed from the transactions.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, extract, func, select

from itu_plan.model import Activity, Actual, ActualTotal, BudgetLine, FundingSource, Objective, Unit
from itu_plan.reports.common import (
    Column,
    Options,
    Table,
    VersionRef,
    effective_as_of,
    key_text,
    notes,
    ratio,
    version_ref,
)

COLUMNS = [
    Column("year", "int"),
    Column("unit_code"),
    Column("objective_code"),
    Column("budget", "money"),
    Column("actual", "money"),
    Column("variance", "money"),
    Column("execution_rate", "ratio"),
]

Key = tuple[int, int, int | None]


def _shown(year: int | None, years: Collection[int] | None) -> list[int] | None:
    """The years asked for: ``year`` (within ``years`` if given), else ``years``; None is all."""
    if year is not None:
        return [year] if years is None or year in years else []
    return None if years is None else sorted(years)


def budgets(
    connection: Connection, version_id: int, year: int | None = None, *, years: Collection[int] | None = None
) -> dict[Key, int]:
    """The version's budget per (year, unit, objective), all categories summed; of
    ``year`` or ``years`` when given."""
    shown = _shown(year, years)
    statement = (
        select(BudgetLine.year, BudgetLine.unit_id, BudgetLine.objective_id, func.sum(BudgetLine.amount_centimes))
        .where(BudgetLine.version_id == version_id)
        .group_by(BudgetLine.year, BudgetLine.unit_id, BudgetLine.objective_id)
    )
    if shown is not None:
        statement = statement.where(BudgetLine.year.in_(shown))
    return {(y, u, o): int(amount) for y, u, o, amount in connection.execute(statement)}


def actuals(
    connection: Connection,
    year: int | None = None,
    as_of: dt.date | None = None,
    *,
    years: Collection[int] | None = None,
) -> dict[Key, int]:
    """Actual expenditure per (year, unit, effective objective), dated on or before
    ``as_of`` if given; of ``year`` or ``years`` when given.

    A year whose latest actual is on or before ``as_of`` is read from
    ``actual_totals``; the others (the year as-of falls in) from the transactions.
    Both give the same sums (:func:`from_totals`, :func:`from_transactions`).
    """
    shown = _shown(year, years)
    if shown == []:
        return {}
    latest = select(ActualTotal.year, func.max(ActualTotal.last_date)).group_by(ActualTotal.year)
    if shown is not None:
        latest = latest.where(ActualTotal.year.in_(shown))
    last_dates = {int(y): last for y, last in connection.execute(latest)}
    complete = sorted(y for y, last in last_dates.items() if as_of is None or last <= as_of)
    partial = sorted(set(last_dates) - set(complete))
    found = from_totals(connection, complete) if complete else {}
    if partial:
        assert as_of is not None  # every year is complete without an as-of date
        found.update(from_transactions(connection, partial, as_of))
    return found


def from_totals(connection: Connection, years: Collection[int]) -> dict[Key, int]:
    """Every actual of ``years``, summed from ``actual_totals``."""
    statement = (
        select(ActualTotal.year, ActualTotal.unit_id, ActualTotal.objective_id, func.sum(ActualTotal.amount_centimes))
        .where(ActualTotal.year.in_(sorted(years)))
        .group_by(ActualTotal.year, ActualTotal.unit_id, ActualTotal.objective_id)
    )
    return {(int(y), u, o): int(amount) for y, u, o, amount in connection.execute(statement)}


def from_transactions(connection: Connection, years: Collection[int], as_of: dt.date) -> dict[Key, int]:
    """The actuals of ``years`` dated on or before ``as_of``, summed from the transactions."""
    first, last = dt.date(min(years), 1, 1), min(as_of, dt.date(max(years), 12, 31))
    objective = func.coalesce(Actual.objective_id, Activity.objective_id)
    actual_year = extract("year", Actual.date)
    statement = (
        select(actual_year, Actual.unit_id, objective, func.sum(Actual.amount_centimes))
        .outerjoin(Activity, Activity.id == Actual.activity_id)
        .where(Actual.date >= first, Actual.date <= last)
        .group_by(actual_year, Actual.unit_id, objective)
    )
    return {(int(y), u, o): int(amount) for y, u, o, amount in connection.execute(statement) if int(y) in years}


def code_maps(connection: Connection) -> tuple[dict[int, str], dict[int, str]]:
    units = dict(connection.execute(select(Unit.id, Unit.code)).all())
    objectives = dict(connection.execute(select(Objective.id, Objective.code)).all())
    return units, objectives


def rows_of(connection: Connection, version: VersionRef, as_of: dt.date, year: int | None) -> list[tuple[Any, ...]]:
    """Rows (year, unit_code, objective_code, budget, actual) in key order: the years of
    the version's period (``year`` alone if given), actuals dated on or before ``as_of``."""
    years = version.years_shown(year)
    budget = budgets(connection, version.id, years=years)
    actual = actuals(connection, as_of=as_of, years=years)
    units, objectives = code_maps(connection)
    rows = []
    for key in budget.keys() | actual.keys():
        row_year, unit, objective = key
        rows.append(
            (
                row_year,
                units[unit],
                None if objective is None else objectives[objective],
                budget.get(key, 0),
                actual.get(key, 0),
            )
        )
    rows.sort(key=lambda r: (r[0], r[1], key_text(r[2])))
    return rows


def compute(connection: Connection, options: Options) -> tuple[str, list[tuple[Any, ...]]]:
    """(version name, rows (year, unit_code, objective_code, budget, actual)) in key order,
    over the version's period (``--year`` alone if given), as of ``effective_as_of``."""
    version = version_ref(connection, options.version)
    return version.name, rows_of(connection, version, effective_as_of(connection, options), options.year)


def run(connection: Connection, options: Options) -> Table:
    version = version_ref(connection, options.version)
    as_of = effective_as_of(connection, options)
    rows = rows_of(connection, version, as_of, options.year)
    table_rows = [(y, u, o, b, a, b - a, ratio(a, b)) for y, u, o, b, a in rows]
    return Table("budget-vs-actual", COLUMNS, table_rows, notes(as_of, version))


def drill(connection: Connection, options: Options, key: dict[str, Any]) -> Table:
    """The actuals behind one cell: ``year``, ``unit_code`` and ``objective_code``
    (None for actuals with neither objective nor activity), dated on or before as-of;
    none for a year outside the version's period."""
    version = version_ref(connection, options.version)
    as_of = effective_as_of(connection, options)
    objective = func.coalesce(Actual.objective_id, Activity.objective_id)
    objective_code = select(Objective.code).where(Objective.id == objective).scalar_subquery()
    statement = (
        select(
            Actual.reference,
            Actual.date,
            Activity.code,
            objective_code,
            Actual.category,
            Actual.amount_centimes,
            FundingSource.code,
        )
        .join(Unit, Unit.id == Actual.unit_id)
        .outerjoin(Activity, Activity.id == Actual.activity_id)
        .join(FundingSource, FundingSource.id == Actual.funding_source_id)
        .where(Unit.code == key["unit_code"])
        .order_by(Actual.date, Actual.reference)
    )
    year = int(key["year"])
    statement = statement.where(Actual.date >= dt.date(year, 1, 1), Actual.date <= min(as_of, dt.date(year, 12, 31)))
    if key.get("objective_code") is None:
        statement = statement.where(objective.is_(None))
    else:
        statement = statement.where(
            objective == select(Objective.id).where(Objective.code == key["objective_code"]).scalar_subquery()
        )
    columns = [
        Column("reference"),
        Column("date", "date"),
        Column("activity_code"),
        Column("objective_code"),
        Column("category"),
        Column("amount", "money"),
        Column("funding_source_code"),
    ]
    rows = [tuple(r) for r in connection.execute(statement)] if year in version.years else []
    per_category: dict[str, int] = defaultdict(int)
    for row in rows:
        per_category[row[4]] += row[5]
    return Table("budget-vs-actual drill-down", columns, rows, notes(as_of, version, by_category=dict(per_category)))
