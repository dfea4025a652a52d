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

from itu_plan import store
from itu_plan.errors import UsageError
from itu_plan.model import CONTENT_TABLES, Setting

AS_OF_KEY = "as_of"

if TYPE_CHECKING:
    import pandas as pd

    from itu_plan.reports.warnings import EarlyWarning


def resolve_user(user: str | None = None) -> str:
    """The acting user: the argument, else ``ITU_PLAN_USER``, ``JUPYTERHUB_USER``, the OS login."""
    for candidate in (user, os.environ.get("ITU_PLAN_USER"), os.environ.get("JUPYTERHUB_USER")):
        if candidate:
            return candidate
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name, e.g. an anonymous container uid
        return "local"


class Workspace:
    """One planning workspace: a database, and the user acting on it.

    >>> ws = Workspace.open("sqlite:///plan.db", user="planner.tsb")  # doctest: +SKIP
    """

    def __init__(self, url: str, user: str, engine: Engine) -> None:
        self.url = url
        self.user = user
        self.engine = engine
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
        if not create:
            path = sqlite_path(url)
            if path is not None and not path.exists():
                raise UsageError(
                    f"there is no workspace at {path}; create one with `itu-plan init` "
                    "or `itu-plan demo`, or name another with --db"
                )
        return cls(url, resolve_user(user), store.make_engine(url))

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        url = make_url(self.url).render_as_string(hide_password=True)
        return f"Workspace({url!r}, user={self.user!r})"

    # -- sessions and schema ------------------------------------------------------

    @contextmanager
    def transaction(self, *, check_references: bool = True) -> Iterator[Session]:
        """A session in one write transaction: committed on success, rolled back on error.

        ``check_references=False`` is for loaders that resolve every reference
        themselves (the bundle importer): SQLite then skips its per-row
        foreign-key lookups. PostgreSQL always checks.
        """
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
        from itu_plan import pg_security

        revisions = store.upgrade(self.engine, periods)
        with self.engine.begin() as connection:
            pg_security.ensure(connection)  # PostgreSQL only: roles, grants, row-level security, functions
        return revisions

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


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL, or None (PostgreSQL, in-memory SQLite)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)
