"""Fixtures and helpers of the widget, catalog and notebook tests.

``demo_url`` is a private, writable copy of the scale-1 demo workspace, once on
SQLite and once on PostgreSQL (a clone of a template database built once per
session, so each test starts from the same content).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import html
import io
import itertools
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

import pytest

from itu_plan import Workspace, audit
from itu_plan.demo import build_demo_workspace
from tests.pg import PostgresServer

_clones = itertools.count(1)


@pytest.fixture(scope="session")
def pg_demo_template(postgres: PostgresServer) -> str:
    """The name of a PostgreSQL database holding the demo workspace (never used directly)."""
    url = postgres.new_database()
    with Workspace.open(url, user="tester", create=True) as ws:
        build_demo_workspace(ws, progress=False)
    from sqlalchemy.engine import make_url

    return str(make_url(url).database)


@pytest.fixture(params=["sqlite", "postgresql"])
def demo_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A private copy of the demo workspace on each backend."""
    if request.param == "sqlite":
        yield request.getfixturevalue("demo_copy")
        return
    import psycopg

    server: PostgresServer = request.getfixturevalue("postgres")
    template = request.getfixturevalue("pg_demo_template")
    name = f"w{os.getpid()}_{next(_clones)}"
    with psycopg.connect(f"host={server.socket} user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    yield server.url(name)


def events(url: str, table: str | None = None, key: str | None = None) -> list[tuple[Any, ...]]:
    """(user, action, key, after) of the audit events, oldest first."""
    with Workspace.open(url, user="admin") as ws, ws.reading() as session:
        return [(e.username, e.action, e.record_key, e.after) for e in audit.list_events(session, table, key)]


# -- headline figures of static pages, checked against `itu-plan report --format csv` ----------------

_FIGURE = re.compile(r"<div class=\"itu-kpi[^\"]*\"((?: [a-z-]+=\"[^\"]*\")+)>")
_ATTR = re.compile(r' ([a-z-]+)="([^"]*)"')


def headline_figures(page: str) -> list[dict[str, str]]:
    """The ``data-*`` attributes of every headline figure in ``page``."""
    return [
        {k.removeprefix("data-"): html.unescape(v) for k, v in _ATTR.findall(match)} for match in _FIGURE.findall(page)
    ]


def report_csv(url: str, name: str, version: str) -> list[dict[str, str]]:
    """``itu-plan --db URL report NAME --version V --format csv``, parsed."""
    from itu_plan.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["--db", url, "--user", "admin", "report", name, "--version", version, "--format", "csv"])
    assert code == 0, out.getvalue()
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def recompute(url: str, figure: dict[str, str], cat: Any) -> str:
    """A headline figure recomputed from the CSV output as its attributes describe it."""

    if figure.get("kpi"):
        return recompute_kpi(url, figure)
    rows = report_csv(url, figure["report"], figure["version"])
    year, unit, objective = figure["year"], figure["unit"], figure["objective"]
    named = {}
    if figure["report"] == "warnings":  # what each warning names, from its structured record
        with Workspace.open(url, user="admin") as ws:
            named = {(w.rule, w.subject): w.parts for w in ws.warnings(version=figure["version"])}

    first, _, last = figure.get("period", "").partition("-")  # warnings of a version's period (and no year)

    def keep(row: dict[str, str]) -> bool:
        if "rule" in row:  # a warning about no year (no unit, no objective) stays
            parts = named[row["rule"], row["subject"]]
            return (
                (not year or not row["year"] or row["year"] == year)
                and (not first or not row["year"] or int(first) <= int(row["year"]) <= int(last))
                and (not unit or parts.get("unit_code", unit) in cat.units_below(unit))
                and (not objective or parts.get("objective_code", objective) in cat.objectives_below(objective))
            )
        return (
            (not year or "year" not in row or row["year"] == year)
            and (not unit or "unit_code" not in row or row["unit_code"] in cat.units_below(unit))
            and (
                not objective or "objective_code" not in row or row["objective_code"] in cat.objectives_below(objective)
            )
        )

    rows = [r for r in rows if keep(r)]
    for pair in filter(None, figure["where"].split("&")):
        column, value = pair.split("=", 1)
        rows = [r for r in rows if r[column] == value]
    if figure["aggregate"] == "count":
        return str(len(rows))
    if figure["aggregate"] == "sum":
        total = sum((Decimal(r[figure["column"]] or 0) for r in rows), Decimal(0))
        return str(total)
    top, bottom = (sum((Decimal(r[c] or 0) for r in rows), Decimal(0)) for c in figure["column"].split("/"))
    return "" if bottom == 0 else str((top / bottom).quantize(Decimal("0.0001"), ROUND_HALF_EVEN))


