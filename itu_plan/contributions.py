"""Members' contributions: the contributory units of each member type and region
times the unit value of the year and type, as the financial plan counts them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from itu_plan.model import Member, UnitValue
from itu_plan.money import format_scaled, round_half_even

if TYPE_CHECKING:
    import pandas as pd

    from itu_plan.workspace import Workspace

COLUMNS = ["year", "member_type", "region", "members", "units", "amount"]


@dataclass(frozen=True)
class Group:
    """The members of one type in one region: how many, and their contributory units
    (in ten-thousandths)."""

    member_type: str
    region: str | None
    members: int
    units_e4: int


def amount_centimes(units_e4: int, unit_value_centimes: int) -> int:
    """What ``units_e4`` contributory units pay at a unit value, rounded half-even to
    the centime once."""
    return round_half_even(Fraction(units_e4 * unit_value_centimes, 10_000))


def rows(groups: Iterable[Group], unit_values: Iterable[tuple[int, str, int]]) -> list[tuple[object, ...]]:
    """One row per year (of ``unit_values``: year, member type, value in centimes) and
    group of that member type: year, type, region, members, units and amount."""
    groups = list(groups)
    return [
        (year, g.member_type, g.region, g.members, Decimal(format_scaled(g.units_e4, 4)),
         Decimal(format_scaled(amount_centimes(g.units_e4, value), 2)))
        for year, member_type, value in unit_values
        for g in groups
        if g.member_type == member_type
    ]  # fmt: skip


def by_region(workspace: Workspace, version: str | None = None) -> pd.DataFrame:
    """Contributions by year, member type and region: members, contributory units and
    the amount they pay (units x the unit value of the year and member type), for
    the years of ``version``'s period (the default version's, as the reports choose
    it); the financial plan's plan column of the same years.

    Each row is rounded half-even to the centime once; the financial plan rounds
    the total of each member type once, so the rows of a type may differ from its
    ``*_contributions`` line by a few centimes.
    """
    import pandas as pd

    from itu_plan.reports.common import version_ref

    with workspace.reading() as session:
        ref = version_ref(session.connection(), version)
        groups = [
            Group(member_type, region, int(members), int(units_e4 or 0))
            for member_type, region, members, units_e4 in session.execute(
                select(Member.type, Member.region, func.count(), func.coalesce(func.sum(Member.units_e4), 0))
                .where(Member.units_e4.is_not(None))
                .group_by(Member.type, Member.region)
                .order_by(Member.type, Member.region)
            )
        ]
        values = [
            (year, member_type, int(value))
            for year, member_type, value in session.execute(
                select(UnitValue.year, UnitValue.member_type, UnitValue.value_centimes)
                .where(UnitValue.year.between(ref.first_year, ref.last_year))
                .order_by(UnitValue.year, UnitValue.member_type)
            )
        ]
    return pd.DataFrame(rows(groups, values), columns=COLUMNS)
