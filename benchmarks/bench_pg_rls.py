"""Time a planner's load of plan data on PostgreSQL with and without row-level security.

The demo (scale 1) is built by a database administrator; then the BDT planner's
login (``planner.bdt``) loads the cost lines and budget lines of the BDT units of
the demo's draft into ``--copies`` new empty drafts, through ``bulk.bulk_insert``
(what the importer writes with), each run rolled back:

- with row-level security (the policies checked per row; INSERTs, COPY is refused);
- without it (``ALTER TABLE ... DISABLE ROW LEVEL SECURITY`` by the administrator),
  the same INSERTs, and COPY.

    python -m benchmarks.bench_pg_rls [--copies 20] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

from itu_plan import Workspace, bulk
from itu_plan.demo import build_demo_workspace
from itu_plan.model import BudgetLine, CostLine
from tests.pg import PostgresServer

PLANNER = "planner.bdt"
DRAFT = "2006-2007 draft"
BDT_UNITS = "SELECT unnest(itu_plan_units_of('planner.bdt'))"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    server = PostgresServer()
    server.start()
    try:
        url = server.new_database()
        with Workspace.open(url, user="admin") as ws:
            build_demo_workspace(ws, progress=False)
        admin = create_engine(url)
        with admin.begin() as c:
            drafts = [
                c.execute(
                    text(
                        "INSERT INTO plan_versions (name, status, first_year, last_year, row_version) "
                        "VALUES (:n, 'draft', 2006, 2007, 1) RETURNING id"
                    ),
                    {"n": f"bench {i}"},
                ).scalar_one()
                for i in range(args.copies)
            ]
            cost_columns = [c.name for c in CostLine.__table__.columns if c.name not in ("id", "version_id")]
            budget_columns = [c.name for c in BudgetLine.__table__.columns if c.name not in ("id", "version_id")]
            costs = c.execute(
                text(
                    f"SELECT {', '.join('l.' + n for n in cost_columns)} FROM cost_lines l "
                    "JOIN activities a ON a.id = l.activity_id JOIN plan_versions v ON v.id = l.version_id "
                    f"WHERE v.name = :v AND a.unit_id IN ({BDT_UNITS})"
                ),
                {"v": DRAFT},
            ).all()
            budget = c.execute(
                text(
                    f"SELECT {', '.join('l.' + n for n in budget_columns)} FROM budget_lines l "
                    f"JOIN plan_versions v ON v.id = l.version_id WHERE v.name = :v AND l.unit_id IN ({BDT_UNITS})"
                ),
                {"v": DRAFT},
            ).all()
        cost_rows = [(d, *row) for d in drafts for row in costs]
        budget_rows = [(d, *row) for d in drafts for row in budget]
        rows = len(cost_rows) + len(budget_rows)
        planner = create_engine(make_url(url).set(username=PLANNER))

        def load(connection: Connection) -> None:
            bulk.bulk_insert(connection, CostLine.__table__, ["version_id", *cost_columns], cost_rows)  # type: ignore[arg-type]
            bulk.bulk_insert(connection, BudgetLine.__table__, ["version_id", *budget_columns], budget_rows)  # type: ignore[arg-type]

        def best(what: Callable[[Connection], None]) -> float:
            times = []
            for _ in range(args.repeat):
                with planner.connect() as c, c.begin() as t:
                    started = time.perf_counter()
                    what(c)
                    times.append(time.perf_counter() - started)
                    t.rollback()
            return min(times)

        with_rls = best(load)
        with admin.begin() as c:
            for table in ("cost_lines", "budget_lines"):
                c.execute(text(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY"))
        original = bulk._row_security_active
        bulk._row_security_active = lambda connection, table: True
        inserts_without = best(load)
        bulk._row_security_active = original
        copy_without = best(load)
        print(f"{rows:,} rows ({len(costs)} cost lines and {len(budget)} budget lines of BDT x {args.copies} drafts)")
        print(f"as {PLANNER}, with row-level security (INSERT):  {with_rls:.3f} s")
        print(f"as {PLANNER}, without (INSERT):                  {inserts_without:.3f} s")
        print(f"as {PLANNER}, without (COPY):                    {copy_without:.3f} s")
        planner.dispose()
        admin.dispose()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
