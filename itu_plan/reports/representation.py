"""representation: gender and geographical balance of staff at P-1 and above in
service at as-of: started on or before it, and no end_date (their last day) on or
before it.

The region of a staff member is that of their nationality. Only categories
with at least one person; share = count / all such staff.
"""

from __future__ import annotations

from fractions import Fraction

from sqlalchemy import Connection, func, or_, select

from itu_plan.model import GENDERS, PROFESSIONAL_GRADES, REGIONS, Member, Staff
from itu_plan.reports.common import Column, Options, Table, effective_as_of, notes

COLUMNS = [Column("dimension"), Column("category"), Column("count", "int"), Column("share", "ratio")]


def run(connection: Connection, options: Options) -> Table:
    as_of = effective_as_of(connection, options)
    in_service = Staff.start_date <= as_of, or_(Staff.end_date.is_(None), Staff.end_date > as_of)
    professional = (Staff.grade.in_(PROFESSIONAL_GRADES), *in_service)
    total = connection.execute(select(func.count()).select_from(Staff).where(*professional)).scalar_one()
    by_gender = dict(
        connection.execute(select(Staff.gender, func.count()).where(*professional).group_by(Staff.gender)).all()
    )
    by_region = dict(
        connection.execute(
            select(Member.region, func.count())
            .select_from(Staff)
            .join(Member, Member.id == Staff.nationality_id)
            .where(*professional, Member.region.is_not(None))
            .group_by(Member.region)
        ).all()
    )
    rows = []
    for dimension, categories, counts in (("gender", GENDERS, by_gender), ("region", REGIONS, by_region)):
        for category in categories:
            count = int(counts.get(category, 0))
            if count:
                rows.append((dimension, category, count, Fraction(count, total)))
    return Table("representation", COLUMNS, rows, notes(as_of, staff=total))
