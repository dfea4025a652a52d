"""Time `itu-plan demo --scale K` (whole process) on SQLite and PostgreSQL.

Baseline, measured in the same run: a bare ``sqlite3.executemany`` writing the
same number of rows, of the same width as the actuals, into an unindexed table
(the floor for writing that much data). Prints times, ratios and database size.

    python -m benchmarks.bench_demo [--scale 100]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.pg import PostgresServer


def run_demo(url: str, scale: int) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "itu_plan.cli", "--db", url, "demo", "--scale", str(scale), "--quiet"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return time.perf_counter() - started, done.stdout.strip()


def bare_floor(path: Path, rows: int) -> float:
    started = time.perf_counter()
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, reference TEXT, date TEXT, unit_id INT, "
        "activity_id INT, objective_id INT, category TEXT, amount INT, source INT)"
    )
    day = dt.date(2006, 1, 1)
    data = (
        (i, f"FIN-2006-{i:07d}", (day + dt.timedelta(days=i % 540)).isoformat(), i % 20, i % 3000,
         None, "travel", i * 7, 1)
        for i in range(1, rows + 1)
    )  # fmt: skip
    connection.executemany("INSERT INTO t VALUES (?,?,?,?,?,?,?,?,?)", data)
    connection.commit()
    connection.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        floor = bare_floor(folder / "floor.db", 10_000 * args.scale)
        sqlite_s, summary = run_demo(f"sqlite:///{folder / 'demo.db'}", args.scale)
        size = (folder / "demo.db").stat().st_size
        print(f"demo --scale {args.scale}: {summary}")
        print(f"bare executemany of {10_000 * args.scale:,} rows (floor): {floor:6.1f} s")
        print(f"SQLite     whole process: {sqlite_s:6.1f} s  ({sqlite_s / floor:.1f}x floor), "
              f"database {size / 2**20:.0f} MiB")  # fmt: skip
        server = PostgresServer()
        server.start()
        try:
            pg_s, _ = run_demo(server.new_database(), args.scale)
            print(f"PostgreSQL whole process: {pg_s:6.1f} s  ({pg_s / floor:.1f}x floor)")
        finally:
            server.stop()
        os.sync()


if __name__ == "__main__":
    main()
