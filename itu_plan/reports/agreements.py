"""agreements: the register of cooperative arrangements for which the secretariat is depositary."""

from __future__ import annotations

from sqlalchemy import Connection, select

from itu_plan.model import Agreement
from itu_plan.reports.common import Column, Options, Table

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
    statement = select(
        Agreement.code,
        Agreement.title,
        Agreement.kind,
        Agreement.parties,
        Agreement.signed_date,
        Agreement.in_force_date,
        Agreement.status,
    ).order_by(Agreement.code)
    return Table("agreements", COLUMNS, [tuple(r) for r in connection.execute(statement)])
