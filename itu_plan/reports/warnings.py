"""warnings: the early warnings the membership should hear about, as of a date.

Each rule is a small function below whose docstring states it. Severity is
graded by size: ``high``, ``medium`` or ``low``. Rows are sorted by severity
(high first), rule and subject.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from fractions import Fraction

from sqlalchemy import Connection, select

from itu_plan import kpis
from itu_plan.model import Kpi, KpiTarget, Post, Recruitment
from itu_plan.money import format_chf
from itu_plan.reports import budget_vs_actual, cost_recovery, financial_plan
from itu_plan.reports.common import Column, Options, Table, effective_as_of

COLUMNS = [Column("severity"), Column("rule"), Column("subject"), Column("message")]
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


@dataclass(frozen=True)
class Warning:
    severity: str
    rule: str
    subject: str
    message: str


def grade(size: Fraction | None, high: Fraction, medium: Fraction) -> str:
    """``high`` above ``high``, ``medium`` above ``medium``, else ``low``; None is high."""
    if size is None or size > high:
        return "high"
    return "medium" if size > medium else "low"


def chf(centimes: int) -> str:
    whole, _, cents = format_chf(abs(centimes)).partition(".")
    return f"CHF {'-' if centimes < 0 else ''}{int(whole):,}.{cents}"


def overspend(connection: Connection, options: Options) -> list[Warning]:
    """OVERSPEND: actual expenditure above the budget of a unit, objective and year
    (budget lines of the version; actuals to the as-of date). High above 10 % over
    budget or with no budget at all, medium above 5 %."""
    version, rows = budget_vs_actual.compute(connection, options)
    found = []
    for year, unit, objective, budget, actual in rows:
        if actual <= budget:
            continue
        over = actual - budget
        size = Fraction(over, budget) if budget > 0 else None
        where = f"{unit}/{objective or ''}/{year}"
        if budget > 0:
            detail = f"{chf(actual)} spent against a budget of {chf(budget)}: {chf(over)} ({float(size or 0):.1%}) over"
        else:
            detail = f"{chf(actual)} spent with no budget in {version}"
        found.append(Warning(grade(size, Fraction(1, 10), Fraction(1, 20)), "OVERSPEND", where, detail))
    return found


def kpi_off_track(connection: Connection, options: Options, as_of: dt.date) -> list[Warning]:
    """KPI_OFF_TRACK: the latest measurement (to the as-of date) in a year with a target
    misses that target in the KPI's direction (below it for ``up``, above it for
    ``down``). High when it misses by more than 10 % of the target, medium above 5 %."""
    targets = {
        (kpi, year): target
        for kpi, year, target in connection.execute(select(KpiTarget.kpi_id, KpiTarget.year, KpiTarget.target))
    }
    latest: dict[tuple[int, int], tuple[dt.date, float]] = {}
    for kpi_id, series in kpis.values(connection, as_of).items():
        for date, value in series:
            latest[kpi_id, date.year] = (date, value)
    found = []
    for kpi_id, code, direction in connection.execute(select(Kpi.id, Kpi.code, Kpi.direction).order_by(Kpi.code)):
        for (k, year), (date, value) in sorted(latest.items()):
            if k != kpi_id or (kpi_id, year) not in targets:
                continue
            target = targets[kpi_id, year]
            missed = value < target if direction == "up" else value > target
            if not missed:
                continue
            gap = Fraction(abs(value - target)).limit_denominator(10**9)
            size = gap / Fraction(abs(target)).limit_denominator(10**9) if target else None
            better = "higher" if direction == "up" else "lower"
            message = f"{value:g} on {date} misses the {year} target of {target:g} ({better} is better)"
            found.append(Warning(grade(size, Fraction(1, 10), Fraction(1, 20)), "KPI_OFF_TRACK", code, message))
    return found


def recruitment_delay(connection: Connection, options: Options, as_of: dt.date) -> list[Warning]:
    """RECRUITMENT_DELAY: a recruitment with no entry on duty whose vacancy notice is
    more than the target days (``--target-days``, default 120) before the as-of date.
    High beyond twice the target, medium beyond one and a half times."""
    target = options.target_days
    found = []
    statement = (
        select(Recruitment.vacancy_id, Recruitment.notice_date, Post.post_number)
        .join(Post, Post.id == Recruitment.post_id)
        .where(Recruitment.eod_date.is_(None), Recruitment.notice_date < as_of - dt.timedelta(days=target))
        .order_by(Recruitment.vacancy_id)
    )
    for vacancy, notice, post in connection.execute(statement):
        days = (as_of - notice).days
        message = f"post {post} still unfilled {days} days after the notice of {notice} (target {target} days)"
        found.append(
            Warning(grade(Fraction(days, target), Fraction(2), Fraction(3, 2)), "RECRUITMENT_DELAY", vacancy, message)
        )
    return found


def cost_recovery_balance(connection: Connection, options: Options, as_of: dt.date) -> list[Warning]:
    """COST_RECOVERY_DEFICIT: a product-year whose income falls short of its full cost
    (net < 0). COST_RECOVERY_SURPLUS: a product-year whose income exceeds its full cost
    (Resolution 91 recovers no more than cost). Entries to the as-of date. High when
    the gap is more than 10 % of the full cost, medium above 5 %."""
    found = []
    for year, product, income, _direct, _indirect, full, net, _rate in cost_recovery.compute(connection, None, as_of):
        if net == 0:
            continue
        size = Fraction(abs(net), full) if full else None
        severity = grade(size, Fraction(1, 10), Fraction(1, 20))
        if net < 0:
            message = f"income {chf(income)} in {year} covers less than the full cost {chf(full)}: {chf(-net)} short"
            found.append(Warning(severity, "COST_RECOVERY_DEFICIT", f"{product}/{year}", message))
        else:
            message = (
                f"income {chf(income)} in {year} exceeds the full cost {chf(full)} by {chf(net)}; "
                "Resolution 91 recovers no more than cost"
            )
            found.append(Warning(severity, "COST_RECOVERY_SURPLUS", f"{product}/{year}", message))
    return found


def funding_gap(connection: Connection, options: Options) -> list[Warning]:
    """FUNDING_GAP: a year whose expenditure in the financial plan of the version
    exceeds its total income. High when the gap is more than 5 % of income, medium
    above 1 %."""
    version, balances = financial_plan.planned_balances(connection, options)
    found = []
    for year, (balance, income) in balances.items():
        if balance >= 0:
            continue
        size = Fraction(-balance, income) if income > 0 else None
        message = f"expenditure in {version} exceeds total income {chf(income)} by {chf(-balance)}"
        found.append(Warning(grade(size, Fraction(1, 20), Fraction(1, 100)), "FUNDING_GAP", str(year), message))
    return found


def collect(connection: Connection, options: Options) -> tuple[dt.date, list[Warning]]:
    as_of = effective_as_of(connection, options)
    dated = replace(options, as_of=as_of, year=None)
    rules: list[Callable[[], list[Warning]]] = [
        lambda: overspend(connection, dated),
        lambda: kpi_off_track(connection, dated, as_of),
        lambda: recruitment_delay(connection, dated, as_of),
        lambda: cost_recovery_balance(connection, dated, as_of),
        lambda: funding_gap(connection, dated),
    ]
    found = [warning for rule in rules for warning in rule()]
    found.sort(key=lambda w: (SEVERITY_ORDER[w.severity], w.rule, w.subject))
    return as_of, found


def run(connection: Connection, options: Options) -> Table:
    as_of, found = collect(connection, options)
    rows = [(w.severity, w.rule, w.subject, w.message) for w in found]
    return Table("warnings", COLUMNS, rows, {"as_of": as_of.isoformat()})
