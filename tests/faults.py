"""Fault injection: ``kill -9`` at a random point of a command, then what it left behind.

A :class:`Target` is a command run as a process of its own against a workspace put
back from a template before every run (a file copy on SQLite, ``CREATE DATABASE ...
TEMPLATE`` on PostgreSQL): ``import`` (150,000 actuals, large enough for the read-ahead
helper), ``demo``, ``edit`` (this module's :func:`edit`: cost lines of a draft changed
in one transaction through :mod:`itu_plan.editing`), ``version approve`` and
``render``. :class:`Injector` measures each command's uninterrupted run (its duration
and the workspace's checksum after it), then for each point kills the command at a time
drawn uniformly within that duration (fixed seed) and checks:

- the workspace's checksum is the one before or the one after;
- ``itu-plan audit verify`` passes (exit 0);
- 2 s after the kill no process of the command is alive: every descendant seen in
  ``/proc`` while it ran, and every process carrying its tag in its environment.

``tests/test_faults.py`` runs a few points; ``python -m benchmarks.fault_inject
--points 50`` the long run. ``python -m tests.faults edit URL`` is the edit.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
HANDMADE = REPO / "tests" / "data" / "handmade"
GRACE_SECONDS = 2.0
TAG = "ITU_PLAN_FAULT_TAG"
DRAFT = "2006-2007 draft"


def itu(*args: str) -> list[str]:
    return [sys.executable, "-m", "itu_plan.cli", *args]


# -- the commands ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A command to kill: the workspace it starts from and its command line."""

    name: str
    base: str  # empty, handmade, demo or submitted (see Injector.prepare)
    argv: Callable[[str, Path], list[str]]  # (workspace URL, scratch folder) -> command
    user: str  # who may verify the audit trail afterwards


def big_actuals(path: Path, rows: int = 150_000) -> Path:
    """An actuals.csv of ``rows`` rows that the hand-made workspace accepts."""
    if not path.exists():
        with path.open("w") as out:
            out.write("reference,date,unit_code,activity_code,objective_code,category,amount,funding_source_code\n")
            for n in range(rows):
                out.write(f"K-{n},2006-05-01,GS,,S-01,travel,{n % 997}.25,RB\n")
    return path


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("import", "handmade",
               lambda url, scratch: itu("--db", url, "--user", "boss", "import",
                                        str(big_actuals(scratch.parent / "actuals.csv")), "--quiet"), "boss"),
        Target("demo", "empty", lambda url, scratch: itu("--db", url, "--user", "tester", "demo", "--quiet"), "tester"),
        Target("edit", "demo", lambda url, scratch: [sys.executable, "-m", "tests.faults", "edit", url], "tester"),
        Target("approve", "submitted",
               lambda url, scratch: itu("--db", url, "--user", "admin", "version", "approve", DRAFT), "admin"),
        Target("render", "demo",
               lambda url, scratch: itu("--db", url, "--user", "tester", "render", str(scratch / "site"),
                                        "--quiet"), "tester"),
    )
}  # fmt: skip


def edit(url: str) -> None:
    """The edit: every BDT cost line of the draft 2006-2007 that has an amount gets
    CHF 100 more, in one transaction, through the editing service."""
    from sqlalchemy import select

    from itu_plan import Workspace, access, editing
    from itu_plan.model import Activity, CostLine, PlanVersion, Unit

    with Workspace.open(url, user="tester") as ws, ws.transaction() as session:
        who = access.actor(session, ws.user)
        query = (
            select(CostLine)
            .join(PlanVersion, CostLine.version_id == PlanVersion.id)
            .join(Activity, CostLine.activity_id == Activity.id)
            .join(Unit, Activity.unit_id == Unit.id)
            .where(PlanVersion.name == DRAFT, Unit.code.like("BDT%"), CostLine.amount_centimes.is_not(None))
            .order_by(CostLine.id)
        )
        for line in session.scalars(query).all():
            d = editing.describe_cost_line(line)
            key = editing.CostLineKey(d["version"], d["activity"], d["year"], d["category"], d["grade"],
                                      d["funding_source"])  # fmt: skip
            amount = (line.amount_centimes or 0) + 100_00
            editing.update_cost_line(session, who, key, line.row_version, {"amount": f"{amount / 100:.2f}"})


