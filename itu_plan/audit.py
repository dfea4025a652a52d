"""The audit trail: append-only events written in the same transaction as the change.

Each event says when (UTC), who, what action, on which table and record (by
business key, see :func:`record_key`), and the record before and after as JSON
dicts in business-key terms (codes, not ids; money as CHF strings ``"1234.50"``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from itu_plan.errors import PermissionDenied
from itu_plan.model import AuditEvent

#: Separates the parts of a composite business key: ``2006-2007 draft/BDT-AFR/S-01/2006/travel``.
KEY_SEPARATOR = "/"
#: The action of an event that records a refused attempt (nothing was changed).
DENIED = "denied"


def record_key(*parts: object) -> str:
    """The business key string of a record from its parts, in order; None is an empty part.

    >>> record_key("2006-2007 draft", "BDT-AFR-001", 2006, "travel", None, "RB-MS")
    '2006-2007 draft/BDT-AFR-001/2006/travel//RB-MS'
    """
    return KEY_SEPARATOR.join("" if part is None else str(part) for part in parts)


def record(
    session: Session,
    user: str,
    action: str,
    table: str,
    key: str | None = None,
    *,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append one audit event; the caller's transaction commits or drops it with the change."""
    session.execute(
        insert(AuditEvent).values(
            at=dt.datetime.now(dt.UTC),
            username=user,
            action=action,
            table_name=table,
            record_key=key,
            before=before,
            after=after,
        )
    )


def list_events(session: Session, table: str | None = None, key: str | None = None) -> list[AuditEvent]:
    """The audit events, oldest first; only those of ``table`` and/or exactly ``key`` if given."""
    query = select(AuditEvent).order_by(AuditEvent.id)
    if table is not None:
        query = query.where(AuditEvent.table_name == table)
    if key is not None:
        query = query.where(AuditEvent.record_key == key)
    return list(session.scalars(query))


def record_denied(session: Session, user: str, table: str, key: str | None, *, action: str, reason: str) -> None:
    """Append a ``denied`` event: ``user`` tried to ``action`` the record and was refused
    because ``reason``. Nothing else changed, so the caller commits this event on its own."""
    record(session, user, DENIED, table, key, after={"attempted": action, "reason": reason})


@contextmanager
def denials_recorded(
    transaction: Callable[[], AbstractContextManager[Session]], table: str, key: str | None
) -> Iterator[None]:
    """Audit a refused write: run the block (the write, in its own transaction); if it
    raises ``PermissionDenied``, append a ``denied`` event in a new ``transaction()``
    (the write's transaction has rolled back) and re-raise.

    >>> with audit.denials_recorded(ws.transaction, "cost_lines", str(key)):  # doctest: +SKIP
    ...     with ws.transaction() as session:
    ...         editing.update_cost_line(session, who, key, row_version, {"amount": "1200.00"})
    """
    try:
        yield
    except PermissionDenied as refused:
        with transaction() as session:
            record_denied(session, refused.user, table, key, action=refused.action, reason=refused.reason)
        raise


def last_event(session: Session, table: str, key: str) -> AuditEvent | None:
    """The latest audit event that changed one record (refused attempts aside), or None."""
    return session.scalars(
        select(AuditEvent)
        .where(AuditEvent.table_name == table, AuditEvent.record_key == key, AuditEvent.action != DENIED)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()


def utc(moment: dt.datetime) -> dt.datetime:
    """An event time as an aware UTC datetime (SQLite hands back naive UTC times)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)
