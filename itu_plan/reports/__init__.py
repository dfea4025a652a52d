"""The reports of CONTRACT.md, one module each, through one entry point.

Every report aggregates in the database and returns a :class:`Table` of exact
values (money in centimes, ratios as fractions); :mod:`itu_plan.reports.output`
rounds and prints them, :func:`to_frame` makes the pandas DataFrame of the API.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from fractions import Fraction
from types import ModuleType
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from itu_plan.errors import UsageError
from itu_plan.reports.common import Column, Options, Table

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["NAMES", "Column", "Options", "Table", "drill", "make_options", "run", "to_frame"]

#: report name -> module (imported when first used)
MODULES = {
    "plan-costs": "plan_costs",
    "budget-vs-actual": "budget_vs_actual",
    "financial-plan": "financial_plan",
    "cost-recovery": "cost_recovery",
    "recruitment": "recruitment",
    "representation": "representation",
    "warnings": "warnings",
    "agreements": "agreements",
    "data-quality": "data_quality",
}
NAMES = tuple(MODULES)


def module(name: str) -> ModuleType:
    from importlib import import_module

    if name not in MODULES:
        raise UsageError(f"there is no report {name!r}; choose one of {', '.join(NAMES)}")
    return import_module(f"itu_plan.reports.{MODULES[name]}")


def _fraction(name: str, value: Any) -> Fraction:
    try:
        return Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        raise UsageError(f"{name}={value!r} is not a number") from None


def make_options(
    *,
    version: str | None = None,
    year: int | str | None = None,
    as_of: dt.date | str | None = None,
    target_days: int | str | None = None,
    scenario: dict[str, Any] | None = None,
) -> Options:
    """Options from loose values (CLI strings, notebook parameters), checked."""
    if isinstance(year, str):
        if not (year.isdigit() and len(year) == 4):
            raise UsageError(f"--year must be a year like 2006, not {year!r}")
        year = int(year)
    if isinstance(as_of, str):
        try:
            as_of = dt.date.fromisoformat(as_of)
        except ValueError:
            raise UsageError(f"--as-of must be a date YYYY-MM-DD, not {as_of!r}") from None
    if isinstance(target_days, str):
        if not target_days.isdigit():
            raise UsageError(f"--target-days must be a whole number of days, not {target_days!r}")
        target_days = int(target_days)
    if target_days is not None and target_days < 1:
        raise UsageError("--target-days must be at least 1")
    drivers = {k: _fraction(k, v) for k, v in (scenario or {}).items()}
    return Options(version, year, as_of, 120 if target_days is None else target_days, drivers)


def run(connection: Connection, name: str, options: Options) -> Table:
    if options.scenario and name != "financial-plan":
        raise UsageError(f"--set applies to the financial-plan report, not {name}")
    runner: Callable[[Connection, Options], Table] = module(name).run
    return runner(connection, options)


def drill(connection: Connection, name: str, options: Options, key: dict[str, Any]) -> Table:
    mod = module(name)
    if not hasattr(mod, "drill"):
        raise UsageError(f"the {name} report has no drill-down")
    table: Table = mod.drill(connection, options, key)
    return table


def to_frame(table: Table) -> pd.DataFrame:
    """The table as a DataFrame: money and ratios as exact ``Decimal``s rounded as in
    the CSV output, whole numbers with empty cells as ints and None; the report's notes
    in ``DataFrame.attrs``, and its structured records, when it has them, in
    ``attrs["records"]``."""
    import pandas as pd

    from itu_plan.reports.output import typed_value

    data: dict[str, Any] = {
        column.name: [typed_value(column, row[i]) for row in table.rows] for i, column in enumerate(table.columns)
    }
    for column in table.columns:  # whole numbers with empty cells (a warning's year): not floats
        if column.kind == "int" and None in data[column.name]:
            data[column.name] = pd.Series(data[column.name], dtype=object)
    frame = pd.DataFrame(data, columns=table.names)
    frame.attrs.update(table.notes, report=table.name)
    if table.records:
        frame.attrs["records"] = table.records
    return frame
