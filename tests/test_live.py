"""Live refresh: on PostgreSQL a save wakes the watchers of other workspaces within a
second (LISTEN/NOTIFY); on SQLite the watcher only waits out the interval and the
app polls. ``init`` puts the notify trigger (back) in place. The app-level side is
in tests/test_widgets_views.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from itu_plan import Workspace, access, audit, live, users
from tests.pg import PostgresServer
from tests.widgets_support import pg_demo_template  # noqa: F401


def save(ws: Workspace, name: str) -> None:
    """A write as every writer makes one: a service function, its audit event, one transaction."""
    with ws.transaction() as session:
        users.add_user(session, access.actor(session, ws.user), name, "reviewer")


@pytest.fixture
def pg_workspace(postgres: PostgresServer) -> Iterator[Workspace]:
    """An initialised PostgreSQL workspace whose first user, the admin ``tester``, exists."""
    with Workspace.open(postgres.new_database(), user="tester", create=True) as ws:
        ws.init()
        with ws.transaction() as session:
            users.add_user(session, access.actor(session, "tester"), "tester", "admin")
        yield ws


def connected(ws: Workspace) -> live.ChangeWatcher:
    """A watcher of ``ws`` that has connected (and listens)."""
    watcher = ws.watcher()
    assert watcher.listening
    assert watcher.wait(5) is True  # the first wait connects and says: look
    return watcher


def saved_and_seen(saver: Workspace, watcher: live.ChangeWatcher, name: str) -> float:
    """Seconds from the start of a save (its whole transaction) to ``watcher`` waking."""
    started: list[float] = []

    def other_person() -> None:
        time.sleep(0.05)  # the watcher is waiting by then
        started.append(time.perf_counter())
        save(saver, name)

    thread = threading.Thread(target=other_person)
    thread.start()
    woke = watcher.wait(10)
    seen = time.perf_counter()
    thread.join()
    assert woke is True, "the watcher woke for the save, not for the time running out"
    return seen - started[0]


def test_a_save_wakes_another_workspaces_watcher_within_a_second(pg_workspace: Workspace) -> None:
    with Workspace.open(pg_workspace.url, user="tester") as other, connected(other) as watcher:
        before = other.last_change()
        latency = saved_and_seen(pg_workspace, watcher, "someone")
        print(f"save -> other watcher: {latency * 1000:.1f} ms")
        assert latency < 1.0
        assert other.last_change() > before
        assert watcher.wait(0.3) is False  # one save, one wake


def test_nothing_wakes_the_watcher_when_nothing_was_saved(pg_workspace: Workspace) -> None:
    """A rolled-back write and a refusal (a ``denied`` event changes nothing) notify nobody."""
    with connected(pg_workspace) as watcher:
        with pytest.raises(RuntimeError), pg_workspace.transaction() as session:
            users.add_user(session, access.actor(session, "tester"), "rolled.back", "reviewer")
            raise RuntimeError("changed my mind")
        with pg_workspace.transaction() as session:  # what audit.denials_recorded does after a refusal
            audit.record_denied(session, "someone", "users", "y", action="add the user y", reason="test")
        start = time.monotonic()
        assert watcher.wait(0.5) is False
        assert time.monotonic() - start >= 0.5


def test_on_sqlite_the_watcher_only_waits_and_the_app_polls(tmp_path: Path) -> None:
    with Workspace.open(f"sqlite:///{tmp_path / 'plan.db'}", create=True) as workspace, workspace.watcher() as watcher:
        workspace.init()
        assert watcher.listening is False
        start = time.monotonic()
        assert watcher.wait(0.2) is False
        assert time.monotonic() - start >= 0.2
        with workspace.engine.begin() as connection:
            live.ensure_notify(connection)  # nothing to do, and no error


def _trigger(ws: Workspace) -> tuple[int, str] | None:
    with ws.engine.connect() as connection:
        row = connection.execute(
            text("SELECT oid, tgenabled FROM pg_trigger WHERE tgname = :name"), {"name": live.NOTIFY_TRIGGER}
        ).one_or_none()
    return None if row is None else (int(row[0]), str(row[1]))


def test_init_puts_the_trigger_back_and_leaves_a_sound_one_alone(pg_workspace: Workspace) -> None:
    sound = _trigger(pg_workspace)
    assert sound is not None and sound[1] == "O"
    pg_workspace.init()
    assert _trigger(pg_workspace) == sound, "nothing recreated: init needs no privilege on a sound workspace"

    with pg_workspace.engine.begin() as connection:
        connection.exec_driver_sql(f"DROP TRIGGER {live.NOTIFY_TRIGGER} ON audit_events")
    with connected(pg_workspace) as watcher:
        save(pg_workspace, "unheard")
        assert watcher.wait(0.5) is False  # no trigger, no notification
        pg_workspace.init()
        assert _trigger(pg_workspace) is not None
        assert saved_and_seen(pg_workspace, watcher, "heard") < 1.0

        with pg_workspace.engine.begin() as connection:
            connection.exec_driver_sql(f"ALTER TABLE audit_events DISABLE TRIGGER {live.NOTIFY_TRIGGER}")
        pg_workspace.init()
        assert _trigger(pg_workspace) is not None and _trigger(pg_workspace)[1] == "O"  # type: ignore[index]
        assert saved_and_seen(pg_workspace, watcher, "heard.again") < 1.0


def test_the_demo_workspace_notifies(postgres: PostgresServer, pg_demo_template: str) -> None:
    with Workspace.open(postgres.url(pg_demo_template), user="tester") as ws:
        assert _trigger(ws) is not None


def test_a_lost_connection_is_raised_once_then_the_watcher_listens_again(pg_workspace: Workspace) -> None:
    with connected(pg_workspace) as watcher:
        with pg_workspace.engine.begin() as connection:
            killed = connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = :listen"),
                {"listen": f"LISTEN {live.CHANNEL}"},
            ).scalars()
            assert list(killed) == [True]
        with pytest.raises(psycopg.OperationalError):
            watcher.wait(5)
        assert watcher.wait(5) is True  # connected again: look, something may have been missed
        assert saved_and_seen(pg_workspace, watcher, "after.reconnect") < 1.0


def test_close_stops_a_waiting_watcher_soon(pg_workspace: Workspace) -> None:
    watcher = connected(pg_workspace)
    threading.Timer(0.1, watcher.close).start()
    start = time.monotonic()
    assert watcher.wait(30) is False
    assert time.monotonic() - start < 1.5 and watcher.closed