def recompute_kpi(url: str, figure: dict[str, str]) -> str:
    """A KPI card's value recomputed from the report it names (with the card's year,
    as-of date and version), or from the KPI's measurements, as the card prints it."""
    year, date = figure["kpi-year"], figure["date"]
    if not figure["formula"]:
        from sqlalchemy import select

        from itu_plan import kpis
        from itu_plan.model import Kpi

        with Workspace.open(url, user="admin") as ws, ws.engine.connect() as connection:
            kpi_id = connection.execute(select(Kpi.id).where(Kpi.code == figure["kpi"])).scalar_one()
            series = kpis.values(connection, dt.date.fromisoformat(date)).get(kpi_id, [])
        values = [v for d, v in series if str(d.year) == year]
        return f"{Decimal(repr(values[-1])):f}" if values else ""
    if figure["formula"] == "recruitment_days":  # the exact mean: the CSV prints each group's rounded
        with Workspace.open(url, user="admin") as ws:
            from itu_plan import reports

            table = ws.report_table("recruitment", reports.make_options(year=year, as_of=date))
        done = sum(row[3] for row in table.rows)
        total = sum(row[5] * row[3] for row in table.rows)
        days = Decimal(total.numerator) / Decimal(total.denominator) / done
        return str(days.quantize(Decimal("0.1"), ROUND_HALF_EVEN))
    args = ["--db", url, "--user", "admin", "report", figure["report"], "--as-of", date, "--format", "csv"]
    if figure["report"] != "representation":
        args += ["--year", year]
    if figure["kpi-version"]:
        args += ["--version", figure["kpi-version"]]
    from itu_plan.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(args) == 0, out.getvalue()
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    top, bottom = {
        "execution_rate": ("actual", "budget"),
        "cost_recovery_rate": ("income", "full_cost"),
        "women_share": ("count", "count"),
    }[figure["formula"]]
    below = sum((Decimal(r[bottom]) for r in rows if r.get("dimension", "gender") == "gender"), Decimal(0))
    above = sum(
        (Decimal(r[top]) for r in rows if r.get("dimension", "gender") == "gender" and r.get("category", "F") == "F"),
        Decimal(0),
    )
    ratio = (above / below).quantize(Decimal("0.0001"), ROUND_HALF_EVEN)
    return str((ratio * 100).quantize(Decimal("0.01")))


# -- `itu-plan serve` in the background, stopped with everything it started -------------------------


def descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (children, theirs ...)."""
    out = subprocess.run(["ps", "-eo", "pid,ppid"], capture_output=True, text=True, check=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.splitlines()[1:]:
        child, parent = (int(x) for x in line.split())
        children.setdefault(parent, []).append(child)
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, exited but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


@contextlib.contextmanager
def served(db_url: str, user: str, log: Path, *extra: str, token: bool = False) -> Iterator[str]:
    """`itu-plan serve` as ``user`` in the background (see ``tests.conftest.start_serve``, and
    ``token``); yields the base URL. On exit it stops Voilà and its kernels too: terminating
    `itu-plan serve` alone leaves the Voilà process it runs (and every kernel) behind."""
    from tests.conftest import start_serve, wait_until_up

    process, base = start_serve(db_url, user, log, *extra, token=token)
    try:
        wait_until_up(process, base, log)
        yield base
    finally:
        kernels = descendants(process.pid)
        process.terminate()  # `serve` became Voilà, which shuts its kernels down on SIGTERM
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in kernels) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in kernels:
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
