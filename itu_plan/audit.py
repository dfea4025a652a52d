"""The audit trail: append-only events written in the same transaction as the change.

Each event says when (UTC), who, what action, on which table and record (by
business key, see :func:`record_key`), and the record before and after as JSON
dicts in business-key terms (codes, not ids; money as CHF strings ``"1234.50"``).

The trail is tamper-evident: each event carries ``hash``, a SHA-256 over its own
content and the previous event's hash (:func:`digest`), so changing, removing or
inserting an event anywhere but at the end breaks the chain, and :func:`verify`
names the first event that no longer matches. On SQLite this module computes the
hash (writers take turns: BEGIN IMMEDIATE); on PostgreSQL a trigger does
(:mod:`itu_plan.guard`), with the same formula, and also records the login
(``session_user``) and stamps the time, whatever client wrote the event.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Text, cast, insert, literal, null, select
from sqlalchemy.orm import Session

from itu_plan.errors import PermissionDenied
from itu_plan.model import AuditEvent

#: Separates the parts of a composite business key: ``2006-2007 draft/BDT-AFR/S-01/2006/travel``.
KEY_SEPARATOR = "/"
#: The action of an event that records a refused attempt (nothing was changed).
DENIED = "denied"
#: How the actions of events the database writes for raw SQL begin (PostgreSQL):
#: ``sql insert``, ``sql update``, ``sql delete``, ``sql truncate``.
RAW_WRITE = "sql "


def record_key(*parts: object) -> str:
    """The business key string of a record from its parts, in order; None is an empty part.

    >>> record_key("2006-2007 draft", "BDT-AFR-001", 2006, "travel", None, "RB-MS")
    '2006-2007 draft/BDT-AFR-001/2006/travel//RB-MS'
    """
    return KEY_SEPARATOR.join("" if part is None else str(part) for part in parts)


#: Separates the fields that :func:`digest` hashes; stands for a missing (NULL) field.
FIELD_SEPARATOR, MISSING = "\x1f", "\x02"


def digest(previous: str | None, fields: Iterable[str | None]) -> str:
    """The hash of an event: SHA-256 (hex) over the previous event's hash and the event's
    fields as text (id, time, user, login, action, table, key, before, after), joined by
    ``FIELD_SEPARATOR``, a missing field as ``MISSING``. The PostgreSQL trigger computes
    the same (:data:`itu_plan.guard.CHAIN_DIGEST`); a test keeps the two equal."""
    text = FIELD_SEPARATOR.join([previous or "", *(MISSING if f is None else f for f in fields)])
    return hashlib.sha256(text.encode()).hexdigest()


def moment_text(moment: dt.datetime) -> str:
    """An event time as the hash sees it: UTC, microseconds, no zone (``2007-06-30T09:15:00.000000``)."""
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%f")


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
    """Append one audit event; the caller's transaction commits or drops it with the change.

    On PostgreSQL the database stamps the event (time, login, hash); here on SQLite
    this function does, chaining it to the newest event (the caller holds the write
    lock, so nobody appends meanwhile).
    """
    values: dict[str, Any] = {"username": user, "action": action, "table_name": table, "record_key": key}
    if session.get_bind().dialect.name == "postgresql":
        session.execute(insert(AuditEvent).values(at=dt.datetime.now(dt.UTC), before=before, after=after, **values))
        return
    from itu_plan.workspace import os_login

    last = session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    event_id = (last.id if last else 0) + 1
    at = dt.datetime.now(dt.UTC)
    login = os_login()
    texts = [None if v is None else json.dumps(v) for v in (before, after)]
    fields = [str(event_id), moment_text(at), user, login, action, table, key, *texts]
    session.execute(
        insert(AuditEvent).values(
            id=event_id,
            at=at,
            login=login,
            hash=digest(last.hash if last else None, fields),
            before=null() if texts[0] is None else literal(texts[0], Text),
            after=null() if texts[1] is None else literal(texts[1], Text),
            **values,
        )
    )


@dataclass(frozen=True)
class ChainCheck:
    """What :func:`verify` found: how many events it checked and, when the chain is
    broken, the id of the first event that does not match and why."""

    checked: int
    broken_at: int | None = None
    reason: str = ""
    #: the newest event and its hash, when the chain is whole: write them down (or
    #: publish them) to know later that nothing before them was rewritten
    newest: int | None = None
    newest_hash: str | None = None

    @property
    def whole(self) -> bool:
        return self.broken_at is None

    def sentence(self) -> str:
        if self.whole:
            events = "event" if self.checked == 1 else "events"
            head = f"; the newest, event {self.newest}, has hash {self.newest_hash}" if self.newest else ""
            return f"The audit trail is whole: {self.checked:,} {events} checked, each chained to the one before{head}."
        return (
            f"The audit trail is broken at event {self.broken_at}: {self.reason}. "
            f"{self.checked:,} checked up to there; an event was changed, removed or inserted at that point."
        )


def chain_rows(connection: Connection, *, after_id: int = 0) -> Iterator[tuple[int, str | None, list[str | None]]]:
    """Every event from ``after_id`` on, oldest first, as (id, stored hash, the fields
    :func:`digest` hashes, as stored)."""
    table = AuditEvent.__table__
    columns = table.c
    query = (
        select(
            columns.id, columns.hash, columns.at, columns.username, columns.login, columns.action,
            columns.table_name, columns.record_key, cast(columns.before, Text), cast(columns.after, Text),
        )
        .where(columns.id > after_id)
        .order_by(columns.id)
    )  # fmt: skip
    for row in connection.execute(query.execution_options(yield_per=10_000)):
        event_id, stored, at, *rest = row
        yield event_id, stored, [str(event_id), moment_text(at), *rest]


def verify(connection: Connection) -> ChainCheck:
    """Check the whole chain: each event's hash must be the digest of its content and the
    previous event's hash. Names the first event that does not match."""
    previous: str | None = None
    checked = newest = 0
    for event_id, stored, fields in chain_rows(connection):
        newest = event_id
        checked += 1
        if stored is None:
            return ChainCheck(checked, event_id, "it carries no hash")
        if digest(previous, fields) != stored:
            return ChainCheck(
                checked,
                event_id,
                "its hash does not match its content and the event before it",
            )
        previous = stored
    return ChainCheck(checked, newest=newest or None, newest_hash=previous)


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


