"""Shared fixtures: a real PostgreSQL server started by the suite, workspaces on
SQLite and PostgreSQL, the demo workspace.

Database tests take the ``db_url`` fixture and run once per backend. Without
the PostgreSQL 15 binaries the PostgreSQL half is skipped with the reason, or
fails when ``CI`` is set (CI must test what it claims to test).
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from itu_plan import Workspace
from itu_plan.demo import build_demo_workspace

PG_BIN = Path(os.environ.get("ITU_PLAN_PG_BIN", "/usr/lib/postgresql/15/bin"))
IN_CI = bool(os.environ.get("CI"))
REPO = Path(__file__).resolve().parent.parent


def unavailable(reason: str) -> None:
    """Skip with ``reason``; under CI, fail instead."""
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


class PostgresServer:
    """A throw-away PostgreSQL cluster on a Unix socket in a temporary folder."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="itu-plan-pg-"))
        self.data = self.root / "data"
        self.socket = self.root / "sock"
        self.log = self.root / "server.log"
        self.as_root = os.geteuid() == 0
        self._counter = itertools.count(1)

    def _run(self, *args: str) -> None:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if self.as_root:  # PostgreSQL refuses to run as root: use its own OS user
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True)

    def start(self) -> None:
        self.socket.mkdir()
        if self.as_root:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.socket, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-sync")  # fmt: skip
        options = f"-k {self.socket} -c listen_addresses='' -F -c fsync=off -c max_connections=200"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-o", options, "start")

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@/{database}?host={self.socket}"

    def new_database(self) -> str:
        import psycopg

        name = f"t{os.getpid()}_{next(self._counter)}"
        with psycopg.connect(
            f"host={self.socket} user=postgres dbname=postgres", autocommit=True
        ) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    if not (PG_BIN / "initdb").exists():
        unavailable(f"PostgreSQL 15 binaries not found in {PG_BIN}")
    server = PostgresServer()
    try:
        server.start()
    except (subprocess.CalledProcessError, OSError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        shutil.rmtree(server.root, ignore_errors=True)
        unavailable(f"could not start PostgreSQL: {detail.strip()}")
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of a new, empty database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'workspace.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.new_database()


@pytest.fixture
def workspace(db_url: str) -> Iterator[Workspace]:
    """An initialised, empty workspace (the local user is admin: no users yet)."""
    ws = Workspace.open(db_url, user="tester", create=True)
    ws.init()
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def demo_sqlite(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file holding the scale-1 demo workspace, built once per session.

    Tests must not write to it; copy it (``demo_copy``) to change things.
    """
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    with Workspace.open(f"sqlite:///{path}", user="tester", create=True) as ws:
        build_demo_workspace(ws, progress=False)
    return str(path)


@pytest.fixture
def demo_copy(demo_sqlite: str, tmp_path: Path) -> str:
    """A URL of a private copy of the demo workspace on SQLite."""
    target = tmp_path / "demo.db"
    shutil.copyfile(demo_sqlite, target)
    return f"sqlite:///{target}"
