"""Engines, sessions and schema migrations for SQLite and PostgreSQL.

Nothing here runs at import: engines are made when asked for, one per URL.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from itu_plan.errors import UsageError

DEFAULT_URL = "sqlite:///itu_plan.db"
#: Milliseconds a SQLite writer waits for another writer's lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000


def resolve_url(url: str | None = None) -> str:
    """The workspace URL: the argument, else ``ITU_PLAN_DB``, else ``sqlite:///itu_plan.db``."""
    return url or os.environ.get("ITU_PLAN_DB") or DEFAULT_URL


def is_postgresql(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database (False for anything unparseable)."""
    try:
        return make_url(url).get_backend_name() == "postgresql"
    except ArgumentError:
        return False


def absolute_url(url: str) -> str:
    """``url`` with a relative SQLite path made absolute (from the current folder)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        path = os.path.abspath(parsed.database)
        return parsed.set(database=path).render_as_string(hide_password=False)
    return url


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide when transactions begin (see the
    # "Serializable isolation / Savepoints / Transactional DDL" recipe of the
    # SQLAlchemy SQLite dialect documentation).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _sqlite_read_only_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # A read-only connection changes nothing, not even the journal mode (see ``read_only_mode``)
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA query_only = ON")
    finally:
        cursor.close()


def read_only_mode(path: Path) -> str | None:
    """How this process can open the SQLite file at ``path``: None to read and write it;
    ``"ro"`` when it may only read it (the file, or the folder that must hold its WAL
    journal files, is not writable for this user); ``"immutable"`` when in addition no
    ``-shm`` file exists or can be made beside it, so that SQLite must read the file
    without the WAL's shared memory: it then assumes that nobody changes the file while
    it is open (a write by its owner meanwhile may not be seen, or be seen half-done),
    and is used only when there is no ``-wal`` journal holding changes the file lacks.
    A file that cannot be read at all is left to SQLite to report."""
    if not path.exists() or not os.access(path, os.R_OK):
        return None
    folder = path.parent
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    folder_writable = os.access(folder, os.W_OK | os.X_OK)
    journals_writable = all(p.exists() and os.access(p, os.R_OK | os.W_OK) for p in (wal, shm))
    if os.access(path, os.W_OK) and (folder_writable or journals_writable):
        return None
    if folder_writable or shm.exists() or (wal.exists() and wal.stat().st_size > 0):
        return "ro"
    return "immutable"


def read_only(engine: Engine) -> bool:
    """Whether ``engine`` opens its SQLite file read-only (see :func:`read_only_mode`)."""
    return engine.url.get_backend_name() == "sqlite" and engine.url.query.get("mode") == "ro"


def _sqlite_on_begin(connection: Connection) -> None:
    # Writers begin IMMEDIATE (see ``writer``): they take the write lock at
    # BEGIN and queue on the busy timeout, instead of failing later with
    # "database is locked" when a read lock cannot be upgraded. Readers begin
    # deferred and never wait (WAL lets them read beside a writer).
    options = connection.get_execution_options()
    # Foreign keys can only be switched outside a transaction: a bulk loader
    # that resolves every reference itself, under the write lock, may skip
    # SQLite's per-row parent lookups (``sqlite_foreign_keys=False``).
    enforce = "ON" if options.get("sqlite_foreign_keys", True) else "OFF"
    connection.exec_driver_sql(f"PRAGMA foreign_keys = {enforce}")
    connection.exec_driver_sql(f"BEGIN {options.get('sqlite_begin', 'DEFERRED')}")


def writer(engine: Engine, *, check_references: bool = True) -> Engine:
    """``engine`` configured for write transactions (BEGIN IMMEDIATE on SQLite).

    ``check_references=False`` is for bulk loaders that have resolved every
    reference themselves: SQLite then skips its foreign-key lookups.
    """
    return engine.execution_options(sqlite_begin="IMMEDIATE", sqlite_foreign_keys=check_references)


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the settings the workspace relies on.

    SQLite: WAL journal, foreign keys enforced, a busy timeout, transactions
    begun by SQLAlchemy; a file this user may not write is opened read-only (see
    :func:`read_only_mode`). PostgreSQL: the psycopg 3 driver, pre-ping.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UsageError(f"{url!r} is not a database URL: {exc}") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        mode = None
        if parsed.database not in (None, "", ":memory:") and not parsed.query.get("uri"):
            path = Path(parsed.database)
            mode = read_only_mode(path)
            if mode is not None:  # open it read-only, as a URI: file:PATH?mode=ro
                location = "file:" + urllib.parse.quote(str(path.absolute()), safe="/")
                options = {"mode": "ro", "uri": "true", **({"immutable": "1"} if mode == "immutable" else {})}
                parsed = parsed.set(database=location, query=options)
        engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_on_connect if mode is None else _sqlite_read_only_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise UsageError(f"the workspace database must be SQLite or PostgreSQL, not {backend!r} ({url})")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


# -- migrations ---------------------------------------------------------------------


def _alembic_config(connection: Connection | None = None, **attributes: Any) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("itu_plan") / "migrations"))
    if connection is not None:
        config.attributes["connection"] = connection
    config.attributes.update(attributes)
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine, periods: dict[str, tuple[int, int]] | None = None) -> tuple[str | None, str]:
    """Bring the schema to the newest revision; returns (before, after). Idempotent.

    ``periods`` gives the period of versions whose names carry none (revision
    0002 reads the period of the others from their names); a version left
    without one stops the upgrade (``UsageError``) and nothing changes.
    """
    from alembic import command

    with engine.begin() as connection:
        before = current_revision(connection)
        try:
            command.upgrade(_alembic_config(connection, periods=periods or {}), "head")
        except Exception as exc:
            if type(exc).__name__ == "MissingPeriod":
                raise UsageError(str(exc)) from None
            raise
        after = current_revision(connection)
    assert after is not None
    return before, after


#: The newest migration; a test keeps it equal to Alembic's head, so that checking
#: a workspace's schema costs one query and no Alembic import.
HEAD_REVISION = "0003"


def schema_is_current(engine: Engine) -> bool:
    with engine.connect() as connection:
        try:
            stored = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        except DBAPIError:
            return False
    return stored == [HEAD_REVISION]


def session_login(engine: Engine) -> tuple[str, bool]:
    """Who a PostgreSQL engine's connections log in as (``session_user``), and whether
    that login is a superuser."""
    with engine.connect() as connection:
        login, superuser = connection.execute(
            text("SELECT session_user, rolsuper FROM pg_catalog.pg_roles WHERE rolname = session_user")
        ).one()
    return str(login), bool(superuser)


def has_tables(engine: Engine) -> bool:
    return bool(inspect(engine).get_table_names())


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session
