"""What every report shares: the result table, options, version and as-of resolution."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sqlalchemy import Connection, select

from itu_plan.errors import NotFound, UsageError
from itu_plan.model import PlanVersion, Setting

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
    """``--as-of``, else the workspace's as-of date, else today."""
    return options.as_of or workspace_as_of(connection) or dt.date.today()


def resolve_version(connection: Connection, name: str | None) -> tuple[int, str]:
    """(id, name) of the named version; by default the latest approved, else the latest."""
    if name is not None:
        found = connection.execute(select(PlanVersion.id).where(PlanVersion.name == name)).scalar()
        if found is None:
            raise NotFound("plan version", name)
        return found, name
    latest = (
        connection.execute(
            select(PlanVersion.id, PlanVersion.name)
            .where(PlanVersion.status == "approved")
            .order_by(PlanVersion.id.desc())
        ).first()
        or connection.execute(select(PlanVersion.id, PlanVersion.name).order_by(PlanVersion.id.desc())).first()
    )
    if latest is None:
        raise UsageError("the workspace has no plan version yet; import versions.csv or run `itu-plan demo`")
    return latest[0], latest[1]


def ratio(numerator: int | Fraction, denominator: int | Fraction) -> Fraction | None:
    return None if denominator == 0 else Fraction(numerator) / Fraction(denominator)


def key_text(value: Any) -> str:
    """Sort key for a leading column: None (an empty cell) sorts first."""
    return "" if value is None else str(value)