#: Seconds within which the same refusal, repeated, is counted rather than recorded again.
DENIAL_WINDOW_SECONDS = 60.0


class Denials:
    """Refusals of one app (one page), recorded so that a flood of forged requests
    leaves a handful of events, not one each: the first refusal of a kind (same user,
    action, table, record and reason) is recorded at once; the same refusal repeated
    within ``window`` seconds of it is only counted, and the count is recorded as one
    more ``denied`` event, with ``"repeated": n`` beside the attempt and the reason,
    when the window is over (at the next refusal after it, or at :meth:`flush`: a
    timer the app sets, or the app's closing) or when a different refusal comes.

    The audit trail is append-only and hash-chained, so repeats cannot be added to the
    first event afterwards: they are counted here, in the app's memory. An app that is
    killed outright loses the count of its last window, never the first refusal.
    """

    def __init__(
        self,
        transaction: Callable[[], AbstractContextManager[Session]],
        *,
        window: float = DENIAL_WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.transaction = transaction
        self.window = window
        self.clock = clock
        self._lock = threading.Lock()
        self._kind: tuple[str, str, str, str | None, str] | None = None
        self._since = 0.0
        self._repeats = 0

    @property
    def pending(self) -> int:
        """Repeats counted and not yet recorded."""
        return self._repeats

    def record(self, refused: PermissionDenied, table: str, key: str | None) -> bool:
        """Record ``refused`` (an attempt on ``table``/``key``), or count it as a repeat.
        Returns whether it was only counted (so that the caller may set a timer to
        :meth:`flush` when the window is over)."""
        kind = (refused.user, refused.action, table, key, refused.reason)
        with self._lock:
            now = self.clock()
            if kind == self._kind and now - self._since < self.window:
                self._repeats += 1
                return True
            self._write_repeats()
            with self.transaction() as session:
                record_denied(session, refused.user, table, key, action=refused.action, reason=refused.reason)
            self._kind, self._since, self._repeats = kind, now, 0
            return False

    def flush(self) -> None:
        """Record the repeats counted so far, if any, as one event."""
        with self._lock:
            self._write_repeats()
            self._kind = None

    def _write_repeats(self) -> None:
        if self._kind is None or not self._repeats:
            return
        user, action, table, key, reason = self._kind
        after = {"attempted": action, "reason": reason, "repeated": self._repeats}
        with self.transaction() as session:
            record(session, user, DENIED, table, key, after=after)
        self._repeats = 0


@contextmanager
def denials_recorded(
    transaction: Callable[[], AbstractContextManager[Session]],
    table: str,
    key: str | None,
    *,
    denials: Denials | None = None,
) -> Iterator[None]:
    """Audit a refused write: run the block (the write, in its own transaction); if it
    raises ``PermissionDenied``, append a ``denied`` event in a new ``transaction()``
    (the write's transaction has rolled back) and re-raise. With ``denials`` (an app's
    :class:`Denials`) a repeated refusal is counted rather than recorded each time.

    >>> with audit.denials_recorded(ws.transaction, "cost_lines", str(key)):  # doctest: +SKIP
    ...     with ws.transaction() as session:
    ...         editing.update_cost_line(session, who, key, row_version, {"amount": "1200.00"})
    """
    try:
        yield
    except PermissionDenied as refused:
        if denials is not None:
            denials.record(refused, table, key)
        else:
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
