"""financial-plan: income by source and expenditure per year, and the balance.

Assessed income is contributory units x the unit value of the year, per member
type. Scenarios override drivers without writing anything:

- ``member_state_unit_value``, ``sector_member_unit_value``, ``associate_unit_value``
  (CHF per contributory unit, every year);
- ``member_state_units``, ``sector_member_units``, ``associate_units`` (the total
  number of contributory units);
- ``inflation`` (a fraction, compounded on the expenditure of each year after the
  first year of expenditure);
- ``vacancy_rate`` (a fraction by which staff costs are reduced).

Each line is computed exactly and rounded half-even to the centime once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from fractions import Fraction

from sqlalchemy import Connection, case, extract, func, select

from itu_plan.errors import UsageError
from itu_plan.model import CostLine, CostRecoveryEntry, Income, Member, UnitValue
from itu_plan.money import round_half_even
from itu_plan.reports.common import Column, Options, Table, resolve_version

COLUMNS = [Column("year", "int"), Column("line"), Column("amount", "money")]
LINES = (
    "assessed_contributions",
    "sector_member_contributions",
    "associate_contributions",
    "cost_recovery",
    "other_income",
    "total_income",
    "expenditure",
    "balance",
)
CONTRIBUTION_LINES = {
    "member_state": "assessed_contributions",
    "sector_member": "sector_member_contributions",
    "associate": "associate_contributions",
}
DRIVERS = (
    "member_state_unit_value",
    "sector_member_unit_value",
    "associate_unit_value",
    "member_state_units",
    "sector_member_units",
    "associate_units",
    "inflation",
    "vacancy_rate",
)


def check_scenario(scenario: dict[str, Fraction]) -> None:
    for name, value in scenario.items():
        if name not in DRIVERS:
            raise UsageError(f"{name!r} is not a financial-plan driver; choose from {', '.join(DRIVERS)}")
        if value < 0 or (name in ("vacancy_rate",) and value > 1):
            raise UsageError(f"{name}={value} is out of range")


def compute(connection: Connection, options: Options) -> tuple[str, dict[int, dict[str, Fraction]]]:
    """(version, {year: {line: exact amount in centimes}})."""
    scenario = options.scenario
    check_scenario(scenario)
    version_id, version = resolve_version(connection, options.version)
    units: dict[str, Fraction] = {
        kind: Fraction(int(total or 0), 10_000)
        for kind, total in connection.execute(select(Member.type, func.sum(Member.units_e4)).group_by(Member.type))
    }
    for kind in CONTRIBUTION_LINES:
        if f"{kind}_units" in scenario:
            units[kind] = scenario[f"{kind}_units"]
    values: dict[tuple[int, str], Fraction] = {
        (year, kind): Fraction(value)
        for year, kind, value in connection.execute(
            select(UnitValue.year, UnitValue.member_type, UnitValue.value_centimes)
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
            .where(CostLine.version_id == version_id)
            .group_by(CostLine.year)
        )
    }
    cr_year = extract("year", CostRecoveryEntry.date)
    cost_recovery = {
        int(year): int(amount)
        for year, amount in connection.execute(
            select(cr_year, func.sum(CostRecoveryEntry.amount_centimes))
            .where(CostRecoveryEntry.type == "income")
            .group_by(cr_year)
        )
    }
    income_year = extract("year", Income.date)
    other = {
        int(year): int(amount)
        for year, amount in connection.execute(
            select(income_year, func.sum(Income.amount_centimes)).group_by(income_year)
        )
    }
    years = {y for y, _kind in values} | set(spending) | set(cost_recovery) | set(other)
    if options.year is not None:
        years &= {options.year}
    first_spending = min(spending) if spending else None
    plan: dict[int, dict[str, Fraction]] = defaultdict(dict)
    for year in sorted(years):
        lines = plan[year]
        for kind, line in CONTRIBUTION_LINES.items():
            value = values.get((year, kind), Fraction(0))
            if f"{kind}_unit_value" in scenario:
                value = scenario[f"{kind}_unit_value"] * 100
            lines[line] = units.get(kind, Fraction(0)) * value
        lines["cost_recovery"] = Fraction(cost_recovery.get(year, 0))
        lines["other_income"] = Fraction(other.get(year, 0))
        other_cost, staff_cost = spending.get(year, (0, 0))
        expenditure = Fraction(other_cost) + Fraction(staff_cost) * (1 - scenario.get("vacancy_rate", Fraction(0)))
        if first_spending is not None and year > first_spending:
            expenditure *= (1 + scenario.get("inflation", Fraction(0))) ** (year - first_spending)
        lines["expenditure"] = expenditure
    return version, plan


def rounded(plan: dict[int, dict[str, Fraction]]) -> list[tuple[int, str, int]]:
    """Rows with each line rounded once; totals are sums of the rounded lines, so
    they reconcile to the centime with the lines printed above them."""
    rows = []
    for year, lines in plan.items():
        cents = {line: round_half_even(value) for line, value in lines.items()}
        cents["total_income"] = sum(cents[line] for line in LINES[:5])
        cents["balance"] = cents["total_income"] - cents["expenditure"]
        rows += [(year, line, cents[line]) for line in LINES]
    return rows


def planned_balances(connection: Connection, options: Options) -> tuple[str, dict[int, tuple[int, int]]]:
    """(version, {year: (planned net_balance, planned total_income)}) in centimes, over
    the version's period, as the report prints them. FUNDING_GAP reads this."""
    version, plan = compute(connection, replace(options, year=None))
    lines = {(year, line): amount for year, line, amount in rounded(plan)}
    return version, {year: (lines[year, "balance"], lines[year, "total_income"]) for year in plan}


def decimal_text(value: Fraction) -> str:
    """0.02 rather than 1/50 (exact when the fraction has a finite decimal form)."""
    text = f"{float(value):.10f}".rstrip("0").rstrip(".")
    return text if Fraction(text) == value else str(value)


def run(connection: Connection, options: Options) -> Table:
    version, plan = compute(connection, options)
    notes: dict[str, object] = {"version": version}
    if options.scenario:
        notes["scenario"] = {k: decimal_text(v) for k, v in options.scenario.items()}
    return Table("financial-plan", COLUMNS, rounded(plan), notes)