# -- processes ---------------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time) of ``pid``, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[19])


def descendants(root: int) -> set[tuple[int, int]]:
    """(pid, start time) of every process below ``root``, from /proc."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            children.setdefault(stat[0], []).append((int(entry), stat[1]))
    found: set[tuple[int, int]] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child[0])
    return found


def tagged(tag: str) -> set[tuple[int, int]]:
    """(pid, start time) of every process whose environment carries ``tag``."""
    needle = f"{TAG}={tag}".encode()
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle in Path(f"/proc/{entry}/environ").read_bytes() and (stat := _stat(int(entry))):
                found.add((int(entry), stat[1]))
    return found


def alive(processes: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Those of ``processes`` still running (the same start time: not a reused pid; not a zombie)."""
    left = set()
    for pid, started in processes:
        stat = _stat(pid)
        if stat is None or stat[1] != started:
            continue
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
        left.add((pid, started))
    return left


def command_line(pid: int) -> str:
    with contextlib.suppress(OSError):
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")[:120]
        )
    return "?"


# -- the injector --------------------------------------------------------------------------------------


@dataclass
class Point:
    """One kill: when, what the workspace and the processes looked like after it."""

    target: str
    backend: str
    at: float
    state: str = ""  # before, after, or other (before for a command that changes nothing)
    finished: bool = False  # the command ended before the kill
    verify: int | None = None
    left: list[str] = field(default_factory=list)
    helpers_left: int = 0  # of those left: forks of the command itself (the import's read-ahead helper)
    failures: list[str] = field(default_factory=list)


@dataclass
class Measured:
    seconds: float
    before: str
    after: str


