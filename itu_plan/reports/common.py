"""What every report shares: the result table, options, version and as-of resolution."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sqlalchemy import ColumnElement, Connection, select

from itu_plan.errors import NotFound, UsageError
from itu_plan.model import PlanVersion, Setting, period_text

#: Column kinds and how they print: money (integer centimes -> two decimals),
#: ratio (exact Fraction -> four decimals), days (Fraction -> one decimal),
#: int, text, date; None prints as an empty cell.
KINDS = ("text", "int", "money", "ratio", "days", "date")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = "text"


@dataclass
class Table:
    """A report's result: typed columns and exact rows (money in centimes,
    ratios as Fractions); output formats round at the last moment."""

    name: str
    columns: list[Column]
    rows: list[tuple[Any, ...]]
    notes: dict[str, Any] = field(default_factory=dict)
    #: The structured records behind the rows, when a report has them (the
    #: ``warnings`` report's :class:`~itu_plan.reports.warnings.EarlyWarning`\ s),
    #: in row order; ``to_frame`` keeps them in ``DataFrame.attrs["records"]``.
    records: tuple[Any, ...] = ()

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass(frozen=True)
class Options:
    """The options every report understands (each uses those that apply)."""

    version: str | None = None
    year: int | None = None
    as_of: dt.date | None = None
    target_days: int = 120
    scenario: dict[str, Fraction] = field(default_factory=dict)


def workspace_as_of(connection: Connection) -> dt.date | None:
    value = connection.execute(select(Setting.value).where(Setting.key == "as_of")).scalar()
    return dt.date.fromisoformat(value) if value else None


def effective_as_of(connection: Connection, options: Options) -> dt.date:
    """``--as-of``, else the workspace's as-of date, else today.

    A date after the one the execution data runs to (the workspace's as-of
    date, else today) is refused: the report would present as known what is not.
    """
    data_date = workspace_as_of(connection)
    if options.as_of is None:
        return data_date or dt.date.today()
    limit = data_date or dt.date.today()
    if options.as_of > limit:
        runs_to = f"the workspace's data runs to {limit}" if data_date else f"today is {limit}"
        raise UsageError(f"--as-of {options.as_of} is after the date the data is known to: {runs_to}")
    return options.as_of


def elapsed_share(first_year: int, last_year: int, as_of: dt.date) -> Fraction:
    """The share of the days of ``first_year`` to ``last_year`` that have passed at the
    end of ``as_of`` (0 before they start, 1 once they have ended): what an execution
    rate is read against."""
    first, last = dt.date(first_year, 1, 1), dt.date(last_year, 12, 31)
    days = (min(max(as_of, first - dt.timedelta(days=1)), last) - first).days + 1
    return Fraction(days, (last - first).days + 1)


@dataclass(frozen=True)
class VersionRef:
    """A plan version as a report sees it: its id, name, status and period."""

    id: int
    name: str
    status: str
    first_year: int
    last_year: int

    @property
    def years(self) -> range:
        return range(self.first_year, self.last_year + 1)

    @property
    def period(self) -> str:
        return period_text(self.first_year, self.last_year)

    def elapsed_share(self, as_of: dt.date) -> Fraction:
        return elapsed_share(self.first_year, self.last_year, as_of)

    def years_shown(self, year: int | None) -> list[int]:
        """The years of the period a report shows: all of them, or ``--year`` alone."""
        return [y for y in self.years if year is None or y == year]


def version_ref(connection: Connection, name: str | None) -> VersionRef:
    """The named version; by default the latest approved, else the latest."""
    columns = select(
        PlanVersion.id, PlanVersion.name, PlanVersion.status, PlanVersion.first_year, PlanVersion.last_year
    )
    if name is not None:
        found = connection.execute(columns.where(PlanVersion.name == name)).first()
        if found is None:
            raise NotFound("plan version", name)
        return VersionRef(*found)
    latest = (
        connection.execute(columns.where(PlanVersion.status == "approved").order_by(PlanVersion.id.desc())).first()
        or connection.execute(columns.order_by(PlanVersion.id.desc())).first()
    )
    if latest is None:
        raise UsageError("the workspace has no plan version yet; import versions.csv or run `itu-plan demo`")
    return VersionRef(*latest)


def resolve_version(connection: Connection, name: str | None) -> tuple[int, str]:
    """(id, name) of the named version; by default the latest approved, else the latest."""
    ref = version_ref(connection, name)
    return ref.id, ref.name


def notes(as_of: dt.date, version: VersionRef | None = None, **more: Any) -> dict[str, Any]:
    """What a report's numbers mean: the version and its period (for a report of a
    version) and the as-of date (ISO), then ``more``."""
    said: dict[str, Any] = {}
    if version is not None:
        said.update(version=version.name, period=version.period)
    said["as_of"] = as_of.isoformat()
    said.update(more)
    return said


def in_year(date: Any, year: int) -> ColumnElement[bool]:
    """The date column ``date`` falls in ``year`` (a range, not a function of the column)."""
    condition: ColumnElement[bool] = date.between(dt.date(year, 1, 1), dt.date(year, 12, 31))
    return condition


def ratio(numerator: int | Fraction, denominator: int | Fraction) -> Fraction | None:
    return None if denominator == 0 else Fraction(numerator) / Fraction(denominator)


def key_text(value: Any) -> str:
    """Sort key for a leading column: None (an empty cell) sorts first."""
    return "" if value is None else str(value)
