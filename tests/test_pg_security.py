"""PostgreSQL enforces the permissions (itu_plan.pg_security): connected as a user's own
login role, raw SQL can do no more than the Python service layer lets that user do.

PostgreSQL only: on SQLite the permissions are Python's alone (tests/test_access.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from itu_plan import PermissionDenied, UsageError, Workspace, access, bulk, editing, versions
from itu_plan.bundle import import_bundle
from itu_plan.cli import main
from itu_plan.demo import USERS as DEMO_USERS
from itu_plan.demo import build_demo_workspace
from itu_plan.model import Activity, AuditEvent, CostLine
from itu_plan.pg_security import GROUPS, OWNER
from tests.pg import PostgresServer
from tests.small_plan import APPROVED, BARE, DRAFT, budget, build_small_plan, travel

pytestmark = pytest.mark.postgres


def login_url(url: str, role: str) -> str:
    """``url`` connecting as the login role ``role`` (the test cluster trusts every role by name)."""
    return make_url(url).set(username=role).render_as_string(hide_password=False)


@pytest.fixture
def plan_url(postgres: PostgresServer) -> Iterator[str]:
    """A PostgreSQL workspace holding the small plan, set up by a database administrator."""
    url = postgres.new_database()
    with Workspace.open(url, user="admin", create=True) as ws:
        ws.init()
        build_small_plan(ws)
    yield url


@pytest.fixture
def as_login(plan_url: str) -> Iterator[Callable[[str], Engine]]:
    """Engines connected as login roles, disposed of after the test."""
    engines: list[Engine] = []

    def connect(role: str) -> Engine:
        engine = create_engine(login_url(plan_url, role))
        engines.append(engine)
        return engine

    yield connect
    for engine in engines:
        engine.dispose()


def _one(engine: Engine, sql: str, **params: object) -> object:
    with engine.begin() as c:
        return c.execute(text(sql), params).scalar()


def _rows(engine: Engine, sql: str, **params: object) -> int:
    with engine.begin() as c:
        return int(c.execute(text(sql), params).rowcount)


def _refused(engine: Engine, sql: str, **params: object) -> str:
    """The SQLSTATE of the database's refusal of ``sql``."""
    with pytest.raises(DBAPIError) as caught, engine.begin() as c:
        c.execute(text(sql), params)
    return str(caught.value.orig.sqlstate)  # type: ignore[union-attr]


def _line_id(url: str, activity: str, version: str, category: str = "travel") -> int:
    with create_engine(url).connect() as c:
        return int(
            c.execute(
                text(
                    "SELECT l.id FROM cost_lines l JOIN activities a ON a.id = l.activity_id "
                    "JOIN plan_versions v ON v.id = l.version_id WHERE a.code = :a AND v.name = :v AND category = :c"
                ),
                {"a": activity, "v": version, "c": category},
            ).scalar_one()
        )


# -- raw SQL as a planner -------------------------------------------------------------------------


def test_a_planner_writes_only_draft_lines_of_their_units(plan_url: str, as_login: Callable[[str], Engine]) -> None:
    planner = as_login("planner.tsb")
    theirs = _line_id(plan_url, "TSB-SGD-001", DRAFT)
    other = _line_id(plan_url, "BDT-AFR-001", DRAFT)
    approved = _line_id(plan_url, "TSB-SGD-001", APPROVED)
    set_amount = "UPDATE cost_lines SET amount_centimes = amount_centimes + 100000000 WHERE id = :id"
    assert _rows(planner, set_amount, id=theirs) == 1
    assert _rows(planner, set_amount, id=other) == 0
    assert _rows(planner, set_amount, id=approved) == 0
    assert _rows(planner, "DELETE FROM cost_lines WHERE id = :id", id=other) == 0
    assert _rows(planner, "DELETE FROM cost_lines WHERE id = :id", id=approved) == 0
    assert _rows(planner, "UPDATE budget_lines SET amount_centimes = 0") == 4  # TSB-SGD lines of the two drafts
    copy_into = (
        "INSERT INTO cost_lines (version_id, activity_id, year, category, amount_centimes, funding_source_id, "
        "row_version) SELECT (SELECT id FROM plan_versions WHERE name = :v), activity_id, 2007, category, 1, "
        "funding_source_id, 1 FROM cost_lines WHERE id = :id"
    )
    assert _refused(planner, copy_into, v=DRAFT, id=other) == "42501"  # another unit
    assert _refused(planner, copy_into, v=APPROVED, id=theirs) == "42501"  # an approved version
    assert _rows(planner, copy_into, v=DRAFT, id=theirs) == 1
    # moving their line to another unit's activity is refused too
    assert (
        _refused(
            planner,
            "UPDATE cost_lines SET activity_id = (SELECT id FROM activities WHERE code = 'BDT-AFR-001') WHERE id = :id",
            id=theirs,
        )
        == "42501"
    )
    with create_engine(plan_url).connect() as c:
        amounts: dict[int, int] = dict(
            c.execute(
                text("SELECT id, amount_centimes FROM cost_lines WHERE id IN (:a, :b)"), {"a": other, "b": approved}
            ).all()
        )
    assert amounts == {other: 15_000_00, approved: 10_000_00}


