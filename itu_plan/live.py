"""Live refresh: learning soon that someone else saved.

Every write appends audit events in its own transaction. On PostgreSQL a
trigger on ``audit_events`` (:func:`ensure_notify`) sends a notification on
:data:`CHANNEL` with the newest event's id; PostgreSQL delivers it when the
transaction commits, and not at all when it rolls back. A
:class:`ChangeWatcher` waits for these notifications on a connection of its
own. SQLite has no notifications: there the watcher only waits out the
polling interval. Either way the caller then asks
:meth:`~itu_plan.Workspace.last_change` whether anything changed, so a lost
or missing notification delays a refresh by one interval at most.
"""

from __future__ import annotations

import threading
from time import monotonic
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, text

from itu_plan.audit import DENIED

if TYPE_CHECKING:
    import psycopg

#: The notification channel: its payload is the id of the newest audit event of the statement.
CHANNEL = "itu_plan_changes"
NOTIFY_FUNCTION = "itu_plan_notify_change"
NOTIFY_TRIGGER = "audit_events_notify"
#: Seconds between two looks whether the watcher was closed while it waits.
_SLICE = 0.5

# One notification per statement that appends events (refusals change nothing and are left out);
# PostgreSQL sends them at commit.
_NOTIFY_BODY = f"""
DECLARE
    newest bigint;
BEGIN
    SELECT max(id) INTO newest FROM appended WHERE action <> '{DENIED}';
    IF newest IS NOT NULL THEN
        PERFORM pg_notify('{CHANNEL}', newest::text);
    END IF;
    RETURN NULL;
END
"""


def ensure_notify(connection: Connection) -> None:
    """Make sure that PostgreSQL notifies :data:`CHANNEL` of every appended audit event
    (idempotent; nothing to do on SQLite). When the trigger is in place, enabled and
    runs the current function, nothing is changed, so no privilege is needed for it."""
    if connection.dialect.name != "postgresql":
        return
    current = connection.execute(
        text(
            "SELECT p.prosrc FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE t.tgrelid = 'audit_events'::regclass AND t.tgname = :name AND t.tgenabled <> 'D'"
        ),
        {"name": NOTIFY_TRIGGER},
    ).scalar()
    if current == _NOTIFY_BODY:
        return
    connection.exec_driver_sql(
        f"CREATE OR REPLACE FUNCTION {NOTIFY_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $body${_NOTIFY_BODY}$body$"
    )
    connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {NOTIFY_TRIGGER} ON audit_events")
    connection.exec_driver_sql(
        f"CREATE TRIGGER {NOTIFY_TRIGGER} AFTER INSERT ON audit_events REFERENCING NEW TABLE AS appended "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {NOTIFY_FUNCTION}()"
    )


class ChangeWatcher:
    """Waits until someone may have saved in a workspace (see the module's docstring).

    >>> with workspace.watcher() as watcher:  # doctest: +SKIP
    ...     while True:
    ...         watcher.wait(5)
    ...         print(workspace.last_change())

    One thread waits at a time; :meth:`close` may be called from any thread. On
    PostgreSQL the watcher holds one connection of its own (``LISTEN``), opened at
    the first :meth:`wait` and again at the first after the connection was lost.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._connection: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()  # held by the waiting thread
        self._closed = threading.Event()

    @property
    def listening(self) -> bool:
        """Whether the database tells the watcher of saves (PostgreSQL); else it only waits."""
        return self._engine.dialect.name == "postgresql"

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def wait(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for a save. True: someone may have saved (a
        notification came, or the watcher has just connected, and may have missed
        some before): look. False: the time ran out (always so on SQLite), or the
        watcher was closed.

        Raises ``psycopg.OperationalError`` when PostgreSQL cannot be reached or the
        connection is lost; the next call connects again.
        """
        with self._lock:
            try:
                if not self.listening:
                    self._closed.wait(timeout)
                    return False
                if self._connection is None:
                    self._connection = self._listen()
                    return True
                return self._notified(self._connection, timeout)
            finally:
                if self.closed:
                    self._disconnect()

    def _listen(self) -> psycopg.Connection[Any]:
        import psycopg

        args, options = self._engine.dialect.create_connect_args(self._engine.url)
        options = {"connect_timeout": 10, "keepalives_idle": 30, "keepalives_interval": 10, **options}
        connection = psycopg.connect(*args, **options, autocommit=True)
        try:
            connection.execute(f"LISTEN {CHANNEL}")
        except BaseException:
            connection.close()
            raise
        return connection

    def _notified(self, connection: psycopg.Connection[Any], timeout: float) -> bool:
        import psycopg

        deadline = monotonic() + timeout
        try:
            while not self.closed:
                remaining = deadline - monotonic()
                if remaining <= 0:
                    return False
                notified = False
                for _ in connection.notifies(timeout=min(remaining, _SLICE), stop_after=1):
                    notified = True
                if notified:
                    for _ in connection.notifies(timeout=0):  # the rest of the batch: one look will do
                        pass
                    return True
        except psycopg.Error:
            self._disconnect()
            raise
        return False

    def _disconnect(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()

    def pause(self, seconds: float) -> None:
        """Wait ``seconds``, or until the watcher is closed (before trying again, say)."""
        self._closed.wait(seconds)

    def close(self) -> None:
        """Stop waiting, and close the connection (now, or when the waiting thread wakes)."""
        self._closed.set()
        if self._lock.acquire(blocking=False):
            try:
                self._disconnect()
            finally:
                self._lock.release()

    def __enter__(self) -> ChangeWatcher:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()
