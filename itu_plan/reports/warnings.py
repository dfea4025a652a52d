"""warnings: the early warnings the membership should hear about, as of a date.

Each rule is a small function below whose docstring states it (CONTRACT.md,
"Warning rules and their subjects"); :data:`RULES` lists them. A warning is an
:class:`EarlyWarning`: the severity, the rule, the subject, the year it is
about, the message, and the parts of the subject as fields, so that nothing
needs to read the subject text back. Severity is graded by size: ``high``,
``medium`` or ``low``. Rows are sorted by severity (high first), rule and
subject; ``--year`` keeps the warnings about that year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import cached_property
from typing import Any

from sqlalchemy import Connection, select

from itu_plan import kpis
from itu_plan.audit import record_key
from itu_plan.model import Kpi, KpiTarget, OverheadRate, Post, Product, Recruitment, Unit
from itu_plan.money import describe_chf
from itu_plan.reports import budget_vs_actual, cost_recovery, financial_plan
from itu_plan.reports.common import Column, Options, Table, VersionRef, effective_as_of, version_ref

COLUMNS = [Column("severity"), Column("rule"), Column("subject"), Column("year", "int"), Column("message")]
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
#: PROJECTED_OVERSPEND fires when the projection exceeds the budget by more than this share.
PROJECTION_MARGIN = Fraction(11, 10)


@dataclass(frozen=True)
class EarlyWarning:
    """One early warning: what the ``warnings`` report prints (severity, rule,
    subject, year, message) and the parts of its subject by name. A part the
    rule's subject does not have is None (``objective_code`` is also None for
    expenditure booked to no objective)."""

    severity: str
    rule: str
    subject: str
    year: int | None
    message: str
    unit_code: str | None = None
    objective_code: str | None = None
    product_code: str | None = None
    kpi_code: str | None = None
    vacancy_id: str | None = None

    @property
    def parts(self) -> dict[str, str | int | None]:
        """The parts its subject names, by field: ``unit_code`` and ``objective_code``
        (None: no objective) for a budget line, ``product_code``, ``kpi_code``,
        ``vacancy_id``, and ``year``. A part the subject does not name is absent: the
        warning is not about one (a KPI is about no unit, a vacancy about no year)."""
        named: dict[str, str | int | None] = {}
        if self.unit_code is not None:
            named.update(unit_code=self.unit_code, objective_code=self.objective_code)
        for name in ("product_code", "kpi_code", "vacancy_id", "year"):
            if getattr(self, name) is not None:
                named[name] = getattr(self, name)
        return named

    @property
    def row(self) -> tuple[str, str, str, int | None, str]:
        """The report's row: severity, rule, subject, year, message."""
        return self.severity, self.rule, self.subject, self.year, self.message

    def __copy__(self) -> EarlyWarning:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> EarlyWarning:
        return self  # immutable: a DataFrame that carries warnings copies them for free


def _budget_line(severity: str, rule: str, year: int, unit: str, objective: str | None, message: str) -> EarlyWarning:
    """A warning about a unit, objective and year: subject ``UNIT/OBJECTIVE/YEAR``."""
    subject = record_key(unit, objective, year)
    return EarlyWarning(severity, rule, subject, year, message, unit_code=unit, objective_code=objective)


def _product_year(severity: str, rule: str, product: str, year: int, message: str) -> EarlyWarning:
    """A warning about a product and year: subject ``PRODUCT/YEAR``."""
    subject = record_key(product, year)
    return EarlyWarning(severity, rule, subject, year, message, product_code=product)


def grade(size: Fraction | None, high: Fraction, medium: Fraction) -> str:
    """``high`` above ``high``, ``medium`` above ``medium``, else ``low``; None is high."""
    if size is None or size > high:
        return "high"
    return "medium" if size > medium else "low"


@dataclass(frozen=True)
class Context:
    """What every rule reads: the version with its period, the as-of date and the options."""

    connection: Connection
    options: Options  # as_of resolved, year None (the rules look at every year)
    version: VersionRef
    as_of: dt.date

    @cached_property
    def budget_rows(self) -> list[tuple[int, str, str | None, int, int]]:
        """(year, unit, objective, budget, actual) of the version's period, actuals to
        as-of: what OVERSPEND and PROJECTED_OVERSPEND both read, read once."""
        _name, rows = budget_vs_actual.compute(self.connection, self.options)
        return [row for row in rows if row[0] in self.version.years]


def overspend(ctx: Context) -> list[EarlyWarning]:
    """OVERSPEND: actual expenditure (to as-of) above the budget of a unit, objective
    and year of the version's period. High above 10 % over budget or with no budget
    at all, medium above 5 %."""
    found = []
    for year, unit, objective, budget, actual in ctx.budget_rows:
        if actual <= budget:
            continue
        over = actual - budget
        size = Fraction(over, budget) if budget > 0 else None
        if budget > 0:
            detail = (
                f"{describe_chf(actual)} spent against a budget of {describe_chf(budget)}: "
                f"{describe_chf(over)} ({float(size or 0):.1%}) over"
            )
        else:
            detail = f"{describe_chf(actual)} spent with no budget in {ctx.version.name}"
        severity = grade(size, Fraction(1, 10), Fraction(1, 20))
        found.append(_budget_line(severity, "OVERSPEND", year, unit, objective, detail))
    return found