RAW_REFUSALS = {
    "approve a version": "UPDATE plan_versions SET status = 'approved'",
    "make oneself admin": "UPDATE users SET role = 'admin' WHERE username = 'planner.tsb'",
    "take another unit": "INSERT INTO user_units SELECT u.id, n.id FROM users u, units n "
    "WHERE u.username = 'planner.tsb' AND n.code = 'BDT'",
    "delete the audit trail": "DELETE FROM audit_events",
    "rewrite the audit trail": "UPDATE audit_events SET username = 'someone'",
    "truncate the audit trail": "TRUNCATE audit_events",
    "disable the audit trigger": "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
    "drop the audit trigger": "DROP TRIGGER audit_events_append_only ON audit_events",
    "replace the audit function": "CREATE OR REPLACE FUNCTION audit_events_refuse() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
    "drop a policy": "DROP POLICY writer_update ON cost_lines",
    "disable row-level security": "ALTER TABLE cost_lines DISABLE ROW LEVEL SECURITY",
    "skip triggers": "SET session_replication_role = replica",
    "become the owner": f"SET ROLE {OWNER}",
    "become an admin": f"SET ROLE {GROUPS['admin']}",
    "create a table": "CREATE TABLE mine (i integer)",
    "create a temporary table": "CREATE TEMP TABLE mine (i integer)",
    "change the settings": "INSERT INTO settings VALUES ('as_of', '2030-01-01')",
    "write execution data": "INSERT INTO income (reference, date, funding_source_id, amount_centimes) "
    "SELECT 'X', '2006-01-01', id, 100 FROM funding_sources LIMIT 1",
    "create a version": "INSERT INTO plan_versions (name, status, first_year, last_year, row_version) "
    "VALUES ('mine', 'approved', 2006, 2007, 1)",
    "write the income budget": "INSERT INTO income_budget (version_id, year, funding_source_id, amount_centimes, "
    "row_version) SELECT v.id, 2006, f.id, 1, 1 FROM plan_versions v, funding_sources f WHERE v.name = "
    f"'{DRAFT}' LIMIT 1",
    "approve through the function as someone else": f"SELECT itu_plan_approve('{DRAFT}', 'admin')",
    "submit through the function": f"SELECT itu_plan_submit('{DRAFT}')",
}


@pytest.mark.parametrize("sql", RAW_REFUSALS.values(), ids=RAW_REFUSALS.keys())
def test_raw_sql_a_planner_may_not_run(plan_url: str, as_login: Callable[[str], Engine], sql: str) -> None:
    planner = as_login("planner.tsb")
    with create_engine(plan_url).connect() as c:
        events = c.execute(select(func.count()).select_from(AuditEvent)).scalar()
    assert _refused(planner, sql) == "42501"
    with create_engine(plan_url).connect() as c:
        assert c.execute(select(func.count()).select_from(AuditEvent)).scalar() == events
        assert c.execute(text("SELECT role FROM users WHERE username = 'planner.tsb'")).scalar() == "planner"


def test_everyone_reads_and_records_audit_events(as_login: Callable[[str], Engine]) -> None:
    reviewer = as_login("reviewer")
    assert _one(reviewer, "SELECT count(*) FROM cost_lines") == 32
    assert _refused(reviewer, "UPDATE activities SET title = 'x'") == "42501"
    assert (
        _rows(
            reviewer,
            "INSERT INTO audit_events (at, username, action, table_name) VALUES (now(), 'reviewer', 'denied', 'x')",
        )
        == 1
    )


# -- the workflow functions -------------------------------------------------------------------------


def _within_envelope(url: str) -> None:
    """As test_versions: the draft's BDT-AFR staff budget lowered by the CHF 5,000 its travel
    went up (a change of CHF 15,000 in BDT-AFR, the budget total unchanged)."""
    with Workspace.open(url, user="admin") as ws, ws.transaction() as s:
        key = budget(category="staff")
        line = editing.find_budget_line(s, key)
        editing.update_budget_line(s, access.actor(s, "admin"), key, line.row_version, {"amount": "85000"})


