"""The ``Workspace`` facade: what notebooks, widgets, the CLI and tests hold on to."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from itu_plan import live, store
from itu_plan.errors import ReadOnlyWorkspace, UsageError
from itu_plan.model import CONTENT_TABLES, Setting

AS_OF_KEY = "as_of"

if TYPE_CHECKING:
    import pandas as pd

    from itu_plan.reports.warnings import EarlyWarning


def claimed_user(user: str | None = None) -> str | None:
    """The user someone claims to be: the argument, else ``ITU_PLAN_USER``, else
    ``JUPYTERHUB_USER``; None when nobody claims anything."""
    for candidate in (user, os.environ.get("ITU_PLAN_USER"), os.environ.get("JUPYTERHUB_USER")):
        if candidate:
            return candidate
    return None


def os_login() -> str:
    """The OS login name ("local" when there is none, e.g. an anonymous container uid)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "local"


def resolve_user(user: str | None = None) -> str:
    """The acting user as claimed: the argument, else ``ITU_PLAN_USER``, ``JUPYTERHUB_USER``,
    the OS login. On PostgreSQL the connection has the last word (:attr:`Workspace.user`)."""
    return claimed_user(user) or os_login()


class Workspace:
    """One planning workspace: a database, and the user acting on it.

    >>> ws = Workspace.open("sqlite:///plan.db", user="planner.tsb")  # doctest: +SKIP
    """

    def __init__(self, url: str, user: str | None, engine: Engine) -> None:
        self.url = url
        self.engine = engine
        self._claim = user
        self._user: str | None = None
        #: the guards the last :meth:`init` had to put back
        self.restored: list[str] = []
        self._writes: sessionmaker[Session] = store.make_sessionmaker(store.writer(engine))
        self._bulk_writes: sessionmaker[Session] = store.make_sessionmaker(store.writer(engine, check_references=False))
        self._reads: sessionmaker[Session] = store.make_sessionmaker(engine)

    @classmethod
    def open(cls, url: str | None = None, user: str | None = None, *, create: bool = False) -> Workspace:
        """Open the workspace at ``url`` (default: ``ITU_PLAN_DB``, else ``sqlite:///itu_plan.db``).

        A SQLite file that does not exist is an error unless ``create`` is true,
        so a mistyped path never leaves an empty workspace behind.
        """
        url = store.resolve_url(url)
        path = sqlite_path(url)
        if path is not None and not path.exists():
            if not create:
                raise UsageError(
                    f"there is no workspace at {path}; create one with `itu-plan init` "
                    "or `itu-plan demo`, or name another with --db"
                )
            _create_private(path)
        return cls(url, claimed_user(user), store.make_engine(url))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        url = make_url(self.url).render_as_string(hide_password=True)
        return f"Workspace({url!r}, user={self._user or self._claim or os_login()!r})"

    # -- who is acting -------------------------------------------------------------------

    @property
    def user(self) -> str:
        """The user acting on the workspace.

        SQLite is the single-person workspace: the user is who they say they are
        (``--user``, ``ITU_PLAN_USER``, ``JUPYTERHUB_USER``, else the OS login); the
        file's permissions are what protects it. On PostgreSQL the connection decides:
        a login that is not a superuser acts as itself (``session_user``), and claiming
        to be anyone else is refused (``PermissionDenied``, exit 3); a superuser (a
        database administrator, who could ``SET SESSION AUTHORIZATION`` anyway) acts as
        whoever it names.
        """
        if self._user is None:
            self._user = self._identify()
        return self._user

    @user.setter
    def user(self, name: str) -> None:
        self._claim, self._user = name, None

    @property
    def login(self) -> str:
        """Who is connected: ``session_user`` on PostgreSQL, the OS login on SQLite."""
        if self.engine.dialect.name != "postgresql":
            return os_login()
        return store.session_login(self.engine)[0]

    def _identify(self) -> str:
        if self.engine.dialect.name != "postgresql":
            return self._claim or os_login()
        login, superuser = store.session_login(self.engine)
        if superuser:
            return self._claim or login
        if self._claim is not None and self._claim != login:
            from itu_plan.errors import PermissionDenied

            raise PermissionDenied(
                self._claim,
                "act in this workspace",
                f"the database connection is logged in as {login}, and on PostgreSQL the connection "
                f"decides who acts (connect as {self._claim} to act as {self._claim})",
            )
        return login

    # -- sessions and schema ------------------------------------------------------

    @property
    def read_only(self) -> bool:
        """Whether the workspace is open read-only: a SQLite file (or folder) this user
        may not write. Reports and reading work; every write is refused."""
        return store.read_only(self.engine)

    def require_writable(self) -> None:
        """Refuse a change to a read-only workspace (``ReadOnlyWorkspace``, exit 3)."""
        if self.read_only:
            path = sqlite_path(self.url)
            raise ReadOnlyWorkspace(str(path.absolute()) if path else self.url)

    @contextmanager
    def transaction(self, *, check_references: bool = True) -> Iterator[Session]:
        """A session in one write transaction: committed on success, rolled back on error.

        ``check_references=False`` is for loaders that resolve every reference
        themselves (the bundle importer): SQLite then skips its per-row
        foreign-key lookups. PostgreSQL always checks. A read-only workspace refuses
        (``ReadOnlyWorkspace``).
        """
        self.require_writable()
        with store.transaction(self._writes if check_references else self._bulk_writes) as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reading: one consistent snapshot, never waits for writers."""
        with store.transaction(self._reads) as session:
            yield session

    def init(self, periods: dict[str, tuple[int, int]] | None = None) -> tuple[str | None, str]:
        """Create or upgrade the schema to the newest revision (idempotent).

        ``periods``: {version name: (first year, last year)} for versions of an
        older workspace whose names carry no period. On PostgreSQL it also sets up the
        permissions the database enforces (:mod:`itu_plan.pg_security`), which needs a
        database administrator.
        """
        self.require_writable()
        before, after = store.upgrade(self.engine, periods)
        self.restored = self.protect()
        return before, after

    def protect(self) -> list[str]:
        """Install the database's guards where they are missing (the audit trail's
        triggers, see :mod:`itu_plan.guard`); returns the names of those put back. On
        PostgreSQL also the permissions the database enforces (:mod:`itu_plan.pg_security`),
        which needs a database administrator: anyone else is told what is missing."""
        from itu_plan import guard, pg_security

        self.require_writable()
        with self.engine.begin() as connection:
            if not pg_security.may_set_up(connection):
                return []  # a login that is not a superuser, and everything is in place
            restored = guard.ensure(connection)
            live.ensure_notify(connection)
            pg_security.ensure(connection)  # PostgreSQL only: roles, grants, row-level security, functions
        return restored

    def missing_guards(self) -> list[str]:
        """The audit trail's triggers that are missing or disabled (see :mod:`itu_plan.guard`)."""
        from itu_plan import guard

        with self.engine.connect() as connection:
            return guard.missing(connection)

    def verify_audit(self) -> Any:
        """Check the audit trail's hash chain (an :class:`itu_plan.audit.ChainCheck`)."""
        from itu_plan import audit

        with self.engine.connect() as connection:
            return audit.verify(connection)

    def require_schema(self) -> None:
        """Refuse to work on a database whose schema is missing or out of date."""
        if not store.schema_is_current(self.engine):
            raise UsageError(f"the workspace schema at {self} is missing or out of date; run `itu-plan init`")

    def require_user(self) -> None:
        """Refuse a user who is not defined in a workspace that has users."""
        from itu_plan.access import role_of

        with self.reading() as session:
            role_of(session, self.user)

    # -- content ------------------------------------------------------------------------

    def last_change(self) -> int:
        """A number that goes up with every write anyone saves: the id of the newest
        audit event (every write appends one in its own transaction), refusals aside.
        0 for a workspace nobody has written to. One index lookup: cheap to poll."""
        from itu_plan.model import AuditEvent

        query = select(AuditEvent.id).where(AuditEvent.action != "denied").order_by(AuditEvent.id.desc()).limit(1)
        with self.engine.connect() as connection:
            return connection.execute(query).scalar() or 0

    def watcher(self) -> live.ChangeWatcher:
        """A :class:`~itu_plan.live.ChangeWatcher`: wakes soon after someone saves (PostgreSQL
        notifies it); on SQLite it only waits, and :meth:`last_change` is polled."""
        return live.ChangeWatcher(self.engine)

    def table_counts(self) -> dict[str, int]:
        """Rows per content table (the audit trail excluded)."""
        with self.engine.connect() as conn:
            return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in CONTENT_TABLES}

    def is_empty(self) -> bool:
        return not any(self.table_counts().values())

    def checksum(self) -> str:
        """A SHA-256 over every content table, row by row in key order.

        Equal checksums mean equal content (the audit trail aside), whatever
        the backend; two demo runs with the same seed give the same checksum.
        """
        digest = hashlib.sha256()
        with self.engine.connect() as conn:
            for table in CONTENT_TABLES:
                digest.update(f"\x1e{table.name}\x1f".encode())
                order = list(table.primary_key.columns)
                result = conn.execution_options(yield_per=10_000).execute(select(table).order_by(*order))
                for row in result:
                    digest.update(_canonical(row).encode())
        return digest.hexdigest()

    # -- reports ---------------------------------------------------------------------------

    def report_table(self, name: str, options: Any = None) -> Any:
        """The exact result table of report ``name`` (see :mod:`itu_plan.reports`)."""
        from itu_plan import reports

        with self.engine.connect() as connection:
            return reports.run(connection, name, options or reports.make_options())

    def report(self, name: str, *, scenario: dict[str, Any] | None = None, **options: Any) -> pd.DataFrame:
        """Report ``name`` as a DataFrame, with the columns of the CSV output.

        Options: ``version``, ``year``, ``as_of``, ``target_days``; for
        ``financial-plan`` a ``scenario`` of drivers, e.g. ``{"inflation": 0.02}``.
        Money and ratios are exact ``Decimal``s; ``DataFrame.attrs`` holds notes
        (the version used, the scenario's overridden drivers).
        """
        from itu_plan import reports

        table = self.report_table(name, reports.make_options(scenario=scenario, **options))
        return reports.to_frame(table)

    def warnings(self, **options: Any) -> list[EarlyWarning]:
        """The early warnings as structured records (the rows of ``report("warnings")``,
        in its order), each with its subject's parts as fields (unit_code,
        objective_code, product_code, kpi_code, vacancy_id, year). Options as for
        :meth:`report`: ``version``, ``year``, ``as_of``, ``target_days``."""
        from itu_plan import reports
        from itu_plan.reports import warnings

        with self.engine.connect() as connection:
            return warnings.collect(connection, reports.make_options(**options)).warnings

    def drill(self, report: str, row_key: dict[str, Any], **options: Any) -> pd.DataFrame:
        """The records behind one row of a report: the actuals behind a
        budget-vs-actual row, the cost lines behind a plan-costs row."""
        from itu_plan import reports

        with self.engine.connect() as connection:
            table = reports.drill(connection, report, reports.make_options(**options), row_key)
        return reports.to_frame(table)

    @property
    def as_of(self) -> dt.date | None:
        """The date the execution data runs to, when one is set."""
        with self.engine.connect() as conn:
            value = conn.execute(select(Setting.value).where(Setting.key == AS_OF_KEY)).scalar()
        return dt.date.fromisoformat(value) if value else None


def _canonical(row: Any) -> str:
    parts = []
    for value in row:
        if value is None:
            parts.append("\x00")
        elif isinstance(value, dt.datetime):
            parts.append(value.astimezone(dt.UTC).isoformat() if value.tzinfo else value.isoformat())
        elif isinstance(value, float):
            parts.append(repr(value))
        else:
            parts.append(str(value))
    return "\x1f".join(parts) + "\x1e"


def _create_private(path: Path) -> None:
    """Create an empty SQLite file only its owner may read and write (0600; SQLite gives
    its journal files the same): a SQLite workspace is one person's, and its file's
    permissions are what protect it."""
    if not path.parent.is_dir():
        raise UsageError(f"cannot create a workspace at {path}: there is no folder {path.parent}")
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    except OSError as exc:
        raise UsageError(f"cannot create a workspace at {path}: {exc.strerror}") from None


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None (PostgreSQL, in-memory SQLite)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)
