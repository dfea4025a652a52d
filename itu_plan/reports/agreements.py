"""agreements: the register of cooperative arrangements for which the secretariat is
depositary, as it stood at as-of: agreements signed on or before it, or not yet signed."""

from __future__ import annotations

from sqlalchemy import Connection, or_, select

from itu_plan.model import Agreement
from itu_plan.reports.common import Column, Options, Table, effective_as_of, notes

COLUMNS = [
    Column("code"),
    Column("title"),
    Column("kind"),
    Column("parties"),
    Column("signed_date", "date"),
    Column("in_force_date", "date"),
    Column("status"),
]


def run(connection: Connection, options: Options) -> Table:
    as_of = effective_as_of(connection, options)
    statement = (
        select(
            Agreement.code,
            Agreement.title,
            Agreement.kind,
            Agreement.parties,
            Agreement.signed_date,
            Agreement.in_force_date,
            Agreement.status,
        )
        .where(or_(Agreement.signed_date.is_(None), Agreement.signed_date <= as_of))
        .order_by(Agreement.code)
    )
    return Table("agreements", COLUMNS, [tuple(r) for r in connection.execute(statement)], notes(as_of))
