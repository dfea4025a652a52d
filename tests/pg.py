"""A throw-away PostgreSQL 15 server for the tests and the benchmarks."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

PG_BIN = Path(os.environ.get("ITU_PLAN_PG_BIN", "/usr/lib/postgresql/15/bin"))


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
        self.resume()

    def halt(self) -> None:
        """Stop the server as a crash would, keeping its files (:meth:`resume` starts it again)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def resume(self) -> None:
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
        with psycopg.connect(f"host={self.socket} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


class PeerPostgresServer(PostgresServer):
    """A throw-away cluster as a JupyterHub deployment has it: ``local all all peer`` (each
    OS user is the PostgreSQL role of the same name, no password), its socket folder open to
    every OS user, and a superuser role for the OS user running the tests (root)."""

    def __init__(self) -> None:
        super().__init__()
        self.login = "postgres" if not self.as_root else "root"

    def _run(self, *args: str) -> None:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True)

    def start(self) -> None:
        self.socket.mkdir()
        if self.as_root:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.socket, "postgres")
        self.root.chmod(0o755)  # others pass through to the socket; the data folder stays 0700
        self.socket.chmod(0o755)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth-local=peer",
                  "--auth-host=reject", "-E", "UTF8", "--no-sync")  # fmt: skip
        # as an administrator would set it up: no TCP, and (for a throw-away test cluster) no fsync
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("listen_addresses = ''\nfsync = off\n")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-o", f"-k {self.socket}", "start")
        if self.as_root:
            self._run("psql", "-h", str(self.socket), "-d", "postgres", "-v", "ON_ERROR_STOP=1",
                      "-c", "CREATE ROLE root SUPERUSER LOGIN")  # fmt: skip

    def halt(self) -> None:
        """Stop the server and keep its cluster (:meth:`stop` removes it)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def execute(self, sql: str, database: str = "postgres") -> None:
        """Run ``sql`` as the superuser the tests log in as."""
        import psycopg

        with psycopg.connect(f"host={self.socket} user={self.login} dbname={database}", autocommit=True) as c:
            c.execute(sql)  # type: ignore[arg-type]

    def workspace_url(self, database: str) -> str:
        """The URL as the hub and the people use it: the socket folder, no user, no password."""
        return f"postgresql+psycopg:///{database}?host={self.socket}"