def projected_overspend(ctx: Context) -> list[EarlyWarning]:
    """PROJECTED_OVERSPEND: in the year as-of falls in (as-of before 31 December and
    the year in the version's period), a unit and objective with a budget and no
    OVERSPEND whose actual, projected to the whole year at the pace so far
    (actual x days in the year / days from 1 January to as-of, both counted), is more
    than 1.10 x its budget. High when the projection is more than 50 % over the
    budget, medium above 25 %."""
    year = ctx.as_of.year
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    if ctx.as_of >= last or year not in ctx.version.years:
        return []
    elapsed, days = (ctx.as_of - first).days + 1, (last - first).days + 1
    found = []
    for row_year, unit, objective, budget, actual in ctx.budget_rows:
        if row_year != year or budget <= 0 or actual > budget:
            continue
        projected = Fraction(actual * days, elapsed)
        if projected <= PROJECTION_MARGIN * budget:
            continue
        size = projected / budget - 1
        message = (
            f"{describe_chf(actual)} spent in the {elapsed} days to {ctx.as_of}; at that pace "
            f"{describe_chf(round(projected))} by 31 December against a budget of {describe_chf(budget)} "
            f"({float(size):.1%} over)"
        )
        severity = grade(size, Fraction(1, 2), Fraction(1, 4))
        found.append(_budget_line(severity, "PROJECTED_OVERSPEND", year, unit, objective, message))
    return found


def kpi_off_track(ctx: Context) -> list[EarlyWarning]:
    """KPI_OFF_TRACK: for each KPI, the latest year with a target that has ended on or
    before as-of and has a value dated in it: the last value of that year misses the
    target in the KPI's direction (below it for ``up``, above it for ``down``). Earlier
    years are not reported again, and a value of a year not yet ended is never
    compared with its year-end target. High when it misses by more than 10 % of the
    target, medium above 5 %."""
    targets: dict[int, dict[int, float]] = {}
    for kpi_id, year, target in ctx.connection.execute(select(KpiTarget.kpi_id, KpiTarget.year, KpiTarget.target)):
        targets.setdefault(kpi_id, {})[year] = target
    year_end: dict[int, dict[int, tuple[dt.date, float]]] = {}
    for kpi_id, series in kpis.values(ctx.connection, ctx.as_of).items():
        for date, value in series:  # oldest first: the last one of a year stays
            year_end.setdefault(kpi_id, {})[date.year] = (date, value)
    found = []
    for kpi_id, code, direction in ctx.connection.execute(select(Kpi.id, Kpi.code, Kpi.direction)):
        last_values = year_end.get(kpi_id, {})
        closed = [y for y in targets.get(kpi_id, {}) if dt.date(y, 12, 31) <= ctx.as_of and y in last_values]
        if not closed:
            continue
        year = max(closed)
        target = targets[kpi_id][year]
        date, value = last_values[year]
        if not (value < target if direction == "up" else value > target):
            continue
        gap = Fraction(abs(value - target)).limit_denominator(10**9)
        size = gap / Fraction(abs(target)).limit_denominator(10**9) if target else None
        better = "higher" if direction == "up" else "lower"
        message = f"{value:g} on {date}, the last value of {year}, misses the target of {target:g} ({better} is better)"
        subject = record_key(code, year)
        severity = grade(size, Fraction(1, 10), Fraction(1, 20))
        found.append(EarlyWarning(severity, "KPI_OFF_TRACK", subject, year, message, kpi_code=code))
    return found


def recruitment_delay(ctx: Context) -> list[EarlyWarning]:
    """RECRUITMENT_DELAY: a recruitment open at as-of (noticed on or before it, no
    entry on duty on or before it) whose notice is more than the target days
    (``--target-days``, default 120) before as-of. A recruitment completed later
    counts as open at an earlier as-of. High beyond twice the target, medium beyond
    one and a half times."""
    target = ctx.options.target_days
    statement = (
        select(Recruitment.vacancy_id, Recruitment.notice_date, Post.post_number, Unit.code)
        .join(Post, Post.id == Recruitment.post_id)
        .join(Unit, Unit.id == Post.unit_id)
        .where(
            Recruitment.notice_date < ctx.as_of - dt.timedelta(days=target),
            (Recruitment.eod_date.is_(None)) | (Recruitment.eod_date > ctx.as_of),
        )
    )
    found = []
    for vacancy, notice, post, unit in ctx.connection.execute(statement):
        days = (ctx.as_of - notice).days
        message = (
            f"post {post} ({unit}) still unfilled at {ctx.as_of}, {days} days after the notice of {notice} "
            f"(target {target} days)"
        )
        severity = grade(Fraction(days, target), Fraction(2), Fraction(3, 2))
        found.append(EarlyWarning(severity, "RECRUITMENT_DELAY", vacancy, None, message, vacancy_id=vacancy))
    return found


