"""The tamper-evident audit trail (contract v2, "Identity and permissions"): a hash
chain over the events, `audit verify`, `init` putting back a dropped guard, raw writes
on PostgreSQL leaving events that name the login; and who acts on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from itu_plan import Workspace, audit
from itu_plan.errors import PermissionDenied
from tests.small_plan import build_small_plan
from tests.test_cli_workflow import DRAFT, Cli, demo_db  # noqa: F401 - the fixture


def _superuser_write(ws: Workspace, *statements: str) -> None:
    """Tamper with the trail as someone who owns the database file or server would."""
    with ws.engine.begin() as connection:
        sqlite = connection.dialect.name == "sqlite"
        guard = "DROP TRIGGER audit_events_no_{verb}" if sqlite else "ALTER TABLE audit_events DISABLE TRIGGER ALL"
        for verb in ("update", "delete"):
            connection.exec_driver_sql(guard.format(verb=verb))
            if not sqlite:
                break
        for statement in statements:
            connection.exec_driver_sql(statement)
        if not sqlite:
            connection.exec_driver_sql("ALTER TABLE audit_events ENABLE TRIGGER ALL")


def test_the_trail_is_whole_after_a_workflow(demo_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    cli = Cli(demo_db, capsys)
    assert cli("admin", "version", "copy", "2006-2007 approved", "2006-2007 revised") == 0
    assert cli("admin", "users", "add", "planner.new", "--role", "planner", "--units", "BDT") == 0
    assert cli("reviewer", "version", "approve", "2006-2007 revised") == 3  # a denied event too
    assert cli("reviewer", "audit", "verify") == 0
    with Workspace.open(demo_db) as ws, ws.engine.connect() as connection:
        events = connection.execute(text("SELECT count(*) FROM audit_events")).scalar_one()
        logins = set(connection.execute(text("SELECT login FROM audit_events")).scalars())
    assert f"The audit trail is whole: {events:,} events checked" in cli.out and events >= 3
    assert None not in logins


@pytest.mark.parametrize("tampering", ["change", "remove", "insert"])
def test_tampering_breaks_the_chain_at_the_event(
    demo_db: str, capsys: pytest.CaptureFixture[str], tampering: str
) -> None:
    cli = Cli(demo_db, capsys)
    for name in ("a", "b", "c"):
        assert cli("admin", "version", "copy", "2006-2007 approved", f"2006-2007 {name}") == 0
    with Workspace.open(demo_db) as ws:
        with ws.engine.connect() as connection:
            ids = list(connection.execute(text("SELECT id FROM audit_events ORDER BY id")).scalars())
        middle = ids[len(ids) // 2]
        statement = {
            "change": f"UPDATE audit_events SET username = 'someone.else' WHERE id = {middle}",
            "remove": f"DELETE FROM audit_events WHERE id = {middle}",
            "insert": f"UPDATE audit_events SET id = id + 1000000 WHERE id > {middle}",
        }[tampering]
        _superuser_write(ws, statement)
    assert cli("admin", "audit", "verify") == 1
    broken = middle if tampering == "change" else ids[ids.index(middle) + 1]
    if tampering == "insert":  # the events after the gap were moved: the first of them no longer matches its id
        broken += 1_000_000
    assert f"The audit trail is broken at event {broken}:" in cli.err


def test_init_puts_back_a_dropped_guard(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    from itu_plan.cli import main

    build_small_plan(workspace)
    with workspace.transaction() as session:
        audit.record(session, "tester", "note", "settings", "as_of")
    sqlite = workspace.engine.dialect.name == "sqlite"
    drop = (
        "DROP TRIGGER audit_events_no_delete"
        if sqlite
        else "DROP TRIGGER audit_events_append_only ON audit_events; DROP TRIGGER itu_plan_audit_cost_lines ON cost_lines"
    )
    with workspace.engine.begin() as connection:
        for statement in drop.split("; "):
            connection.exec_driver_sql(statement)
    assert main(["--db", workspace.url, "init"]) == 0
    said = capsys.readouterr().out
    assert "put back what guards the audit trail" in said
    assert ("audit_events_no_delete" if sqlite else "audit_events_append_only, itu_plan_audit_cost_lines") in said
    with pytest.raises(Exception, match="append-only"), workspace.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM audit_events")
    assert main(["--db", workspace.url, "init"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_raw_writes_on_postgresql_leave_an_event_naming_the_login(postgres: object) -> None:
    from tests.pg import PostgresServer

    assert isinstance(postgres, PostgresServer)
    url = postgres.new_database()
    with Workspace.open(url, user="tester", create=True) as ws:
        ws.init()
        build_small_plan(ws)
        with ws.engine.connect() as connection:
            newest = connection.execute(text("SELECT max(id) FROM audit_events")).scalar_one()
        with ws.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE cost_lines SET amount_centimes = amount_centimes + 100000000")
            connection.exec_driver_sql("DELETE FROM comments")
        with ws.reading() as session:
            events = [e for e in audit.list_events(session) if e.id > newest]
        assert [(e.action, e.table_name, e.login) for e in events] == [
            ("sql update", "cost_lines", "postgres"),
            ("sql delete", "comments", "postgres"),
        ]
        # a write through itu-plan leaves its own event, not a second "sql" one
        from itu_plan import editing
        from itu_plan.access import actor
        from tests.small_plan import travel

        with ws.transaction() as session:
            editing.update_cost_line(session, actor(session, "admin"), travel(), 1, {"amount": "1.00"})
        with ws.reading() as session:
            newest_events = audit.list_events(session)[-1:]
        assert [(e.action, e.table_name) for e in newest_events] == [("update", "cost_lines")]
        assert ws.verify_audit().whole


def test_on_postgresql_the_connection_decides_who_acts(postgres: object, capsys: pytest.CaptureFixture[str]) -> None:
    from itu_plan.cli import main
    from tests.pg import PostgresServer

    assert isinstance(postgres, PostgresServer)
    url = postgres.new_database()
    with Workspace.open(url, user="tester", create=True) as ws:
        ws.init()
        build_small_plan(ws)
        with ws.engine.begin() as connection:
            connection.exec_driver_sql('DO $$ BEGIN CREATE ROLE "planner.claims" LOGIN; '
                                       "EXCEPTION WHEN duplicate_object THEN NULL; END $$")  # fmt: skip
            connection.exec_driver_sql('GRANT itu_plan_reviewer TO "planner.claims"')  # CONNECT goes to the groups
        assert ws.user == "tester"  # a superuser acts as whoever it names
    as_planner = url.replace("postgres@", "planner.claims@")
    with Workspace.open(as_planner, user="admin") as ws, pytest.raises(PermissionDenied) as refused:
        _ = ws.user
    assert "logged in as planner.claims" in str(refused.value)
    assert main(["--db", as_planner, "--user", "admin", "version", "list"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("itu-plan: admin may not act in this workspace") and "Traceback" not in err
    for variable in ("ITU_PLAN_USER", "JUPYTERHUB_USER"):  # a claim in the environment is a claim too
        with pytest.MonkeyPatch.context() as env:
            env.setenv(variable, "admin")
            assert main(["--db", as_planner, "version", "list"]) == 3
            assert "admin may not act in this workspace" in capsys.readouterr().err
    with Workspace.open(as_planner) as ws:
        assert ws.user == "planner.claims"
