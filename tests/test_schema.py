"""The schema: migrations equal the models, constraints hold, the audit trail is append-only."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert, inspect, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from itu_plan import Workspace, store
from itu_plan.model import AuditEvent, Base, FundingSource, Member, Unit


def test_migrations_match_the_models(workspace: Workspace) -> None:
    from tests.bundles import schema_differences

    assert schema_differences(workspace, compare_type=True) == []


def test_every_model_table_is_created(workspace: Workspace) -> None:
    tables = set(inspect(workspace.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_head_constant_is_alembics_head() -> None:
    assert store.head_revision() == store.HEAD_REVISION


def test_init_is_idempotent(workspace: Workspace) -> None:
    head = store.head_revision()
    assert workspace.init() == (head, head)
    assert store.schema_is_current(workspace.engine)


def test_enumerations_are_checked_by_the_database(workspace: Workspace) -> None:
    with (
        pytest.raises(IntegrityError, match="ck_funding_sources_kind"),
        workspace.transaction() as s,
    ):
        s.add(FundingSource(code="X", name="X", kind="donation"))
    with (
        pytest.raises(IntegrityError, match="ck_members_state_region"),
        workspace.transaction() as s,
    ):
        s.add(Member(code="CHE", name="Switzerland", type="member_state", region=None))


def test_foreign_keys_are_enforced(workspace: Workspace) -> None:
    with pytest.raises(IntegrityError), workspace.transaction() as s:
        s.add(Unit(code="BR-X", name="Orphan", parent_id=999))


def test_business_keys_are_unique(workspace: Workspace) -> None:
    with workspace.transaction() as s:
        s.add(Unit(code="GS", name="General Secretariat"))
    with pytest.raises(IntegrityError), workspace.transaction() as s:
        s.add(Unit(code="GS", name="Again"))


def test_stale_update_is_refused(workspace: Workspace) -> None:
    with workspace.transaction() as s:
        s.add(Unit(code="GS", name="General Secretariat"))
    with workspace.transaction() as s:
        mine = s.scalars(select(Unit)).one()
    with workspace.transaction() as s:  # someone else saves first
        theirs = s.scalars(select(Unit)).one()
        theirs.name = "Secretariat"
    assert theirs.row_version == 2
    with pytest.raises(StaleDataError), workspace.transaction() as s:
        mine = s.merge(mine, load=False)
        mine.name = "Mine"


def test_audit_trail_is_append_only(workspace: Workspace) -> None:
    with workspace.transaction() as s:
        s.execute(
            insert(AuditEvent).values(at=dt.datetime.now(dt.UTC), username="u", action="create", table_name="units")
        )
    for statement in (update(AuditEvent).values(username="x"), AuditEvent.__table__.delete()):
        with pytest.raises(DBAPIError, match="append-only"), workspace.transaction() as s:
            s.execute(statement)
    with workspace.transaction() as s:
        assert s.scalars(select(AuditEvent.username)).all() == ["u"]


def test_sqlite_settings(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = store.make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == store.SQLITE_BUSY_TIMEOUT_MS


def test_postgres_uses_psycopg3(postgres) -> None:  # type: ignore[no-untyped-def]
    engine = store.make_engine(postgres.url().replace("+psycopg", ""))
    assert engine.dialect.driver == "psycopg"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1


def test_other_backends_are_refused() -> None:
    with pytest.raises(Exception, match="must be SQLite or PostgreSQL"):
        store.make_engine("mysql://u@h/db")


def test_upgrade_from_0001_reads_periods_from_names(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """An older workspace gets its versions' periods from their names; a version
    whose name has none stops the upgrade with its name and how to give one."""
    from alembic import command

    from itu_plan.errors import UsageError

    url = f"sqlite:///{tmp_path / 'old.db'}"
    workspace = Workspace.open(url, create=True)
    with workspace.engine.begin() as connection:
        command.upgrade(store._alembic_config(connection), "0001")
        connection.execute(
            text(
                "INSERT INTO plan_versions (name, status, row_version) VALUES "
                "('2006-2007 approved', 'approved', 1), ('2008 revised', 'draft', 1), ('Revision', 'draft', 1)"
            )
        )
    with pytest.raises(UsageError, match=r"'Revision' has no period in the name; .*--period \"Revision=2006-2007\""):
        workspace.init()
    assert not store.schema_is_current(workspace.engine), "a failed upgrade changes nothing"
    assert workspace.init({"Revision": (2008, 2009)}) == ("0001", store.HEAD_REVISION)
    with workspace.engine.connect() as connection:
        periods = connection.execute(text("SELECT name, first_year, last_year FROM plan_versions ORDER BY name"))
        assert [tuple(r) for r in periods] == [
            ("2006-2007 approved", 2006, 2007),
            ("2008 revised", 2008, 2008),
            ("Revision", 2008, 2009),
        ]
    workspace.close()
