"""Shared fixtures: a real PostgreSQL server started by the suite, workspaces on
SQLite and PostgreSQL, the demo workspace.

Database tests take the ``db_url`` fixture and run once per backend. Without
the PostgreSQL 15 binaries the PostgreSQL half is skipped with the reason, or
fails when ``CI`` is set (CI must test what it claims to test).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from itu_plan import Workspace
from itu_plan.demo import build_demo_workspace
from tests.pg import PG_BIN, PostgresServer

IN_CI = bool(os.environ.get("CI"))
REPO = Path(__file__).resolve().parent.parent


def unavailable(reason: str) -> None:
    """Skip with ``reason``; under CI, fail instead."""
    if IN_CI:
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


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
