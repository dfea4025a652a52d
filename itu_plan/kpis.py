"""The values of the KPIs as known at a date: measured, or computed by the reports.

A **measured** KPI (no ``formula``) takes its values from ``measurements``
dated on or before the as-of date.

A **computed** KPI has a ``formula`` (one of ``model.KPI_FORMULAS``) and takes
no measurements (the importer refuses them; any already stored are ignored).
Its values are what a report shows, so that a KPI can never contradict one:

* one value per year: each year of a plan version's period or of one of the
  KPI's targets, up to the year of as-of, for which the report has a figure
  (no value where its ratio or mean is undefined);
* a year that has ended on or before as-of is valued as known at its last day
  and dated 31 December; the year in progress is valued and dated as of as-of;
* the value is the report's, with the report's own options (``--year Y
  --as-of DATE``), rounded as the report prints it: a percentage to two
  decimals (the report's ratio to four), days to one decimal.

========================  ==================  ================================================
formula                   report              value of year Y as of DATE
========================  ==================  ================================================
``execution_rate``        budget-vs-actual    sum of actual / sum of budget x 100, over the
                                              latest approved version whose period covers Y
                                              (else the latest version covering it)
``recruitment_days``      recruitment         mean days from notice to entry on duty of the
                                              recruitments completed in Y (all units and
                                              grades: total days / completed)
``women_share``           representation      share of women among staff in service at DATE
                                              at P-1 and above x 100
``cost_recovery_rate``    cost-recovery       sum of income / sum of full cost of Y x 100
========================  ==================  ================================================

An as-of date after the one the workspace's data runs to is taken as that
date: the reports know nothing later.

Read for a plan version (``version=``, as an app page with a version chosen
does), the KPIs keep to the version's period: without a year, each shows the
latest year of the period up to the year of as-of, and an execution rate is
computed over that version (no value for a year outside its period).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select

from itu_plan.model import Kpi, KpiTarget, Measurement, PlanVersion

if TYPE_CHECKING:
    from itu_plan.reports.common import Table
    from itu_plan.workspace import Workspace

#: formula -> the report it is computed from (``itu-plan report NAME``)
SOURCES = {
    "execution_rate": "budget-vs-actual",
    "recruitment_days": "recruitment",
    "women_share": "representation",
    "cost_recovery_rate": "cost-recovery",
}

#: formula -> the decimals of its value: those the report prints (a ratio's four as a percentage's two)
PLACES = {"execution_rate": 2, "recruitment_days": 1, "women_share": 2, "cost_recovery_rate": 2}

#: formulas whose value is read against the share of its year elapsed at its date
AGAINST_TIME = frozenset({"execution_rate"})

Series = list[tuple[dt.date, float]]


def values(
    connection: Connection, as_of: dt.date, *, only: Collection[int] | None = None, version: str | None = None
) -> dict[int, Series]:
    """KPI id -> its values known at the end of ``as_of``, oldest first (KPIs with
    none are left out). ``only``: just these KPI ids. ``version``: execution rates
    over that plan version (of the years of its period only), not over the one
    :func:`version_for` picks."""
    found: dict[int, Series] = defaultdict(list)
    formulas: dict[int, str | None] = {}
    targets: dict[int, set[int]] = defaultdict(set)
    statement = select(Kpi.id, Kpi.formula).where(Kpi.formula.is_not(None))
    if only is not None:
        statement = statement.where(Kpi.id.in_(list(only)))
    for kpi_id, formula in connection.execute(statement):
        formulas[kpi_id] = formula
    if formulas:
        for kpi_id, year in connection.execute(
            select(KpiTarget.kpi_id, KpiTarget.year).where(KpiTarget.kpi_id.in_(list(formulas)))
        ):
            targets[kpi_id].add(year)
    measured = (
        select(Measurement.kpi_id, Measurement.date, Measurement.value)
        .where(Measurement.date <= as_of)
        .order_by(Measurement.kpi_id, Measurement.date)
    )
    if only is not None:
        measured = measured.where(Measurement.kpi_id.in_(list(only)))
    for kpi_id, date, value in connection.execute(measured):
        if kpi_id not in formulas:
            found[kpi_id].append((date, value))
    if formulas:
        known = _known(connection, as_of)
        plan_years = _plan_years(connection)
        computed = _Computed(connection, known, version)
        for kpi_id, formula in formulas.items():
            years = sorted(y for y in plan_years | targets[kpi_id] if y <= known.year)
            assert formula is not None  # the query keeps computed KPIs only
            series = [(date, v) for date, v in (computed.value(formula, y) for y in years) if v is not None]
            if series:
                found[kpi_id] = series
    return dict(found)


def _known(connection: Connection, as_of: dt.date) -> dt.date:
    """``as_of``, or the date the workspace's data runs to if that is earlier."""
    from itu_plan.reports.common import workspace_as_of

    return min(as_of, workspace_as_of(connection) or dt.date.today())


