"""Shared fixtures: a real PostgreSQL server started by the suite, workspaces on
SQLite and PostgreSQL, the demo workspace.

Database tests take the ``db_url`` fixture and run once per backend. Without
the PostgreSQL 15 binaries the PostgreSQL half is skipped with the reason, or
fails when ``CI`` is set (CI must test what it claims to test).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
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


# -- Voilà served for real, and a real headless Chromium ------------------------------------------

CHROMIUM = Path(os.environ.get("ITU_PLAN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        unavailable(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def start_serve(
    db_url: str, user: str, log: Path, *extra: str, token: bool = False
) -> tuple[subprocess.Popen[bytes], str]:
    """`itu-plan serve` in the background, its output in ``log``; the base URL. Without
    ``token`` it runs with --no-token: the browser tests open each page in a browser
    context of its own, with no login cookie (tests/test_serve_security.py tests the token)."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "itu_plan.cli", "--db", db_url, "--user", user,
             "serve", "--no-browser", "--port", str(port), *([] if token else ["--no-token"]), *extra],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return process, f"http://127.0.0.1:{port}"


def wait_until_up(process: subprocess.Popen[bytes], base: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(base + "/", timeout=2)
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"itu-plan serve did not start:\n{log.read_text()}")
            time.sleep(0.3)


@contextmanager
def serving(db_url: str, user: str, log: Path, *extra: str) -> Iterator[str]:
    """`itu-plan serve` of ``db_url`` as ``user`` in the background; yields the base URL."""
    process, base = start_serve(db_url, user, log, *extra)
    try:
        wait_until_up(process, base, log)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def server(demo_sqlite: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo workspace served as the reviewer (read-only apps); yields the base URL."""
    log = tmp_path_factory.mktemp("voila") / "serve.log"
    with serving(f"sqlite:///{demo_sqlite}", "reviewer", log) as base:
        yield base