def _submit(url: str, username: str, name: str = DRAFT) -> None:
    with Workspace.open(url, user=username) as ws, ws.transaction() as s:
        versions.submit(s, access.actor(s, username), name)


def test_the_database_applies_the_delegation_limit(plan_url: str, as_login: Callable[[str], Engine]) -> None:
    _within_envelope(plan_url)
    _submit(plan_url, "admin")
    approve = f"SELECT itu_plan_approve('{DRAFT}')"
    with pytest.raises(DBAPIError) as caught, as_login("manager.small").begin() as c:
        c.execute(text(approve))
    assert caught.value.orig.sqlstate == "42501"  # type: ignore[union-attr]
    assert "manager.small may not approve 2006-2007 draft: its change is more than their delegation limit" in str(
        caught.value
    )
    assert "change against 2006-2007 approved CHF 15,000.00; delegation limit CHF 1,000.00" in str(caught.value)
    assert _one(as_login("manager.bdt"), approve) == [APPROVED]
    statuses: dict[str, str] = dict(
        create_engine(plan_url).connect().execute(text("SELECT name, status FROM plan_versions")).all()
    )
    assert (statuses[DRAFT], statuses[APPROVED]) == ("approved", "superseded")


#: Each case of the delegation rule: (submitter, approver, within the envelope?, version).
DELEGATION = {
    "second person": ("manager.bdt", "manager.bdt", True, DRAFT),
    "admin": ("manager.bdt", "admin", False, DRAFT),
    "no base": ("admin", "manager.bdt", True, BARE),
    "units outside": ("admin", "manager.br", True, DRAFT),
    "total raised": ("admin", "manager.bdt", False, DRAFT),
    "over limit": ("admin", "manager.small", True, DRAFT),
    "within limit": ("admin", "manager.bdt", True, DRAFT),
}


@pytest.mark.parametrize("case", DELEGATION.values(), ids=DELEGATION.keys())
def test_python_on_sqlite_and_the_database_decide_alike(
    case: tuple[str, str, bool, str], plan_url: str, as_login: Callable[[str], Engine], tmp_path: Path
) -> None:
    submitter, approver, within, name = case
    sqlite_url = f"sqlite:///{tmp_path / 'plan.db'}"
    with Workspace.open(sqlite_url, user="admin", create=True) as ws:
        ws.init()
        build_small_plan(ws)
    decisions = []
    for url in (sqlite_url, plan_url):
        if within:
            _within_envelope(url)
        _submit(url, submitter, name)
    with Workspace.open(sqlite_url, user=approver) as ws, ws.transaction() as s:
        try:
            versions.approve(s, access.actor(s, approver), name)
            decisions.append("approved")
        except PermissionDenied:
            decisions.append("refused")
    try:  # the login role calls the function itself, bypassing Python
        _one(as_login(approver), "SELECT itu_plan_approve(:v)", v=name)
        decisions.append("approved")
    except DBAPIError as exc:
        assert exc.orig.sqlstate == "42501", exc  # type: ignore[union-attr]
        assert str(exc.orig).startswith(f"{approver} may not approve {name}: ")
        decisions.append("refused")
    expected = "approved" if approver == "admin" or case == DELEGATION["within limit"] else "refused"
    assert decisions == [expected, expected]


# -- the Python workflow, connected as the login roles ---------------------------------------------------


