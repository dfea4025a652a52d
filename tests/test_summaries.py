"""The actuals summary kept by writers: the numpy and the plain path agree."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from itu_plan import summaries


def test_grouped_collect_equals_the_plain_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    n = 20_000
    dates = [
        f"{rng.choice((2004, 2005, 2006, 2007))}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}" for _ in range(n)
    ]
    dates[5] = dt.date(2007, 12, 31)  # a date object among the texts
    units = [rng.randint(1, 5) for _ in range(n)]
    objectives = [rng.choice((None, 1, 2, 3)) for _ in range(n)]
    categories = [rng.choice(("staff", "travel", "other")) for _ in range(n)]
    amounts = [rng.randint(-(10**9), 10**12) for _ in range(n)]
    columns = (dates, units, objectives, categories, amounts)

    grouped = summaries.new_deltas()
    half = n // 2
    summaries.collect(grouped, *(c[:half] for c in columns))  # in two pieces, as the importer gives them
    summaries.collect(grouped, *(c[half:] for c in columns))
    monkeypatch.setattr(summaries, "GROUPED", n + 1)
    plain = summaries.new_deltas()
    summaries.collect(plain, *columns)
    assert dict(grouped) == dict(plain)
    assert plain[2007, units[5], objectives[5], categories[5]][2] == "2007-12-31"
    assert all(type(k[2]) in (int, type(None)) and type(v[0]) is int for k, v in grouped.items())


def test_sums_beyond_64_bits_stay_exact() -> None:
    n = 10_000
    deltas = summaries.new_deltas()
    summaries.collect(deltas, ["2006-01-01"] * n, [1] * n, [None] * n, ["other"] * n, [10**15 - 1] * n)
    assert deltas[2006, 1, None, "other"] == [(10**15 - 1) * n, n, "2006-01-01"]
