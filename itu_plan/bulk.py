"""Fast bulk loading: COPY on PostgreSQL (pipelined INSERTs where row-level security
applies), the driver's executemany on SQLite.

Rows are plain tuples in the order of ``columns``; the caller owns the
transaction. Surrogate ids may be given explicitly; :func:`sync_sequences`
then moves PostgreSQL's id sequences past them.

On PostgreSQL a foreign key is checked by a trigger per row and key, which
makes a million-row load about ten times slower. :func:`foreign_keys_set_aside`
drops a table's foreign keys for a large load and adds them back after it, in
the same transaction: adding a key validates every row in one pass, so no
row escapes the check, and a failed load rolls the keys back with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import CheckConstraint, Connection, ForeignKeyConstraint, Table, text
from sqlalchemy.schema import AddConstraint, DropConstraint

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
    enums_checked: Mapping[str, Collection[str]] | None = None,
) -> int:
    """Insert ``rows`` into ``table``; returns how many. Calls ``progress(n)`` per chunk.

    ``plain`` promises the values are already str, int, float or None (dates
    as ISO text), which spares converting every cell on SQLite.

    ``enums_checked`` promises that each of these columns holds only these
    values (the caller checked every one). When the table's CHECK constraints
    do no more than restrict such columns to those values or more, SQLite skips
    them for this insert: they cost a sixth of a million-row load of actuals.
    """
    iterator = iter(rows)
    total = 0
    if connection.dialect.name == "postgresql":
        cols = ", ".join(f'"{c}"' for c in columns)
        dbapi = connection.connection.driver_connection
        assert dbapi is not None
        if _row_security_active(connection, table):
            return _insert_many(dbapi, table, columns, iterator, progress)
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
    trusted = enums_checked is not None and _only_enum_checks(table, enums_checked)
    if trusted:
        connection.exec_driver_sql("PRAGMA ignore_check_constraints = ON")
    try:
        while chunk := list(islice(iterator, CHUNK)):
            converted = chunk if plain else [tuple(_sqlite_value(v) for v in row) for row in chunk]
            connection.exec_driver_sql(sql, converted)
            total += len(chunk)
            if progress:
                progress(len(chunk))
    finally:
        if trusted:
            connection.exec_driver_sql("PRAGMA ignore_check_constraints = OFF")
    return total


def _row_security_active(connection: Connection, table: Table) -> bool:
    """Whether row-level security applies to the current user on ``table`` (PostgreSQL
    refuses COPY FROM then; see :mod:`itu_plan.pg_security`)."""
    query = text("SELECT row_security_active(CAST(:t AS regclass))")
    return bool(connection.execute(query, {"t": f'"{table.name}"'}).scalar())


def _insert_many(
    dbapi: Any, table: Table, columns: Sequence[str], rows: Iterable[Row], progress: Callable[[int], Any] | None
) -> int:
    """INSERT ``rows`` a chunk at a time, each chunk one statement over one array per
    column (``INSERT ... SELECT FROM unnest(...)``): for tables under row-level security,
    where COPY FROM is not allowed and the policies' subqueries run once per statement."""
    from sqlalchemy.dialects import postgresql

    dialect = postgresql.dialect()
    arrays = ", ".join(f"%s::{table.c[c].type.compile(dialect=dialect)}[]" for c in columns)
    cols = ", ".join(f'"{c}"' for c in columns)
    sql = f'INSERT INTO "{table.name}" ({cols}) SELECT * FROM unnest({arrays})'
    total = 0
    iterator = iter(rows)
    with dbapi.cursor() as cursor:
        while chunk := list(islice(iterator, CHUNK)):
            cursor.execute(sql, [list(values) for values in zip(*chunk, strict=True)])
            total += len(chunk)
            if progress:
                progress(len(chunk))
    return total


def _only_enum_checks(table: Table, checked: Mapping[str, Collection[str]]) -> bool:
    """Whether every CHECK constraint of ``table`` only restricts a column of ``checked``
    to values that include those checked (see ``model.enum_check``)."""
    checks = [c for c in table.constraints if isinstance(c, CheckConstraint)]
    return bool(checks) and all(
        c.info.get("enum_of") in checked and set(checked[c.info["enum_of"]]) <= c.info["values"] for c in checks
    )


#: Loads of at least this many rows into one PostgreSQL table set its foreign keys aside.
SET_ASIDE_ROWS = 100_000


def set_aside_foreign_keys(connection: Connection, table: Table, rows: int) -> list[ForeignKeyConstraint]:
    """Drop ``table``'s foreign keys before loading ``rows`` rows, when that pays
    (PostgreSQL, at least :data:`SET_ASIDE_ROWS` rows, a table the user owns);
    returns the keys to give to :func:`restore_foreign_keys` once the rows are in.

    Until the transaction ends, readers of ``table`` wait (dropping a key locks it).
    """
    keys = sorted(table.foreign_key_constraints, key=lambda key: str(key.name))
    if connection.dialect.name != "postgresql" or rows < SET_ASIDE_ROWS or not keys:
        return []
    owner = connection.execute(
        text("SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class WHERE oid = CAST(:t AS regclass)"),
        {"t": table.name},
    ).scalar()
    if not owner:
        return []
    for key in keys:
        connection.execute(DropConstraint(key))
    return keys


def restore_foreign_keys(connection: Connection, keys: Sequence[ForeignKeyConstraint]) -> None:
    """Add back keys :func:`set_aside_foreign_keys` dropped; each validates every row."""
    for key in keys:
        connection.execute(AddConstraint(key))


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
