"""financial-plan: income by source, expenditure, the balance and, below the line, the
reserve drawing, planned and actual, for every year of the version's period.

**plan** (the version):

- contributions: the contributory units of the members of each type x that year's
  unit value for the type (``assessed_contributions``: Member States,
  ``sector_member_contributions``, ``associate_contributions``);
- ``cost_recovery``, ``other_income`` (kinds voluntary, trust_fund, other) and
  ``reserve_drawing`` (kind reserve): the version's income budget;
- ``expenditure``: the version's cost lines.

**actual** (dated in that year, on or before as-of):

- contributions: the income rows of sources of kind assessed, sector_members and
  associates, per kind (what was received, so arrears show as a shortfall);
- ``cost_recovery``: the income rows of ``cost_recovery.csv``, as the contract
  says; an ``income.csv`` row of a cost-recovery source is not counted (the
  data-quality report names it, so that no income received goes unseen);
- ``other_income`` and ``reserve_drawing``: the income rows of those kinds;
- ``expenditure``: the actuals.

``total_income`` is the five income lines; ``balance`` = total_income -
expenditure; ``net_balance`` = balance + reserve_drawing: the reserve drawing is
not income, it covers (part of) a deficit below the line.

Scenario drivers change the plan column only, without writing anything:

- ``member_state_unit_value``, ``sector_member_unit_value``, ``associate_unit_value``
  (CHF per contributory unit, every year);
- ``member_state_units``, ``sector_member_units``, ``associate_units`` (the total
  number of contributory units);
- ``inflation`` (a fraction, 0.05 for 5 %, compounded on the expenditure of each
  year after the first year of the version's period);
- ``vacancy_rate`` (a fraction by which staff costs are reduced).

Each line is computed exactly and rounded half-even to the centime once; totals
are sums of the rounded lines, so they reconcile to the centime with the lines
printed above them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import Connection, case, extract, func, select

from itu_plan.errors import UsageError
from itu_plan.model import (
    Actual,
    ActualTotal,
    CostLine,
    CostRecoveryEntry,
    FundingSource,
    Income,
    IncomeBudget,
    Member,
    UnitValue,
)
from itu_plan.money import round_half_even
from itu_plan.reports.common import Column, Options, Table, VersionRef, effective_as_of, version_ref

COLUMNS = [Column("year", "int"), Column("line"), Column("plan", "money"), Column("actual", "money")]
#: The income lines, in the order the report prints them.
INCOME_LINES = (
    "assessed_contributions",
    "sector_member_contributions",
    "associate_contributions",
    "cost_recovery",
    "other_income",
)
#: The contribution lines (the first three income lines).
CONTRIBUTION_LINE_NAMES = INCOME_LINES[:3]
LINES = (*INCOME_LINES, "total_income", "expenditure", "balance", "reserve_drawing", "net_balance")
#: The lines each year has before totals: the income lines, expenditure, reserve drawing.
BASE_LINES = (*INCOME_LINES, "expenditure", "reserve_drawing")
#: member type -> its contribution line
CONTRIBUTION_LINES = {
    "member_state": "assessed_contributions",
    "sector_member": "sector_member_contributions",
    "associate": "associate_contributions",
}
#: funding-source kind -> the line its income (planned or received) belongs to
KIND_LINES = {
    "assessed": "assessed_contributions",
    "sector_members": "sector_member_contributions",
    "associates": "associate_contributions",
    "cost_recovery": "cost_recovery",
    "voluntary": "other_income",
    "trust_fund": "other_income",
    "other": "other_income",
    "reserve": "reserve_drawing",
}
#: Drivers that are fractions of one (0.05 for 5 %), between -1 and 1.
RATE_DRIVERS = ("inflation", "vacancy_rate")
DRIVERS = (
    "member_state_unit_value",
    "sector_member_unit_value",
    "associate_unit_value",
    "member_state_units",
    "sector_member_units",
    "associate_units",
    *RATE_DRIVERS,
)

Lines = dict[str, int]


def check_scenario(scenario: dict[str, Fraction]) -> None:
    """Refuse an unknown driver, a rate outside -1..1 (a rate is a fraction: 0.05 for
    5 %, so ``inflation=5`` would be 500 %), and a negative unit value or unit count."""
    for name, value in scenario.items():
        if name not in DRIVERS:
            raise UsageError(f"{name!r} is not a financial-plan driver; choose from {', '.join(DRIVERS)}")
        if name in RATE_DRIVERS and not -1 <= value <= 1:
            shown = decimal_text(value)
            raise UsageError(
                f"{name}={shown} is out of range: {name.replace('_', ' ')} is a fraction between -1 and 1 "
                f"(0.05 for 5 %), so {shown} would mean {decimal_text(value * 100)} %"
            )
        if name not in RATE_DRIVERS and value < 0:
            what = "a unit value" if name.endswith("_unit_value") else "a number of contributory units"
            raise UsageError(f"{name}={decimal_text(value)} is refused: {what} cannot be negative")


@dataclass(frozen=True)
class FinancialPlan:
    """The plan and the actual lines of each year shown, in centimes (as printed)."""

    version: VersionRef
    as_of: dt.date
    years: list[int]
    plan: dict[int, Lines]
    actual: dict[int, Lines]

    def rows(self) -> list[tuple[int, str, int, int]]:
        return [(y, line, self.plan[y][line], self.actual[y][line]) for y in self.years for line in LINES]


def with_totals(lines: Lines) -> Lines:
    """The base lines (rounded) with total_income, balance and net_balance added."""
    out = {line: lines.get(line, 0) for line in BASE_LINES}
    out["total_income"] = sum(out[line] for line in INCOME_LINES)
    out["balance"] = out["total_income"] - out["expenditure"]
    out["net_balance"] = out["balance"] + out["reserve_drawing"]
    return out


def planned(connection: Connection, ref: VersionRef, scenario: dict[str, Fraction]) -> dict[int, Lines]:
    """The plan column of every year of the version's period: {year: {line: centimes}}."""
    check_scenario(scenario)
    years = list(ref.years)
    units: dict[str, Fraction] = {
        kind: Fraction(int(total or 0), 10_000)
        for kind, total in connection.execute(select(Member.type, func.sum(Member.units_e4)).group_by(Member.type))
    }
    values: dict[tuple[int, str], Fraction] = {
        (year, kind): Fraction(value)
        for year, kind, value in connection.execute(
            select(UnitValue.year, UnitValue.member_type, UnitValue.value_centimes).where(
                UnitValue.year.between(ref.first_year, ref.last_year)
            )
        )
    }
    staff = CostLine.category == "staff"
    spending = {
        int(year): (int(other or 0), int(staff_amount or 0))
        for year, other, staff_amount in connection.execute(
            select(
                CostLine.year,
                func.sum(case((staff, 0), else_=CostLine.amount_centimes)),
                func.sum(case((staff, CostLine.amount_centimes), else_=0)),
            )
            .where(CostLine.version_id == ref.id)
            .group_by(CostLine.year)
        )
    }
    budgeted: dict[tuple[int, str], int] = {}
    for year, kind, amount in connection.execute(
        select(IncomeBudget.year, FundingSource.kind, func.sum(IncomeBudget.amount_centimes))
        .join(FundingSource, FundingSource.id == IncomeBudget.funding_source_id)
        .where(IncomeBudget.version_id == ref.id)
        .group_by(IncomeBudget.year, FundingSource.kind)
    ):
        line = KIND_LINES[kind]
        if line not in CONTRIBUTION_LINE_NAMES:  # contributions come from contributory units
            budgeted[int(year), line] = budgeted.get((int(year), line), 0) + int(amount)
    vacancy = scenario.get("vacancy_rate", Fraction(0))
    inflation = scenario.get("inflation", Fraction(0))
    plan: dict[int, Lines] = {}
    for year in years:
        exact: dict[str, Fraction] = {}
        for kind, line in CONTRIBUTION_LINES.items():
            count = scenario.get(f"{kind}_units", units.get(kind, Fraction(0)))
            value = values.get((year, kind), Fraction(0))
            if f"{kind}_unit_value" in scenario:
                value = scenario[f"{kind}_unit_value"] * 100
            exact[line] = count * value
        for line in ("cost_recovery", "other_income", "reserve_drawing"):
            exact[line] = Fraction(budgeted.get((year, line), 0))
        other_cost, staff_cost = spending.get(year, (0, 0))
        expenditure = Fraction(other_cost) + Fraction(staff_cost) * (1 - vacancy)
        exact["expenditure"] = expenditure * (1 + inflation) ** (year - ref.first_year)
        plan[year] = with_totals({line: round_half_even(value) for line, value in exact.items()})
    return plan


