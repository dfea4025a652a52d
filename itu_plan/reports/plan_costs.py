"""plan-costs: the cost lines of a version by year, unit, objective and category,
over the years of the version's period.

Unit and objective are the activity's. One GROUP BY in the database.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, Select, func, select

from itu_plan.model import Activity, CostLine, Objective, Unit
from itu_plan.money import format_scaled
from itu_plan.reports.common import Column, Options, Table, effective_as_of, notes, version_ref

COLUMNS = [
    Column("year", "int"),
    Column("unit_code"),
    Column("objective_code"),
    Column("category"),
    Column("amount", "money"),
]


def query(
    version_id: int, year: int | None = None, *, years: Collection[int] | None = None
) -> Select[int, str, str, str, int]:
    """The cost lines of the version summed per key; of ``year`` and of ``years`` when given."""
    statement = (
        select(CostLine.year, Unit.code, Objective.code, CostLine.category, func.sum(CostLine.amount_centimes))
        .join(Activity, Activity.id == CostLine.activity_id)
        .join(Unit, Unit.id == Activity.unit_id)
        .join(Objective, Objective.id == Activity.objective_id)
        .where(CostLine.version_id == version_id)
        .group_by(CostLine.year, Unit.code, Objective.code, CostLine.category)
        .order_by(CostLine.year, Unit.code, Objective.code, CostLine.category)
    )
    if year is not None:
        statement = statement.where(CostLine.year == year)
    if years is not None:
        statement = statement.where(CostLine.year.in_(sorted(years)))
    return statement


def run(connection: Connection, options: Options) -> Table:
    version = version_ref(connection, options.version)
    as_of = effective_as_of(connection, options)
    rows = [tuple(r) for r in connection.execute(query(version.id, years=version.years_shown(options.year)))]
    return Table("plan-costs", COLUMNS, rows, notes(as_of, version))


def drill(connection: Connection, options: Options, key: dict[str, object]) -> Table:
    """The cost lines behind one plan-costs cell (year, unit_code, objective_code, category),
    within the version's period."""
    version = version_ref(connection, options.version)
    as_of = effective_as_of(connection, options)
    statement = (
        select(
            Activity.code,
            Activity.title,
            CostLine.year,
            CostLine.category,
            CostLine.grade,
            CostLine.work_months_e2,
            CostLine.amount_centimes,
        )
        .join(Activity, Activity.id == CostLine.activity_id)
        .join(Unit, Unit.id == Activity.unit_id)
        .join(Objective, Objective.id == Activity.objective_id)
        .where(CostLine.version_id == version.id, CostLine.year.in_(list(version.years)))
        .order_by(Activity.code, CostLine.category, CostLine.grade)
    )
    for name, column in (("year", CostLine.year), ("unit_code", Unit.code), ("objective_code", Objective.code)):
        if key.get(name) is not None:
            statement = statement.where(column == key[name])
    if key.get("category") is not None:
        statement = statement.where(CostLine.category == key["category"])
    rows = [
        (code, title, year, category, grade, None if wm is None else format_scaled(wm, 2), amount)
        for code, title, year, category, grade, wm, amount in connection.execute(statement)
    ]
    columns = [
        Column("activity_code"),
        Column("title"),
        Column("year", "int"),
        Column("category"),
        Column("grade"),
        Column("work_months", "text"),
        Column("amount", "money"),
    ]
    return Table("plan-costs drill-down", columns, rows, notes(as_of, version))