def test_the_workflow_through_python_as_the_login_roles(plan_url: str, tmp_path: Path) -> None:
    def open_as(role: str) -> Workspace:
        return Workspace.open(login_url(plan_url, role), user=role)

    with open_as("planner.bdt") as ws:  # copying writes every unit's lines: through the function
        with ws.transaction() as s:
            versions.copy_version(s, access.actor(s, "planner.bdt"), APPROVED, "2006-2007 revision")
        key = travel(version="2006-2007 revision")
        with ws.transaction() as s:
            line = editing.find_cost_line(s, key)
            editing.update_cost_line(s, access.actor(s, "planner.bdt"), key, line.row_version, {"amount": "10500"})
        with pytest.raises(PermissionDenied), ws.transaction() as s:  # Python refuses first
            other = travel("TSB-SGD-001", version="2006-2007 revision")
            line = editing.find_cost_line(s, other)
            editing.update_cost_line(s, access.actor(s, "planner.bdt"), other, line.row_version, {"amount": "1"})
    with open_as("manager.bdt") as ws, ws.transaction() as s:
        versions.submit(s, access.actor(s, "manager.bdt"), "2006-2007 revision")
    with (
        open_as("manager.bdt") as ws,
        pytest.raises(PermissionDenied, match="approval takes a second person"),
        ws.transaction() as s,
    ):
        versions.approve(s, access.actor(s, "manager.bdt"), "2006-2007 revision")
    with open_as("admin") as ws:
        with ws.transaction() as s:
            approval = versions.approve(s, access.actor(s, "admin"), "2006-2007 revision")
        assert approval.superseded == [APPROVED]
        assert approval.change.amount_centimes == 500_00
        actuals = tmp_path / "actuals.csv"
        actuals.write_text(
            "reference,date,unit_code,activity_code,objective_code,category,amount,funding_source_code\n"
            "A-1,2006-03-01,BDT-AFR,BDT-AFR-001,,travel,400.00,RB-MS\n"
        )
        import_bundle(ws, actuals)
        lines = tmp_path / "cost_lines.csv"  # an admin's import of plan data passes row-level security
        lines.write_text(
            "version,activity_code,year,category,grade,work_months,amount,funding_source_code\n"
            f"{DRAFT},BDT-PKM-001,2007,travel,,,700.00,RB-MS\n"
        )
        import_bundle(ws, lines)
        with ws.reading() as s:
            events = [
                (e.username, e.action, e.record_key) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))
            ]
            assert s.scalar(select(func.count()).select_from(CostLine).where(CostLine.year == 2007)) == 1
    assert ("planner.bdt", "copy", "2006-2007 revision") in events
    assert ("admin", "approve", "2006-2007 revision") in events
    assert ("admin", "import", "actuals.csv") in events
    assert ("admin", "import", "cost_lines.csv") in events


# -- users and their login roles -------------------------------------------------------------------


def _memberships(url: str, role: str) -> list[str]:
    with create_engine(url).connect() as c:
        return list(
            c.execute(
                text(
                    "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                    "JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = :r ORDER BY 1"
                ),
                {"r": role},
            ).scalars()
        )


