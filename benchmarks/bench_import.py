"""Time importing about a million actuals from CSV, whole process against whole process,
in the same run:

- `itu-plan import actuals.csv` (validated, all or nothing) into a workspace that
  holds the rest of the demo bundle but no actuals, on SQLite (and PostgreSQL);
- `pandas.read_csv` + `DataFrame.to_sql` with default settings loading the same rows
  into a new table of the same database, given a SQLAlchemy engine (as pandas documents
  it) and, on SQLite, a bare `sqlite3` connection (faster);
- a bare `sqlite3.executemany` of the same rows, parsed beforehand and not timed
  (the floor), into a plain table and into the workspace's own actuals table.

    python -m benchmarks.bench_import [--scale 100] [--postgres] [--repeat 3]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import CACHE, Run, demo_workspace, itu, timed

TO_SQL = r"""
import sqlite3, sys
import pandas as pd
frame = pd.read_csv(sys.argv[1])
if "://" in sys.argv[2]:  # through a SQLAlchemy engine, as pandas documents it
    from sqlalchemy import create_engine
    frame.to_sql("actuals_raw", create_engine(sys.argv[2]), index=False)
else:  # through a bare sqlite3 connection, pandas' one DBAPI exception
    connection = sqlite3.connect(sys.argv[2])
    frame.to_sql("actuals_raw", connection, index=False)
    connection.close()
"""

FLOOR = r"""
import csv, sqlite3, sys, time
units = dict(sqlite3.connect(sys.argv[2]).execute("SELECT code, id FROM units").fetchall())
rows = []
with open(sys.argv[1], newline="") as handle:
    reader = csv.reader(handle)
    next(reader)
    for reference, date, unit, _activity, _objective, category, amount, _source in reader:
        rows.append((reference, date, units[unit], None, None, category, round(float(amount) * 100), 1))
connection = sqlite3.connect(sys.argv[2], isolation_level=None)
connection.execute("PRAGMA journal_mode = WAL")
table = sys.argv[3]
if table == "plain":
    connection.execute("CREATE TABLE plain (reference TEXT, date TEXT, unit_id INT, activity_id INT, "
                       "objective_id INT, category TEXT, amount_centimes INT, funding_source_id INT)")
started = time.perf_counter()
connection.execute("BEGIN")
connection.executemany(f"INSERT INTO {table} (reference, date, unit_id, activity_id, objective_id, category, "
                       "amount_centimes, funding_source_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
connection.execute("COMMIT")
print(time.perf_counter() - started)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, best kept (default 3)")
    args = parser.parse_args()
    demo_workspace(args.scale)
    bundle = CACHE / f"bundle-{args.scale}"
    actuals = bundle / "actuals.csv"
    rows = sum(1 for _ in actuals.open()) - 1
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        reference = folder / "reference"
        reference.mkdir()
        for path in bundle.glob("*.csv"):
            if path.name != "actuals.csv":
                shutil.copy(path, reference)
        base = folder / "base.db"
        subprocess.run(itu("--db", f"sqlite:///{base}", "init"), check=True, capture_output=True)
        subprocess.run(itu("--db", f"sqlite:///{base}", "--user", "admin", "import", str(reference), "--quiet"),
                       check=True, capture_output=True)  # fmt: skip
        (folder / "to_sql.py").write_text(TO_SQL)
        (folder / "floor.py").write_text(FLOOR)

        def fresh() -> Path:
            target = folder / "w.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{target}{suffix}").unlink(missing_ok=True)
            shutil.copy(base, target)
            return target

        commands = {
            "itu-plan import (SQLite)": lambda target: itu(
                "--db", f"sqlite:///{target}", "--user", "admin", "import", str(actuals), "--quiet"
            ),
            "pandas to_sql (sqlite3)": lambda target: [sys.executable, str(folder / "to_sql.py"), str(actuals),
                                                       str(target)],
            "pandas to_sql (SQLAlchemy)": lambda target: [sys.executable, str(folder / "to_sql.py"), str(actuals),
                                                          f"sqlite:///{target}"],
        }  # fmt: skip
        results: dict[str, Run] = {}
        floors: dict[str, float] = {}
        for _ in range(args.repeat):  # interleaved, best of each: a busy moment hurts all alike
            for label, command in commands.items():
                run = timed(command(fresh()), repeat=1)
                if label not in results or run.seconds < results[label].seconds:
                    results[label] = run
            for table in ("plain", "actuals"):
                done = subprocess.run([sys.executable, str(folder / "floor.py"), str(actuals), str(fresh()), table],
                                      check=True, capture_output=True, text=True)  # fmt: skip
                floors[table] = min(float(done.stdout), floors.get(table, float("inf")))
        if args.postgres:
            from tests.pg import PostgresServer

            server = PostgresServer()
            server.start()
            try:
                url = server.new_database()
                subprocess.run(itu("--db", url, "init"), check=True, capture_output=True)
                subprocess.run(itu("--db", url, "--user", "admin", "import", str(reference), "--quiet"), check=True,
                               capture_output=True)  # fmt: skip
                results["itu-plan import (PostgreSQL)"] = timed(
                    itu("--db", url, "--user", "admin", "import", str(actuals), "--quiet"), repeat=1
                )
                results["pandas to_sql (PostgreSQL)"] = timed(
                    [sys.executable, str(folder / "to_sql.py"), str(actuals), server.new_database()], repeat=1
                )
            finally:
                server.stop()
    print(f"importing {rows:,} actuals, whole process:")
    for label, run in results.items():
        print(f"  {label:32s} {run.seconds:6.2f} s  peak {run.peak_mb:5.0f} MB")
    print(f"  bare executemany, plain table    {floors['plain']:6.2f} s  (the floor; parsing not timed)")
    print(f"  bare executemany, actuals table  {floors['actuals']:6.2f} s  (same, with its constraints)")
    ours = results["itu-plan import (SQLite)"].seconds
    for baseline in ("sqlite3", "SQLAlchemy"):
        ratio = ours / results[f"pandas to_sql ({baseline})"].seconds
        print(f"  itu-plan / to_sql ({baseline:10s})  {ratio:5.2f}x (goal <= 0.5)")
    print(f"  itu-plan / floor (plain table)   {ours / floors['plain']:5.2f}x (goal <= 2)")
    print(f"  itu-plan / floor (actuals table) {ours / floors['actuals']:5.2f}x")
    if "itu-plan import (PostgreSQL)" in results:
        pg = results["itu-plan import (PostgreSQL)"].seconds
        print(
            f"  PostgreSQL import / to_sql (PG)  {pg / results['pandas to_sql (PostgreSQL)'].seconds:5.2f}x (goal <= 0.5)"
        )


if __name__ == "__main__":
    main()