def received(connection: Connection, ref: VersionRef, as_of: dt.date) -> dict[int, Lines]:
    """The actual column of every year of the version's period: what is dated in that
    year, on or before ``as_of``: {year: {line: centimes}}."""
    first, last = dt.date(ref.first_year, 1, 1), min(dt.date(ref.last_year, 12, 31), as_of)
    actual: dict[int, dict[str, int]] = {year: {} for year in ref.years}

    def add(year: int, line: str, amount: int) -> None:
        actual[year][line] = actual[year].get(line, 0) + amount

    income_year = extract("year", Income.date)
    for year, kind, amount in connection.execute(
        select(income_year, FundingSource.kind, func.sum(Income.amount_centimes))
        .join(FundingSource, FundingSource.id == Income.funding_source_id)
        .where(Income.date >= first, Income.date <= last, FundingSource.kind != "cost_recovery")
        .group_by(income_year, FundingSource.kind)
    ):
        add(int(year), KIND_LINES[kind], int(amount))
    cr_year = extract("year", CostRecoveryEntry.date)
    for year, amount in connection.execute(
        select(cr_year, func.sum(CostRecoveryEntry.amount_centimes))
        .where(CostRecoveryEntry.type == "income", CostRecoveryEntry.date >= first, CostRecoveryEntry.date <= last)
        .group_by(cr_year)
    ):
        add(int(year), "cost_recovery", int(amount))
    for year, amount in expenditure(connection, ref, as_of).items():
        add(year, "expenditure", amount)
    return {year: with_totals(lines) for year, lines in actual.items()}


