"""Fast bulk loading: COPY on PostgreSQL, the driver's executemany on SQLite.

Rows are plain tuples in the order of ``columns``; the caller owns the
transaction. Surrogate ids may be given explicitly; :func:`sync_sequences`
then moves PostgreSQL's id sequences past them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Table, text

Row = Sequence[Any]
CHUNK = 20_000


def _sqlite_value(value: Any) -> Any:
    # SQLAlchemy's Date type stores ISO text on SQLite; write the same.
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def bulk_insert(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Row],
    *,
    progress: Callable[[int], Any] | None = None,
    plain: bool = False,
) -> int:
    """Insert ``rows`` into ``table``; returns how many. Calls ``progress(n)`` per chunk.

    ``plain`` promises the values are already str, int, float or None (dates
    as ISO text), which spares converting every cell on SQLite.
    """
    iterator = iter(rows)
    total = 0
    if connection.dialect.name == "postgresql":
        cols = ", ".join(f'"{c}"' for c in columns)
        dbapi = connection.connection.driver_connection
        assert dbapi is not None
        with (
            dbapi.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as copy,
        ):
            while chunk := list(islice(iterator, CHUNK)):
                for row in chunk:
                    copy.write_row(row)
                total += len(chunk)
                if progress:
                    progress(len(chunk))
        return total
    sql = f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES ({", ".join("?" for _ in columns)})'
    while chunk := list(islice(iterator, CHUNK)):
        converted = chunk if plain else [tuple(_sqlite_value(v) for v in row) for row in chunk]
        connection.exec_driver_sql(sql, converted)
        total += len(chunk)
        if progress:
            progress(len(chunk))
    return total


def sync_sequences(connection: Connection, tables: Iterable[Table]) -> None:
    """After explicit ids, make PostgreSQL's sequences continue past the largest id."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        if "id" not in table.c or not table.c.id.primary_key:
            continue
        connection.execute(
            text(
                "SELECT setval(pg_get_serial_sequence(:t, 'id'), "
                f'COALESCE((SELECT MAX(id) FROM "{table.name}"), 0) + 1, false)'
            ),
            {"t": table.name},
        )