def _plan_years(connection: Connection) -> set[int]:
    years: set[int] = set()
    for first, last in connection.execute(select(PlanVersion.first_year, PlanVersion.last_year)):
        years.update(range(first, last + 1))
    return years


def _percent(ratio: Fraction | None) -> float | None:
    """A report's ratio as the KPI's percentage, to the report's printed decimal."""
    from itu_plan.reports.common import Column
    from itu_plan.reports.output import text_value

    return None if ratio is None else float(Decimal(text_value(Column("ratio", "ratio"), ratio)) * 100)


def _days(days: Fraction | None) -> float | None:
    from itu_plan.reports.common import Column
    from itu_plan.reports.output import text_value

    return None if days is None else float(text_value(Column("days", "days"), days))


def _sum_ratio(table: Table, numerator: str, denominator: str) -> Fraction | None:
    """sum(numerator) / sum(denominator) over a report's rows (None when the sum below is 0)."""
    top, bottom = table.names.index(numerator), table.names.index(denominator)
    below = sum(Fraction(row[bottom] or 0) for row in table.rows)
    return None if below == 0 else sum(Fraction(row[top] or 0) for row in table.rows) / below


def version_for(versions: Iterable[tuple[str, str, int, int]], year: int) -> str | None:
    """Of (name, status, first year, last year) in creation order: the latest approved
    version whose period covers ``year``, else the latest covering it."""
    covering = [(name, status) for name, status, first, last in versions if first <= year <= last]
    approved = [name for name, status in covering if status == "approved"]
    return approved[-1] if approved else covering[-1][0] if covering else None


def _versions(connection: Connection) -> list[tuple[str, str, int, int]]:
    statement = select(PlanVersion.name, PlanVersion.status, PlanVersion.first_year, PlanVersion.last_year)
    return [tuple(row) for row in connection.execute(statement.order_by(PlanVersion.id))]  # type: ignore[misc]


def _version(versions: Iterable[tuple[str, str, int, int]], name: str) -> tuple[str, str, int, int]:
    """The version ``name`` of ``versions`` (``NotFound`` if there is none)."""
    for found in versions:
        if found[0] == name:
            return found
    from itu_plan.errors import NotFound

    raise NotFound("plan version", name)


class _Computed:
    """The values of the formulas for one as-of date, each report read once per year."""

    def __init__(self, connection: Connection, known: dt.date, version: str | None = None) -> None:
        self.connection = connection
        self.known = known
        self.cache: dict[tuple[str, int], tuple[dt.date, float | None]] = {}
        self.versions = _versions(connection)
        #: (name, status, first year, last year) of the version execution rates are read over
        self.version = None if version is None else _version(self.versions, version)

    def value(self, formula: str, year: int) -> tuple[dt.date, float | None]:
        """(date, value) of ``formula`` for ``year``; the value is None where undefined."""
        if (formula, year) not in self.cache:
            year_end = dt.date(year, 12, 31)
            date = year_end if year_end <= self.known else self.known
            compute: Callable[[int, dt.date], float | None] = getattr(self, f"_{formula}")
            self.cache[formula, year] = (date, compute(year, date))
        return self.cache[formula, year]

    def _report(self, name: str, *, year: int | None, as_of: dt.date, version: str | None = None) -> Table:
        from itu_plan import reports

        return reports.run(self.connection, name, reports.Options(version=version, year=year, as_of=as_of))

    def _execution_rate(self, year: int, as_of: dt.date) -> float | None:
        if self.version is None:
            version = version_for(self.versions, year)
        else:
            name, _status, first, last = self.version
            version = name if first <= year <= last else None
        if version is None:
            return None
        table = self._report("budget-vs-actual", version=version, year=year, as_of=as_of)
        return _percent(_sum_ratio(table, "actual", "budget"))

    def _recruitment_days(self, year: int, as_of: dt.date) -> float | None:
        table = self._report("recruitment", year=year, as_of=as_of)
        completed, mean = table.names.index("completed"), table.names.index("mean_days")
        count = sum(row[completed] for row in table.rows if row[0] == year)
        total = sum(Fraction(row[mean]) * row[completed] for row in table.rows if row[0] == year)
        return _days(Fraction(total) / count) if count else None

    def _women_share(self, year: int, as_of: dt.date) -> float | None:
        table = self._report("representation", year=None, as_of=as_of)
        gender = [(row[1], row[2]) for row in table.rows if row[0] == "gender"]
        staff = sum(count for _, count in gender)
        women = sum(count for category, count in gender if category == "F")
        return _percent(Fraction(women, staff)) if staff else None

    def _cost_recovery_rate(self, year: int, as_of: dt.date) -> float | None:
        table = self._report("cost-recovery", year=year, as_of=as_of)
        return _percent(_sum_ratio(table, "income", "full_cost"))


