"""data-quality: what a finance officer would query before trusting the figures.

One row per finding, sorted by check, subject and year; ``detail`` says what was
found, with the figures. Each check is one GROUP BY in the database.

=================================  ================  ======  ==============================================
check                              subject           year    finds
=================================  ================  ======  ==============================================
ACTUALS_ON_CANCELLED_ACTIVITY      ACTIVITY          YEAR    actuals booked on an activity whose status is
                                                             cancelled: how many, their total
ACTUALS_OUTSIDE_ACTIVITY_DATES     ACTIVITY          YEAR    actuals dated before the activity's start_date
                                                             or after its end_date: how many, their total,
                                                             the first and last such date
BUDGET_COST_MISMATCH               VERSION           YEAR    a version whose budget lines and cost lines
                                                             add up differently in a year: both totals and
                                                             the difference
COST_LINES_ON_CANCELLED_ACTIVITY   VERSION/ACTIVITY          cost lines of a version (any status) on a
                                                             cancelled activity: how many, their total
INCOME_OF_COST_RECOVERY_SOURCE     FUNDING_SOURCE    YEAR    income.csv rows of a source of kind
                                                             cost_recovery: the financial plan counts cost
                                                             recovery from cost_recovery.csv only, so this
                                                             income shows nowhere
MISSING_OVERHEAD_RATE              PRODUCT           YEAR    a product with direct costs in a year and no
                                                             overhead rate for its unit and that year: the
                                                             cost-recovery report shows an indirect cost of
                                                             0.00 and understates its full cost
=================================  ================  ======  ==============================================

Options: ``--as-of``: actuals and cost-recovery rows dated after it do not
exist; ``--year Y``: only the cost lines, budget lines, actuals and
cost-recovery rows of year Y are looked at; ``--version V``: only that version's
cost lines and budget lines (by default every version's: a cancelled
activity's cost lines are worth a query in a draft as in an approved version).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, extract, func, or_, select

from itu_plan.model import (
    Activity,
    Actual,
    BudgetLine,
    CostLine,
    CostRecoveryEntry,
    FundingSource,
    Income,
    OverheadRate,
    PlanVersion,
    Product,
    Unit,
)
from itu_plan.money import describe_chf
from itu_plan.reports.common import Column, Options, Table, effective_as_of, key_text, version_ref

COLUMNS = [Column("check"), Column("subject"), Column("year", "int"), Column("detail")]

CANCELLED = "cancelled"


def _lines(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def cost_lines_on_cancelled(connection: Connection, version_id: int | None, year: int | None) -> list[tuple[Any, ...]]:
    """COST_LINES_ON_CANCELLED_ACTIVITY, per version and activity."""
    statement = (
        select(PlanVersion.name, Activity.code, func.count(), func.sum(CostLine.amount_centimes))
        .select_from(CostLine)
        .join(Activity, Activity.id == CostLine.activity_id)
        .join(PlanVersion, PlanVersion.id == CostLine.version_id)
        .where(Activity.status == CANCELLED)
        .group_by(PlanVersion.name, Activity.code)
    )
    if version_id is not None:
        statement = statement.where(CostLine.version_id == version_id)
    if year is not None:
        statement = statement.where(CostLine.year == year)
    return [
        (
            "COST_LINES_ON_CANCELLED_ACTIVITY",
            f"{version}/{activity}",
            None,
            f"{_lines(count, 'cost line')} of {describe_chf(int(amount))} in {version} "
            f"on the cancelled activity {activity}",
        )
        for version, activity, count, amount in connection.execute(statement)
    ]


def _actual_dates(as_of: dt.date, year: int | None) -> list[ColumnElement[bool]]:
    """Actuals that exist at as-of (and are dated in ``year`` if given)."""
    if year is None:
        return [Actual.date <= as_of]
    return [Actual.date <= as_of, Actual.date >= dt.date(year, 1, 1), Actual.date <= dt.date(year, 12, 31)]


def actuals_on_cancelled(connection: Connection, as_of: dt.date, year: int | None) -> list[tuple[Any, ...]]:
    """ACTUALS_ON_CANCELLED_ACTIVITY, per activity and year of the actuals."""
    actual_year = extract("year", Actual.date)
    statement = (
        select(Activity.code, actual_year, func.count(), func.sum(Actual.amount_centimes))
        .select_from(Actual)
        .join(Activity, Activity.id == Actual.activity_id)
        .where(Activity.status == CANCELLED)
        .group_by(Activity.code, actual_year)
    )
    return [
        (
            "ACTUALS_ON_CANCELLED_ACTIVITY",
            activity,
            int(in_year),
            f"{_lines(count, 'actual')} of {describe_chf(int(amount))} booked on the cancelled activity {activity}",
        )
        for activity, in_year, count, amount in connection.execute(statement.where(*_actual_dates(as_of, year)))
    ]


def actuals_outside_dates(connection: Connection, as_of: dt.date, year: int | None) -> list[tuple[Any, ...]]:
    """ACTUALS_OUTSIDE_ACTIVITY_DATES, per activity and year of the actuals."""
    outside = or_(
        and_(Activity.start_date.is_not(None), Actual.date < Activity.start_date),
        and_(Activity.end_date.is_not(None), Actual.date > Activity.end_date),
    )
    actual_year = extract("year", Actual.date)
    statement = (
        select(
            Activity.code,
            actual_year,
            Activity.start_date,
            Activity.end_date,
            func.count(),
            func.sum(Actual.amount_centimes),
            func.min(Actual.date),
            func.max(Actual.date),
        )
        .select_from(Actual)
        .join(Activity, Activity.id == Actual.activity_id)
        .where(outside)
        .group_by(Activity.code, actual_year, Activity.start_date, Activity.end_date)
    )
    rows = []
    for activity, in_year, start, end, count, amount, first, last in connection.execute(
        statement.where(*_actual_dates(as_of, year))
    ):
        runs = f"from {start or 'any date'} to {end or 'any date'}"
        dates = f"on {first}" if first == last else f"from {first} to {last}"
        rows.append(
            (
                "ACTUALS_OUTSIDE_ACTIVITY_DATES",
                activity,
                int(in_year),
                f"{_lines(count, 'actual')} of {describe_chf(int(amount))} dated {dates}, "
                f"outside activity {activity}, which runs {runs}",
            )
        )
    return rows


def missing_overhead_rate(connection: Connection, as_of: dt.date, year: int | None) -> list[tuple[Any, ...]]:
    """MISSING_OVERHEAD_RATE, per product and year (direct costs that do not add up to 0)."""
    entry_year = extract("year", CostRecoveryEntry.date)
    totals = (
        select(
            entry_year.label("year"),
            CostRecoveryEntry.product_id,
            func.sum(CostRecoveryEntry.amount_centimes).label("direct"),
        )
        .where(CostRecoveryEntry.date <= as_of, CostRecoveryEntry.type == "direct_cost")
        .group_by(entry_year, CostRecoveryEntry.product_id)
    )
    if year is not None:
        totals = totals.where(
            CostRecoveryEntry.date >= dt.date(year, 1, 1), CostRecoveryEntry.date <= dt.date(year, 12, 31)
        )
    sub = totals.subquery()
    statement = (
        select(sub.c.year, Product.code, Unit.code, sub.c.direct)
        .join(Product, Product.id == sub.c.product_id)
        .join(Unit, Unit.id == Product.unit_id)
        .outerjoin(OverheadRate, and_(OverheadRate.unit_id == Product.unit_id, OverheadRate.year == sub.c.year))
        .where(OverheadRate.id.is_(None), sub.c.direct != 0)
    )
    rows = []
    for entry_year_value, product, unit, amount in connection.execute(statement):
        in_year = int(entry_year_value)
        rows.append(
            (
                "MISSING_OVERHEAD_RATE",
                product,
                in_year,
                f"direct costs of {describe_chf(int(amount))} and no overhead rate for unit {unit} in {in_year}: "
                "the indirect cost is shown as 0.00 and the full cost is understated",
            )
        )
    return rows


def income_of_cost_recovery_source(connection: Connection, as_of: dt.date, year: int | None) -> list[tuple[Any, ...]]:
    """INCOME_OF_COST_RECOVERY_SOURCE, per funding source and year."""
    income_year = extract("year", Income.date)
    statement = (
        select(FundingSource.code, income_year, func.count(), func.sum(Income.amount_centimes))
        .join(FundingSource, FundingSource.id == Income.funding_source_id)
        .where(FundingSource.kind == "cost_recovery", Income.date <= as_of)
        .group_by(FundingSource.code, income_year)
    )
    if year is not None:
        statement = statement.where(Income.date >= dt.date(year, 1, 1), Income.date <= dt.date(year, 12, 31))
    return [
        (
            "INCOME_OF_COST_RECOVERY_SOURCE",
            source,
            int(in_year),
            f"{_lines(int(count), 'income row')} of {describe_chf(int(amount))} for the cost-recovery source "
            f"{source} in {int(in_year)}: the financial plan counts cost recovery from cost_recovery.csv only; "
            "book it there, against its product",
        )
        for source, in_year, count, amount in connection.execute(statement)
    ]


def budget_cost_mismatch(connection: Connection, version_id: int | None, year: int | None) -> list[tuple[Any, ...]]:
    """BUDGET_COST_MISMATCH, per version and year."""
    totals: dict[tuple[str, int], list[int]] = {}
    for position, (line_version, line_year, amount) in enumerate(
        (
            (BudgetLine.version_id, BudgetLine.year, BudgetLine.amount_centimes),
            (CostLine.version_id, CostLine.year, CostLine.amount_centimes),
        )
    ):
        statement = (
            select(PlanVersion.name, line_year, func.sum(amount))
            .join(PlanVersion, PlanVersion.id == line_version)
            .group_by(PlanVersion.name, line_year)
        )
        if version_id is not None:
            statement = statement.where(line_version == version_id)
        if year is not None:
            statement = statement.where(line_year == year)
        for version, in_year, total in connection.execute(statement):
            totals.setdefault((version, int(in_year)), [0, 0])[position] = int(total)
    rows = []
    for (version, in_year), (budget, cost) in totals.items():
        if budget != cost:
            more = "more budget than cost" if budget > cost else "more cost than budget"
            rows.append(
                (
                    "BUDGET_COST_MISMATCH",
                    version,
                    in_year,
                    f"budget lines total {describe_chf(budget)} and cost lines {describe_chf(cost)} "
                    f"in {in_year}: {describe_chf(abs(budget - cost))} {more}",
                )
            )
    return rows


def run(connection: Connection, options: Options) -> Table:
    as_of = effective_as_of(connection, options)
    version_id = None if options.version is None else version_ref(connection, options.version).id
    rows = [
        *actuals_on_cancelled(connection, as_of, options.year),
        *actuals_outside_dates(connection, as_of, options.year),
        *budget_cost_mismatch(connection, version_id, options.year),
        *cost_lines_on_cancelled(connection, version_id, options.year),
        *income_of_cost_recovery_source(connection, as_of, options.year),
        *missing_overhead_rate(connection, as_of, options.year),
    ]
    rows.sort(key=lambda r: (r[0], r[1], key_text(r[2])))
    notes: dict[str, Any] = {"as_of": as_of.isoformat(), "findings": len(rows)}
    if options.version is not None:
        notes["version"] = options.version
    return Table("data-quality", COLUMNS, rows, notes)