def cost_recovery_balance(ctx: Context) -> list[EarlyWarning]:
    """COST_RECOVERY_DEFICIT: a product-year whose income falls short of its full cost
    (net < 0). COST_RECOVERY_SURPLUS: a product-year whose income exceeds its full cost
    (Resolution 91 recovers no more than cost). Entries to as-of. High when the gap
    is more than 10 % of the full cost, medium above 5 %."""
    found = []
    for year, product, income, _direct, _indirect, full, net, _rate in cost_recovery.compute(
        ctx.connection, None, ctx.as_of
    ):
        if net == 0:
            continue
        size = Fraction(abs(net), full) if full else None
        severity = grade(size, Fraction(1, 10), Fraction(1, 20))
        if net < 0:
            message = (
                f"income {describe_chf(income)} in {year} covers less than the full cost {describe_chf(full)}: "
                f"{describe_chf(-net)} short"
            )
            found.append(_product_year(severity, "COST_RECOVERY_DEFICIT", product, year, message))
        else:
            message = (
                f"income {describe_chf(income)} in {year} exceeds the full cost {describe_chf(full)} "
                f"by {describe_chf(net)}; "
                "Resolution 91 recovers no more than cost"
            )
            found.append(_product_year(severity, "COST_RECOVERY_SURPLUS", product, year, message))
    return found


def missing_overhead_rate(ctx: Context) -> list[EarlyWarning]:
    """MISSING_OVERHEAD_RATE: a product-year with direct costs (to as-of) and no
    overhead rate for the product's unit and year: its indirect cost shows as 0 and
    its net is overstated. Always medium: the cost left out cannot be measured."""
    unit_of = {code: (unit_id, unit) for code, unit_id, unit in
               ctx.connection.execute(select(Product.code, Product.unit_id, Unit.code).join(Unit))}  # fmt: skip
    rated = {(unit, year) for unit, year in ctx.connection.execute(select(OverheadRate.unit_id, OverheadRate.year))}
    found = []
    for year, product, _income, direct, *_rest in cost_recovery.compute(ctx.connection, None, ctx.as_of):
        unit_id, unit = unit_of[product]
        if direct <= 0 or (unit_id, year) in rated:
            continue
        message = (
            f"direct costs of {describe_chf(direct)} in {year} and no overhead rate for {unit} in {year}: "
            "the indirect cost shows as CHF 0.00 and the net is overstated"
        )
        found.append(_product_year("medium", "MISSING_OVERHEAD_RATE", product, year, message))
    return found


def funding_gap(ctx: Context) -> list[EarlyWarning]:
    """FUNDING_GAP: a year of the version's period whose planned net balance (the
    financial plan's plan column) is below zero. High when the gap is more than 5 %
    of planned total income, medium above 1 %."""
    name, balances = financial_plan.planned_balances(ctx.connection, ctx.options)
    found = []
    for year, (balance, income) in sorted(balances.items()):
        if balance >= 0 or year not in ctx.version.years:
            continue
        size = Fraction(-balance, income) if income > 0 else None
        message = (
            f"{name} plans a net balance of {describe_chf(balance)} for {year}, "
            f"on a total income of {describe_chf(income)}"
        )
        severity = grade(size, Fraction(1, 20), Fraction(1, 100))
        found.append(EarlyWarning(severity, "FUNDING_GAP", str(year), year, message))
    return found


#: The rules, in no particular order (rows are sorted afterwards).
RULES: tuple[Callable[[Context], list[EarlyWarning]], ...] = (
    overspend,
    projected_overspend,
    kpi_off_track,
    recruitment_delay,
    cost_recovery_balance,
    missing_overhead_rate,
    funding_gap,
)


@dataclass(frozen=True)
class Found:
    """The warnings of a version as of a date, in report order."""

    as_of: dt.date
    version: VersionRef
    warnings: list[EarlyWarning]


def sort_key(warning: EarlyWarning) -> tuple[int, str, str]:
    return SEVERITY_ORDER[warning.severity], warning.rule, warning.subject


def collect(connection: Connection, options: Options) -> Found:
    """Every warning of ``options.version`` as of ``options.as_of`` (see
    :func:`effective_as_of`); with ``options.year``, only those about that year."""
    as_of = effective_as_of(connection, options)
    version = version_ref(connection, options.version)
    ctx = Context(connection, replace(options, version=version.name, as_of=as_of, year=None), version, as_of)
    found = [warning for rule in RULES for warning in rule(ctx)]
    if options.year is not None:
        found = [warning for warning in found if warning.year == options.year]
    found.sort(key=sort_key)
    return Found(as_of, version, found)


def run(connection: Connection, options: Options) -> Table:
    found = collect(connection, options)
    notes = {"as_of": found.as_of.isoformat(), "version": found.version.name, "period": found.version.period}
    return Table("warnings", COLUMNS, [w.row for w in found.warnings], notes, records=tuple(found.warnings))