def test_users_add_makes_the_login_role(plan_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    admin = login_url(plan_url, "admin")  # an admin's login (not a superuser) creates roles through the trigger
    assert (
        main(["--db", admin, "--user", "admin", "users", "add", "pl.rls", "--role", "planner", "--units", "TSB"]) == 0
    )
    assert capsys.readouterr().out == "Added pl.rls as a planner for TSB.\n"
    assert _memberships(plan_url, "pl.rls") == [GROUPS["planner"]]
    with create_engine(login_url(plan_url, "pl.rls")).connect() as c:  # and it logs in
        assert c.execute(text("SELECT session_user")).scalar() == "pl.rls"
    with create_engine(plan_url).begin() as c:  # a role change moves the login to the one new group
        c.execute(text("UPDATE users SET role = 'reviewer' WHERE username = 'pl.rls'"))
    assert _memberships(plan_url, "pl.rls") == [GROUPS["reviewer"]]
    assert main(["--db", admin, "--user", "admin", "users", "list"]) == 0
    assert "pl.rls" in capsys.readouterr().out
    # the database's own names are not for users
    assert main(["--db", admin, "--user", "admin", "users", "add", "pg_mine", "--role", "reviewer"]) == 2
    assert "pg_mine is reserved for the database's own roles" in capsys.readouterr().err


def test_the_demo_creates_its_users_roles(postgres: PostgresServer) -> None:
    url = postgres.new_database()
    with Workspace.open(url, user="demo.dba") as ws:
        build_demo_workspace(ws, progress=False)
    for username, role, _, _ in DEMO_USERS:
        assert _memberships(url, username) == [GROUPS[role]], username
    assert _memberships(url, "demo.dba") == [GROUPS["admin"]]


def test_init_as_someone_else_than_an_administrator_says_so(postgres: PostgresServer) -> None:
    url = postgres.new_database()
    with create_engine(postgres.url()).begin() as c:
        c.execute(
            text(
                "DO $$ BEGIN CREATE ROLE itu_test_schema_owner LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
        )
    database = make_url(url).database
    with create_engine(url).begin() as c:
        c.execute(text(f'GRANT ALL ON DATABASE "{database}" TO itu_test_schema_owner'))
        c.execute(text("GRANT ALL ON SCHEMA public TO itu_test_schema_owner"))
    with (
        Workspace.open(login_url(url, "itu_test_schema_owner"), user="itu_test_schema_owner") as ws,
        pytest.raises(UsageError) as caught,
    ):
        ws.init()
    assert "run `itu-plan init` as a database administrator (a PostgreSQL superuser)" in str(caught.value)
    assert "the role" in str(caught.value) or "tables not owned by itu_plan_owner" in str(caught.value)


def test_init_is_idempotent_and_puts_back_what_was_taken(plan_url: str, as_login: Callable[[str], Engine]) -> None:
    with create_engine(plan_url).begin() as c:
        c.execute(text("ALTER TABLE cost_lines DISABLE ROW LEVEL SECURITY"))
        c.execute(text("GRANT UPDATE ON plan_versions TO itu_plan_planner"))
    with Workspace.open(plan_url, user="admin") as ws:
        ws.init()
        ws.init()
    planner = as_login("planner.tsb")
    assert (
        _rows(
            planner,
            "UPDATE cost_lines SET amount_centimes = 0 WHERE id = :id",
            id=_line_id(plan_url, "BDT-AFR-001", DRAFT),
        )
        == 0
    )
    assert _refused(planner, "UPDATE plan_versions SET status = 'approved'") == "42501"


def test_bulk_loads_pass_row_level_security(plan_url: str, as_login: Callable[[str], Engine]) -> None:
    """Where row-level security applies COPY is refused: the loader INSERTs arrays instead,
    with the same values (dates as ISO text, a column of NULLs)."""
    columns = ["code", "title", "objective_id", "unit_id", "start_date", "end_date", "status", "owner", "row_version"]
    with create_engine(plan_url).connect() as c:
        unit = c.execute(text("SELECT id FROM units WHERE code = 'BDT-PKM'")).scalar_one()
        objective = c.execute(text("SELECT id FROM objectives WHERE code = 'ITU-D.1'")).scalar_one()
    rows = [
        (f"BULK-{i}", f"Bulk {i}", objective, unit, "2006-01-0" + str(i + 1), None, None, None, 1) for i in range(3)
    ]
    with as_login("planner.bdt").begin() as c:
        assert bulk.bulk_insert(c, Activity.__table__, columns, rows, plain=True) == 3  # type: ignore[arg-type]
    with as_login("planner.tsb").begin() as c, pytest.raises(psycopg.errors.InsufficientPrivilege):
        bulk.bulk_insert(c, Activity.__table__, columns, [("BULK-X", "X", objective, unit, None, None, None, None, 1)])  # type: ignore[arg-type]
    with create_engine(plan_url).connect() as c:
        stored = c.execute(
            text("SELECT code, start_date::text, end_date FROM activities WHERE code LIKE 'BULK-%' ORDER BY 1")
        )
        assert stored.all() == [
            ("BULK-0", "2006-01-01", None),
            ("BULK-1", "2006-01-02", None),
            ("BULK-2", "2006-01-03", None),
        ]


def test_the_command_line_reports_the_databases_refusals(plan_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    # the admin's login has lost its group (say a database administrator moved it by hand):
    # Python, reading the users table, lets the admin add a user; the database refuses
    with create_engine(plan_url).begin() as c:
        c.execute(text(f"REVOKE {GROUPS['admin']} FROM admin"))
        c.execute(text(f"GRANT {GROUPS['reviewer']} TO admin"))
    admin = login_url(plan_url, "admin")
    assert main(["--db", admin, "--user", "admin", "users", "add", "newcomer", "--role", "reviewer"]) == 3
    err = capsys.readouterr().err
    assert err == "itu-plan: the database refused the request of admin: permission denied for table users\n"
    with create_engine(plan_url).begin() as c:  # as it was, for the other tests of this cluster
        c.execute(text(f"REVOKE {GROUPS['reviewer']} FROM admin"))
        c.execute(text(f"GRANT {GROUPS['admin']} TO admin"))


def test_an_admin_login_has_limits_too(plan_url: str, as_login: Callable[[str], Engine]) -> None:
    admin = as_login("admin")
    assert _refused(admin, "UPDATE plan_versions SET status = 'approved'") == "42501"  # only through the functions
    assert _refused(admin, "TRUNCATE audit_events") == "42501"
    assert _refused(admin, "ALTER TABLE cost_lines DISABLE ROW LEVEL SECURITY") == "42501"
    approved = _line_id(plan_url, "BDT-AFR-001", APPROVED)
    assert _rows(admin, "UPDATE cost_lines SET amount_centimes = 0 WHERE id = :id", id=approved) == 0
    assert _rows(admin, "UPDATE settings SET value = value") == 0  # the small plan has no settings: allowed
    assert _rows(admin, "UPDATE plan_versions SET name = name || ' (renamed)' WHERE name = :v", v=BARE) == 1
