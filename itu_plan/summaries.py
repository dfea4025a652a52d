"""Summaries kept in step with the transactions, in the writer's transaction.

``actual_totals`` holds the actuals summed per year, unit, effective objective
(the actual's own, else its activity's) and category. Every writer of actuals
adds its deltas here; reports read these few thousand rows instead of the
million transactions behind them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, extract, func, insert, select, update

from itu_plan.model import Activity, Actual, ActualTotal

#: (year, unit_id, objective_id or None, category) -> [amount in centimes, count, last date]
Deltas = dict[tuple[int, int, int | None, str], list[Any]]


def new_deltas() -> Deltas:
    return defaultdict(lambda: [0, 0, ""])


#: From this many actuals on, :func:`collect` groups with pandas instead of a Python loop.
GROUPED = 5_000


def collect(
    deltas: Deltas,
    dates: Sequence[Any],
    units: Sequence[int],
    objectives: Sequence[int | None],
    categories: Sequence[str],
    amounts: Sequence[int],
) -> None:
    """Add actuals, given column-wise (dates as ``YYYY-MM-DD`` text or dates), to ``deltas``."""
    if len(dates) >= GROUPED and _collect_grouped(deltas, dates, units, objectives, categories, amounts):
        return
    texts = [_text(d) for d in dates]
    years = [int(d[:4]) for d in texts]
    keys = zip(years, units, objectives, categories, strict=True)
    for key, amount, date in zip(keys, amounts, texts, strict=True):
        entry = deltas[key]
        entry[0] += amount
        entry[1] += 1
        if date > entry[2]:
            entry[2] = date


def _collect_grouped(
    deltas: Deltas,
    dates: Sequence[Any],
    units: Sequence[int],
    objectives: Sequence[int | None],
    categories: Sequence[str],
    amounts: Sequence[int],
) -> bool:
    """:func:`collect` by a pandas group-by; False (nothing added) if the sums could
    overflow 64-bit integers, which Python's integers never do."""
    import numpy as np
    import pandas as pd

    amount = np.asarray(amounts, dtype=np.int64)
    if len(amount) and int(np.abs(amount).max()) * len(amount) >= 2**63:
        return False
    day_codes, distinct = pd.factorize(np.asarray(dates, dtype=object))
    days = [_text(d) for d in distinct]
    order = sorted(range(len(days)), key=days.__getitem__)
    rank = np.empty(len(days), dtype=np.int64)
    rank[order] = np.arange(len(days))
    category_codes, category_names = pd.factorize(np.asarray(categories, dtype=object))
    frame = pd.DataFrame(
        {
            "year": np.array([int(d[:4]) for d in days], dtype=np.int64)[day_codes],
            "unit": np.asarray(units, dtype=np.int64),
            "objective": np.array([-1 if o is None else o for o in objectives], dtype=np.int64),
            "category": category_codes,
            "amount": amount,
            "day": rank[day_codes],
        }
    )
    grouped = frame.groupby(["year", "unit", "objective", "category"], sort=False).agg(
        amount=("amount", "sum"), count=("amount", "size"), day=("day", "max")
    )
    latest = [days[i] for i in order]
    for (year, unit, objective, category), total, count, day in zip(
        grouped.index, grouped["amount"], grouped["count"], grouped["day"], strict=True
    ):
        entry = deltas[int(year), int(unit), None if objective < 0 else int(objective), category_names[category]]
        entry[0] += int(total)
        entry[1] += int(count)
        entry[2] = max(entry[2], latest[day])
    return True


def _text(date: Any) -> str:
    return date if isinstance(date, str) else str(date.isoformat())


def apply(connection: Connection, deltas: Deltas) -> None:
    """Add ``deltas`` to ``actual_totals``."""
    if not deltas:
        return
    existing = {
        (row.year, row.unit_id, row.objective_id, row.category): row for row in connection.execute(select(ActualTotal))
    }
    new = []
    for key, (amount, count, last) in deltas.items():
        last_date = dt.date.fromisoformat(last)
        if key in existing:
            row = existing[key]
            connection.execute(
                update(ActualTotal)
                .where(ActualTotal.id == row.id)
                .values(
                    amount_centimes=row.amount_centimes + amount,
                    count=row.count + count,
                    last_date=max(row.last_date, last_date),
                )
            )
        else:
            year, unit, objective, category = key
            new.append(
                {"year": year, "unit_id": unit, "objective_id": objective, "category": category,
                 "amount_centimes": amount, "count": count, "last_date": last_date}
            )  # fmt: skip
    if new:
        connection.execute(insert(ActualTotal), new)


def rebuild(connection: Connection) -> None:
    """Recompute ``actual_totals`` from ``actuals`` (after a bulk load that bypassed deltas)."""
    objective = func.coalesce(Actual.objective_id, Activity.objective_id)
    year = extract("year", Actual.date)
    totals = (
        select(
            year.label("year"),
            Actual.unit_id,
            objective.label("objective_id"),
            Actual.category,
            func.sum(Actual.amount_centimes),
            func.count(),
            func.max(Actual.date),
        )
        .select_from(Actual)
        .outerjoin(Activity, Activity.id == Actual.activity_id)
        .group_by(year, Actual.unit_id, objective, Actual.category)
    )
    connection.execute(delete(ActualTotal))
    connection.execute(
        insert(ActualTotal).from_select(
            ["year", "unit_id", "objective_id", "category", "amount_centimes", "count", "last_date"], totals
        )
    )
