"""plan-costs: the cost lines of a version by year, unit, objective and category.

Unit and objective are the activity's. One GROUP BY in the database.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from itu_plan.model import Activity, CostLine, Objective, Unit
from itu_plan.money import format_scaled
from itu_plan.reports.common import Column, Options, Table, resolve_version

COLUMNS = [
    Column("year", "int"),
    Column("unit_code"),
    Column("objective_code"),
    Column("category"),
    Column("amount", "money"),
]


def query(version_id: int, year: int | None = None):  # type: ignore[no-untyped-def]
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
    return statement


def run(connection: Connection, options: Options) -> Table:
    version_id, version = resolve_version(connection, options.version)
    rows = [tuple(r) for r in connection.execute(query(version_id, options.year))]
    return Table("plan-costs", COLUMNS, rows, {"version": version})


def drill(connection: Connection, options: Options, key: dict[str, object]) -> Table:
    """The cost lines behind one plan-costs cell (year, unit_code, objective_code, category)."""
    version_id, version = resolve_version(connection, options.version)
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
        .where(CostLine.version_id == version_id)
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
    return Table("plan-costs drill-down", columns, rows, {"version": version})
