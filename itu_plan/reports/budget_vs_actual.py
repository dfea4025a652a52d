"""budget-vs-actual: budget and actual per year, unit and objective, with variance and
execution rate.

Budgets are one GROUP BY over the version's budget lines. Actuals come from
``actual_totals``, the summary the importer keeps in the same transaction as
the actuals, so a million transactions cost nothing here; only a report as of
a date before the latest actual reads the transactions themselves.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, and_, extract, func, select

from itu_plan.model import Activity, Actual, ActualTotal, BudgetLine, FundingSource, Objective, Unit
from itu_plan.reports.common import Column, Options, Table, key_text, ratio, resolve_version

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


def budgets(connection: Connection, version_id: int, year: int | None = None) -> dict[Key, int]:
    statement = (
        select(BudgetLine.year, BudgetLine.unit_id, BudgetLine.objective_id, func.sum(BudgetLine.amount_centimes))
        .where(BudgetLine.version_id == version_id)
        .group_by(BudgetLine.year, BudgetLine.unit_id, BudgetLine.objective_id)
    )
    if year is not None:
        statement = statement.where(BudgetLine.year == year)
    return {(y, u, o): int(amount) for y, u, o, amount in connection.execute(statement)}


def actuals(connection: Connection, year: int | None = None, as_of: dt.date | None = None) -> dict[Key, int]:
    """Actual expenditure per (year, unit, effective objective), to ``as_of`` if given."""
    latest = connection.execute(select(func.max(ActualTotal.last_date))).scalar()
    if as_of is None or latest is None or latest <= as_of:
        statement = select(
            ActualTotal.year, ActualTotal.unit_id, ActualTotal.objective_id, func.sum(ActualTotal.amount_centimes)
        ).group_by(ActualTotal.year, ActualTotal.unit_id, ActualTotal.objective_id)
        if year is not None:
            statement = statement.where(ActualTotal.year == year)
    else:  # as of an earlier date: sum the transactions up to it
        objective = func.coalesce(Actual.objective_id, Activity.objective_id)
        actual_year = extract("year", Actual.date)
        statement = (
            select(actual_year, Actual.unit_id, objective, func.sum(Actual.amount_centimes))
            .outerjoin(Activity, Activity.id == Actual.activity_id)
            .where(Actual.date <= as_of)
            .group_by(actual_year, Actual.unit_id, objective)
        )
        if year is not None:
            statement = statement.where(and_(Actual.date >= dt.date(year, 1, 1), Actual.date <= dt.date(year, 12, 31)))
    return {(int(y), u, o): int(amount) for y, u, o, amount in connection.execute(statement)}


def code_maps(connection: Connection) -> tuple[dict[int, str], dict[int, str]]:
    units = dict(connection.execute(select(Unit.id, Unit.code)).all())
    objectives = dict(connection.execute(select(Objective.id, Objective.code)).all())
    return units, objectives


def compute(connection: Connection, options: Options) -> tuple[str, list[tuple[Any, ...]]]:
    """(version name, rows (year, unit_code, objective_code, budget, actual)) in key order."""
    version_id, version = resolve_version(connection, options.version)
    budget = budgets(connection, version_id, options.year)
    actual = actuals(connection, options.year, options.as_of)
    units, objectives = code_maps(connection)
    rows = []
    for key in budget.keys() | actual.keys():
        year, unit, objective = key
        rows.append(
            (
                year,
                units[unit],
                None if objective is None else objectives[objective],
                budget.get(key, 0),
                actual.get(key, 0),
            )
        )
    rows.sort(key=lambda r: (r[0], r[1], key_text(r[2])))
    return version, rows


def run(connection: Connection, options: Options) -> Table:
    version, rows = compute(connection, options)
    table_rows = [(y, u, o, b, a, b - a, ratio(a, b)) for y, u, o, b, a in rows]
    notes: dict[str, Any] = {"version": version}
    if options.as_of:
        notes["as_of"] = options.as_of.isoformat()
    return Table("budget-vs-actual", COLUMNS, table_rows, notes)


def drill(connection: Connection, options: Options, key: dict[str, Any]) -> Table:
    """The actuals behind one cell: ``year``, ``unit_code`` and ``objective_code``
    (None for actuals with neither objective nor activity)."""
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
    last = dt.date(year, 12, 31) if options.as_of is None else min(options.as_of, dt.date(year, 12, 31))
    statement = statement.where(Actual.date >= dt.date(year, 1, 1), Actual.date <= last)
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
    per_category: dict[str, int] = defaultdict(int)
    rows = [tuple(r) for r in connection.execute(statement)]
    for row in rows:
        per_category[row[4]] += row[5]
    return Table("budget-vs-actual drill-down", columns, rows, {"by_category": dict(per_category)})
