"""recruitment: recruitments completed on or before as-of (entry on duty that day at
the latest), by year of entry on duty, unit and grade of the post.

days = eod_date - notice_date; median and mean with one decimal; within_target
is the share with days <= the target (``--target-days``, default 120).
"""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction
from statistics import median

from sqlalchemy import Connection, select

from itu_plan.model import Post, Recruitment, Unit
from itu_plan.reports.common import Column, Options, Table, effective_as_of, in_year, notes

COLUMNS = [
    Column("year", "int"),
    Column("unit_code"),
    Column("grade"),
    Column("completed", "int"),
    Column("median_days", "days"),
    Column("mean_days", "days"),
    Column("within_target", "ratio"),
]


def run(connection: Connection, options: Options) -> Table:
    as_of = effective_as_of(connection, options)
    completed = [Recruitment.eod_date <= as_of]
    if options.year is not None:
        completed.append(in_year(Recruitment.eod_date, options.year))
    statement = (
        select(Recruitment.notice_date, Recruitment.eod_date, Unit.code, Post.grade)
        .join(Post, Post.id == Recruitment.post_id)
        .join(Unit, Unit.id == Post.unit_id)
        .where(*completed)
    )
    groups: dict[tuple[int, str, str], list[int]] = defaultdict(list)
    for notice, eod, unit, grade in connection.execute(statement):
        assert eod is not None  # the query keeps completed recruitments only
        groups[eod.year, unit, grade].append((eod - notice).days)
    rows = []
    for (year, unit, grade), days in sorted(groups.items()):
        within = sum(1 for d in days if d <= options.target_days)
        rows.append(
            (
                year,
                unit,
                grade,
                len(days),
                Fraction(median(days)),
                Fraction(sum(days), len(days)),
                Fraction(within, len(days)),
            )
        )
    return Table("recruitment", COLUMNS, rows, notes(as_of, target_days=options.target_days))
