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


#: From this many actuals on, :func:`collect` sums with numpy instead of a Python loop.
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
    """:func:`collect` with numpy; False (nothing added) if a sum could overflow 64-bit
    integers, which Python's integers never do."""
    import numpy as np
    import pandas as pd

    try:
        amount = np.asarray(amounts, dtype=np.int64)
    except OverflowError:
        return False
    if int(np.abs(amount).max()) * len(amount) >= 2**63:
        return False
    day_codes, distinct = pd.factorize(np.asarray(dates, dtype=object))
    days = [_text(d) for d in distinct]
    rank = np.argsort(np.argsort(np.array(days)))  # of each distinct day, in date order
    category_codes, category_names = pd.factorize(np.asarray(categories, dtype=object))
    parts = (
        np.array([int(d[:4]) for d in days], dtype=np.int64)[day_codes],
        np.asarray(units, dtype=np.int64),
        np.array([-1 if o is None else o for o in objectives], dtype=np.int64),
        category_codes.astype(np.int64),
    )
    combined = np.zeros(len(amount), dtype=np.int64)
    for part in parts:  # one number per (year, unit, objective, category), in mixed radix
        values, codes = np.unique(part, return_inverse=True)
        combined = combined * len(values) + codes
    _, first, group = np.unique(combined, return_index=True, return_inverse=True)
    totals = np.zeros(len(first), dtype=np.int64)
    np.add.at(totals, group, amount)
    latest = np.full(len(first), -1, dtype=np.int64)
    np.maximum.at(latest, group, rank[day_codes])
    by_rank = sorted(days)
    counts = np.bincount(group, minlength=len(first))
    year, unit, objective, category = (part[first].tolist() for part in parts)
    for g, (total, count, last) in enumerate(zip(totals.tolist(), counts.tolist(), latest.tolist(), strict=True)):
        key = (year[g], unit[g], None if objective[g] < 0 else objective[g], category_names[category[g]])
        _add(deltas, key, total, count, by_rank[last])
    return True


def merge(deltas: Deltas, more: dict[tuple[int, int, int | None, str], list[Any]]) -> None:
    """Add ``more`` (deltas collected elsewhere, such as in another process) to ``deltas``."""
    for key, (amount, count, last) in more.items():
        _add(deltas, key, amount, count, last)


def _add(deltas: Deltas, key: tuple[int, int, int | None, str], amount: int, count: int, last: str) -> None:
    entry = deltas[key]
    entry[0] += amount
    entry[1] += count
    entry[2] = max(entry[2], last)


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