# -- the KPIs as the apps show them ------------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """A KPI's value for one year as known at ``as_of``: the year's last value (``date``
    is its date: 31 December of an ended year, or as-of for the year in progress) and
    the year's target. ``year``, ``date`` and ``value`` are None when it has none yet."""

    code: str
    name: str
    measure: str
    direction: str
    formula: str | None
    as_of: dt.date
    year: int | None
    date: dt.date | None
    value: float | None
    target: float | None
    #: the plan version an execution rate is computed over (None for other KPIs)
    version: str | None = None

    @property
    def read_against_time(self) -> bool:
        """Whether the value is read against the share of its year elapsed at its date
        (an execution rate: 50 % spent at mid-year is on course)."""
        return self.formula in AGAINST_TIME

    @property
    def elapsed(self) -> Fraction | None:
        """The share of the value's year elapsed at the end of its ``date`` (1 for an
        ended year); None without a value."""
        from itu_plan.reports.common import elapsed_share

        if self.year is None or self.date is None:
            return None
        return elapsed_share(self.year, self.year, self.date)

    @property
    def exact(self) -> str:
        """The value as text: as the report prints it for a computed KPI (``93.68``,
        ``212.7``), as measured otherwise; empty without a value."""
        if self.value is None:
            return ""
        if self.formula is not None:
            return f"{self.value:.{PLACES[self.formula]}f}"
        return f"{Decimal(repr(self.value)):f}"

    @property
    def source(self) -> str:
        """Where the value comes from, for people: ``computed from the recruitment report``."""
        if self.formula is None:
            return "measured"
        return f"computed from the {SOURCES[self.formula]} report"

    @property
    def year_ended(self) -> bool:
        """Whether the value's year had ended at as-of (its value is the year's final one)."""
        return self.year is not None and dt.date(self.year, 12, 31) <= self.as_of

    @property
    def on_track(self) -> bool | None:
        """Whether the value meets the year's target in the KPI's direction; None without
        both, or while the year is in progress (a year-end target says nothing mid-year)."""
        if self.value is None or self.target is None or not self.year_ended:
            return None
        return self.value >= self.target if self.direction == "up" else self.value <= self.target


def readings(
    connection: Connection,
    as_of: dt.date,
    *,
    codes: Iterable[str] | None = None,
    computed_only: bool = False,
    year: int | None = None,
    version: str | None = None,
) -> list[Reading]:
    """The KPIs (``codes``, else all; only the computed ones with ``computed_only``) in
    code order, each with its latest value known at ``as_of`` (of ``year`` if given).
    With ``version``, without ``year``: the latest value of a year of the version's
    period; an execution rate is computed over ``version``."""
    statement = select(Kpi.id, Kpi.code, Kpi.name, Kpi.measure, Kpi.direction, Kpi.formula).order_by(Kpi.code)
    wanted = None if codes is None else list(codes)
    if wanted is not None:
        statement = statement.where(Kpi.code.in_(wanted))
    if computed_only:
        statement = statement.where(Kpi.formula.is_not(None))
    kpis = list(connection.execute(statement))
    if wanted is not None:
        missing = sorted(set(wanted) - {k.code for k in kpis})
        if missing:
            from itu_plan.errors import NotFound

            raise NotFound("KPI", ", ".join(missing))
    ids = [k.id for k in kpis]
    versions = _versions(connection)
    period = None if version is None else _version(versions, version)[2:]
    series = values(connection, as_of, only=ids, version=version)
    targets = {
        (kpi_id, y): target
        for kpi_id, y, target in connection.execute(
            select(KpiTarget.kpi_id, KpiTarget.year, KpiTarget.target).where(KpiTarget.kpi_id.in_(ids))
        )
    }
    found = []
    for kpi in kpis:
        points = [
            (d, v)
            for d, v in series.get(kpi.id, [])
            if d.year == year or (year is None and (period is None or period[0] <= d.year <= period[1]))
        ]
        date, value = points[-1] if points else (None, None)
        shown_year = date.year if date is not None else year
        target = targets.get((kpi.id, shown_year)) if shown_year is not None else None
        over = version_for(versions, shown_year) if version is None and shown_year is not None else version
        found.append(
            Reading(
                kpi.code, kpi.name, kpi.measure, kpi.direction, kpi.formula, as_of, shown_year, date, value, target,
                over if kpi.formula == "execution_rate" else None,
            )
        )  # fmt: skip
    return found


def read(
    workspace: Workspace,
    *,
    codes: Iterable[str] | None = None,
    computed_only: bool = False,
    year: int | None = None,
    as_of: dt.date | None = None,
    version: str | None = None,
) -> list[Reading]:
    """:func:`readings` as of ``as_of``, by default the date the reports use (the
    workspace's as-of date, else today); for ``version``'s period if given."""
    from itu_plan.reports.common import Options, effective_as_of

    with workspace.engine.connect() as connection:
        date = effective_as_of(connection, Options(as_of=as_of))
        return readings(connection, date, codes=codes, computed_only=computed_only, year=year, version=version)