def expenditure(connection: Connection, ref: VersionRef, as_of: dt.date) -> dict[int, int]:
    """Actual expenditure per year of the period, to ``as_of``: from ``actual_totals``
    for a year whose actuals are all dated on or before as-of, else from the actuals."""
    totals = {
        int(year): (int(amount), latest)
        for year, amount, latest in connection.execute(
            select(ActualTotal.year, func.sum(ActualTotal.amount_centimes), func.max(ActualTotal.last_date))
            .where(ActualTotal.year.between(ref.first_year, ref.last_year))
            .group_by(ActualTotal.year)
        )
    }
    spent = {year: amount for year, (amount, latest) in totals.items() if latest <= as_of}
    later = [year for year in totals if year not in spent and dt.date(year, 1, 1) <= as_of]
    if later:
        actual_year = extract("year", Actual.date)
        spent.update(
            (int(year), int(amount))
            for year, amount in connection.execute(
                select(actual_year, func.sum(Actual.amount_centimes))
                .where(Actual.date >= dt.date(min(later), 1, 1), Actual.date <= as_of)
                .group_by(actual_year)
            )
            if int(year) in later
        )
    return spent


def compute(connection: Connection, options: Options) -> FinancialPlan:
    ref = version_ref(connection, options.version)
    as_of = effective_as_of(connection, options)
    years = ref.years_shown(options.year)
    plan = planned(connection, ref, options.scenario)
    actual = received(connection, ref, as_of)
    return FinancialPlan(ref, as_of, years, plan, actual)


def planned_balances(connection: Connection, options: Options) -> tuple[str, dict[int, tuple[int, int]]]:
    """(version, {year: (planned net_balance, planned total_income)}) in centimes, for
    every year of the version's period, as the report prints them. FUNDING_GAP reads this."""
    ref = version_ref(connection, options.version)
    plan = planned(connection, ref, options.scenario)
    return ref.name, {year: (lines["net_balance"], lines["total_income"]) for year, lines in plan.items()}


def decimal_text(value: Fraction) -> str:
    """0.02 rather than 1/50 (exact when the fraction has a finite decimal form)."""
    text = f"{float(value):.10f}".rstrip("0").rstrip(".")
    return text if Fraction(text) == value else str(value)


def run(connection: Connection, options: Options) -> Table:
    result = compute(connection, options)
    notes: dict[str, object] = {
        "version": result.version.name,
        "period": result.version.period,
        "as_of": result.as_of.isoformat(),
    }
    if options.scenario:
        notes["scenario"] = {k: decimal_text(v) for k, v in options.scenario.items()}
    return Table("financial-plan", COLUMNS, result.rows(), notes)