class Injector:
    """Templates of the workspaces the targets start from, on one backend, and the kills."""

    def __init__(self, root: Path, postgres: Any = None) -> None:
        self.root, self.postgres = root, postgres
        self.backend = "sqlite" if postgres is None else "postgresql"
        root.mkdir(parents=True, exist_ok=True)
        self.templates: dict[str, str] = {}
        self.measured: dict[str, Measured] = {}
        self.env = {**os.environ, "PYTHONPATH": str(REPO), "ITU_PLAN_USER": "tester"}

    # the workspaces
    def _url(self, name: str) -> str:
        if self.postgres is None:
            return f"sqlite:///{self.root / (name + '.db')}"
        return str(self.postgres.url(name))

    def _sql(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(f"host={self.postgres.socket} user=postgres dbname=postgres", autocommit=True) as c:
            for statement in statements:
                c.execute(statement.encode())

    def _drop(self, name: str) -> None:
        if self.postgres is None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                (self.root / f"{name}.db{suffix}").unlink(missing_ok=True)
        else:
            self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def prepare(self, base: str) -> str:
        """The template workspace ``base`` (made once): ``empty`` (initialised), ``handmade``
        (the hand-made bundle), ``demo`` (the scale-1 demo, built by tester) or
        ``submitted`` (the demo with the draft 2006-2007 submitted by tester)."""
        if base in self.templates:
            return self.templates[base]
        name = f"template_{base}"
        self._drop(name)
        if base == "submitted":  # the demo's copy, its draft submitted
            demo = self.prepare("demo")
            if self.postgres is None:
                shutil.copyfile(demo.removeprefix("sqlite:///"), self.root / f"{name}.db")
            else:
                self._sql(f'CREATE DATABASE "{name}" TEMPLATE "template_demo"')
        elif self.postgres is not None:
            self._sql(f'CREATE DATABASE "{name}"')
        url = self._url(name)
        run = {"check": True, "capture_output": True, "env": self.env}
        if base != "submitted":
            subprocess.run(itu("--db", url, "init"), **run)  # type: ignore[call-overload]
        if base == "handmade":
            subprocess.run(itu("--db", url, "import", str(HANDMADE), "--quiet"), **run)  # type: ignore[call-overload]
        if base == "demo":
            subprocess.run(itu("--db", url, "demo", "--quiet"), **run)  # type: ignore[call-overload]
        if base == "submitted":
            subprocess.run(itu("--db", url, "version", "submit", DRAFT), **run)  # type: ignore[call-overload]
        self.templates[base] = url
        return url

    def restore(self, base: str) -> str:
        """A fresh copy of the template ``base``, as ``work``."""
        template = self.prepare(base)
        self._drop("work")
        if self.postgres is None:
            shutil.copyfile(template.removeprefix("sqlite:///"), self.root / "work.db")
        else:
            self._sql(f'CREATE DATABASE "work" TEMPLATE "template_{base}"')
        return self._url("work")

    def checksum(self, url: str) -> str:
        from itu_plan import Workspace

        with Workspace.open(url, user="tester") as ws:
            return ws.checksum()

    def scratch(self) -> Path:
        folder = self.root / "scratch"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir()
        return folder

    # the runs
    def measure(self, target: Target) -> Measured:
        """The uninterrupted run: its duration, the checksums before and after."""
        if target.name not in self.measured:
            url = self.restore(target.base)
            before = self.checksum(url)
            started = time.perf_counter()
            done = subprocess.run(target.argv(url, self.scratch()), capture_output=True, text=True, env=self.env)
            seconds = time.perf_counter() - started
            if done.returncode != 0:
                raise RuntimeError(f"{target.name} failed uninterrupted (exit {done.returncode}):\n{done.stderr}")
            self.measured[target.name] = Measured(seconds, before, self.checksum(url))
        return self.measured[target.name]

    def kill_at(self, target: Target, at: float) -> Point:
        """Run ``target``, kill -9 it ``at`` seconds in, and check what it left."""
        measured = self.measure(target)
        url = self.restore(target.base)
        tag = uuid.uuid4().hex
        point = Point(target.name, self.backend, at)
        seen: set[tuple[int, int]] = set()
        argv = target.argv(url, self.scratch())
        process = subprocess.Popen(
            argv, env={**self.env, TAG: tag}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )  # fmt: skip
        deadline = time.perf_counter() + at
        while time.perf_counter() < deadline and process.poll() is None:
            seen |= descendants(process.pid)
            time.sleep(0.02)
        if process.poll() is None:
            seen |= descendants(process.pid)
            process.send_signal(signal.SIGKILL)
        else:
            point.finished = True
        process.wait()
        time.sleep(GRACE_SECONDS)
        left = alive(seen) | tagged(tag)
        if left:
            point.left = [f"{pid} {command_line(pid)}" for pid, _ in sorted(left)]
            point.helpers_left = sum(command_line(pid) == " ".join(argv)[:120] for pid, _ in left)
            point.failures.append(f"{len(left)} processes alive {GRACE_SECONDS:g} s after the kill: {point.left}")
            for pid, _ in left:  # they are ours: clean up
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        checksum = self.checksum(url)
        point.state = {measured.before: "before", measured.after: "after"}.get(checksum, "other")
        if measured.before == measured.after and point.state == "after":
            point.state = "before"  # a command that changes nothing (render): before, and after
        if point.state == "other":
            point.failures.append("the workspace is neither as before nor as after the command")
        verified = subprocess.run(
            itu("--db", url, "--user", target.user, "audit", "verify"), capture_output=True, text=True, env=self.env
        )
        point.verify = verified.returncode
        if verified.returncode != 0:
            point.failures.append(f"audit verify: exit {verified.returncode}: {verified.stderr.strip()[:200]}")
        return point

    def points(self, target: Target, count: int, seed: int) -> Iterator[Point]:
        """``count`` kills at times drawn uniformly within the measured duration."""
        rng = random.Random(f"{seed}/{target.name}/{self.backend}")
        seconds = self.measure(target).seconds
        for _ in range(count):
            yield self.kill_at(target, rng.uniform(0, seconds))

    def close(self) -> None:
        if self.postgres is not None:
            for name in ["work", *(f"template_{b}" for b in self.templates)]:
                self._drop(name)
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def injector(root: Path, postgres: Any = None) -> Iterator[Injector]:
    made = Injector(root, postgres)
    try:
        yield made
    finally:
        made.close()


if __name__ == "__main__":
    if sys.argv[1:2] == ["edit"] and len(sys.argv) == 3:
        edit(sys.argv[2])
    else:
        sys.exit("usage: python -m tests.faults edit URL")
