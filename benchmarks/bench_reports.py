"""Time `itu-plan report budget-vs-actual --format csv` on `demo --scale K` (about
10,000 x K actuals), whole process against whole process, in the same run:

- pandas from CSV: an analyst's script reading the exported bundle, grouping, merging;
- pandas through read_sql: the same from the SQLite tables;
- DuckDB from the same CSV files (the floor).

All four print the same table; the script checks that they agree to the centime.
Like the report, the baselines keep to the years of the version's period and to
the actuals dated on or before the workspace's as-of date (``settings``).

    python -m benchmarks.bench_reports [--scale 100] [--postgres]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from benchmarks.common import CACHE, demo_workspace, have, itu, timed

PANDAS_CSV = r"""
import os
import sys
import pandas as pd
folder = sys.argv[1]
versions = pd.read_csv(f"{folder}/versions.csv")
approved = versions[versions.status == "approved"]
chosen = (approved if len(approved) else versions).iloc[-1]
version, first, last = chosen["name"], int(chosen.first_year), int(chosen.last_year)
until = f"{last}-12-31"
if os.path.exists(f"{folder}/settings.csv"):
    settings = pd.read_csv(f"{folder}/settings.csv", dtype=str)
    until = min([until, *settings.value[settings.key == "as_of"]])
budget = pd.read_csv(f"{folder}/budget.csv")
budget = budget[(budget.version == version) & budget.year.between(first, last)]
budget["cents"] = (budget.amount * 100).round().astype("int64")
b = budget.groupby(["year", "unit_code", "objective_code"], as_index=False).cents.sum()
actuals = pd.read_csv(f"{folder}/actuals.csv", usecols=["date", "unit_code", "activity_code", "objective_code", "amount"])
actuals = actuals[(actuals.date >= f"{first}-01-01") & (actuals.date <= until)]
activities = pd.read_csv(f"{folder}/activities.csv", usecols=["code", "objective_code"])
actuals = actuals.merge(activities.rename(columns={"code": "activity_code", "objective_code": "activity_objective"}),
                        on="activity_code", how="left")
actuals["objective_code"] = actuals.objective_code.fillna(actuals.activity_objective)
actuals["year"] = actuals.date.str[:4].astype(int)
actuals["cents"] = (actuals.amount * 100).round().astype("int64")
a = actuals.groupby(["year", "unit_code", "objective_code"], as_index=False, dropna=False).cents.sum()
t = b.merge(a, on=["year", "unit_code", "objective_code"], how="outer", suffixes=("_b", "_a")).fillna({"cents_b": 0, "cents_a": 0})
t = t.sort_values(["year", "unit_code", "objective_code"], na_position="first")
out = ["year,unit_code,objective_code,budget,actual,variance,execution_rate"]
for r in t.itertuples():
    bud, act = int(r.cents_b), int(r.cents_a)
    rate = "" if bud == 0 else f"{act / bud:.4f}"
    o = "" if pd.isna(r.objective_code) else r.objective_code
    out.append(f"{r.year},{r.unit_code},{o},{bud / 100:.2f},{act / 100:.2f},{(bud - act) / 100:.2f},{rate}")
print("\n".join(out))
"""

PANDAS_SQL = r"""
import sys
import pandas as pd
from sqlalchemy import create_engine
engine = create_engine(sys.argv[1])
versions = pd.read_sql("SELECT id, name, status, first_year, last_year FROM plan_versions ORDER BY id", engine)
approved = versions[versions.status == "approved"]
chosen = (approved if len(approved) else versions).iloc[-1]
version, first, last = int(chosen.id), int(chosen.first_year), int(chosen.last_year)
as_of = pd.read_sql("SELECT value FROM settings WHERE key = 'as_of'", engine).value
until = min([f"{last}-12-31", *as_of])
budget = pd.read_sql(
    f"SELECT * FROM budget_lines WHERE version_id = {version} AND year BETWEEN {first} AND {last}", engine
)
b = budget.groupby(["year", "unit_id", "objective_id"], as_index=False).amount_centimes.sum()
actuals = pd.read_sql(
    "SELECT date, unit_id, activity_id, objective_id, amount_centimes FROM actuals WHERE date BETWEEN %s AND %s"
    % (repr(f"{first}-01-01"), repr(until)),
    engine,
)
activities = pd.read_sql("SELECT id AS activity_id, objective_id AS activity_objective FROM activities", engine)
actuals = actuals.merge(activities, on="activity_id", how="left")
actuals["objective_id"] = actuals.objective_id.fillna(actuals.activity_objective)
actuals["year"] = pd.to_datetime(actuals.date).dt.year
a = actuals.groupby(["year", "unit_id", "objective_id"], as_index=False, dropna=False).amount_centimes.sum()
t = b.merge(a, on=["year", "unit_id", "objective_id"], how="outer", suffixes=("_b", "_a")).fillna(0)
units = pd.read_sql("SELECT id AS unit_id, code AS unit_code FROM units", engine)
objectives = pd.read_sql("SELECT id AS objective_id, code AS objective_code FROM objectives", engine)
t = t.merge(units, on="unit_id").merge(objectives, on="objective_id", how="left")
t = t.sort_values(["year", "unit_code", "objective_code"], na_position="first")
out = ["year,unit_code,objective_code,budget,actual,variance,execution_rate"]
for r in t.itertuples():
    bud, act = int(r.amount_centimes_b), int(r.amount_centimes_a)
    rate = "" if bud == 0 else f"{act / bud:.4f}"
    o = "" if pd.isna(r.objective_code) else r.objective_code
    out.append(f"{int(r.year)},{r.unit_code},{o},{bud / 100:.2f},{act / 100:.2f},{(bud - act) / 100:.2f},{rate}")
print("\n".join(out))
"""

DUCKDB_CSV = r'''
import os
import sys
import duckdb
f = sys.argv[1]
as_of = "DATE '9999-12-31'"
if os.path.exists(f"{f}/settings.csv"):
    as_of = f"(SELECT MIN(CAST(value AS DATE)) FROM read_csv('{f}/settings.csv', all_varchar=true) WHERE key = 'as_of')"
rows = duckdb.sql(f"""
WITH v AS (SELECT name, first_year, last_year FROM read_csv('{f}/versions.csv')
           ORDER BY (status = 'approved') DESC, name DESC LIMIT 1),
b AS (SELECT year, unit_code, objective_code, SUM(CAST(amount AS DECIMAL(18,2))) AS budget
      FROM read_csv('{f}/budget.csv'), v WHERE version = v.name AND year BETWEEN v.first_year AND v.last_year
      GROUP BY ALL),
act AS (SELECT code, objective_code FROM read_csv('{f}/activities.csv')),
a AS (SELECT year(x.date) AS year, x.unit_code, COALESCE(x.objective_code, act.objective_code) AS objective_code,
             SUM(CAST(x.amount AS DECIMAL(18,2))) AS actual
      FROM read_csv('{f}/actuals.csv', types={{'amount': 'VARCHAR'}}) x LEFT JOIN act ON act.code = x.activity_code
      WHERE year(x.date) BETWEEN (SELECT first_year FROM v) AND (SELECT last_year FROM v) AND x.date <= {as_of}
      GROUP BY ALL)
SELECT COALESCE(b.year, a.year) y, COALESCE(b.unit_code, a.unit_code) u, COALESCE(b.objective_code, a.objective_code) o,
       COALESCE(budget, 0) bu, COALESCE(actual, 0) ac
FROM b FULL OUTER JOIN a ON a.year = b.year AND a.unit_code = b.unit_code AND a.objective_code IS NOT DISTINCT FROM b.objective_code
ORDER BY y, u, o NULLS FIRST
""").fetchall()
out = ["year,unit_code,objective_code,budget,actual,variance,execution_rate"]
for y, u, o, bu, ac in rows:
    rate = "" if bu == 0 else f"{ac / bu:.4f}"
    out.append(f"{y},{u},{o or ''},{bu:.2f},{ac:.2f},{bu - ac:.2f},{rate}")
print("\n".join(out))
'''


def money_columns(csv_text: str) -> list[tuple[str, ...]]:
    """The key and money columns: ratios from floats may differ in the last place."""
    return [tuple(line.split(",")[:6]) for line in csv_text.strip().splitlines()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--postgres", action="store_true", help="also time the report on PostgreSQL")
    args = parser.parse_args()
    db = demo_workspace(args.scale)
    bundle = CACHE / f"bundle-{args.scale}"
    with tempfile.TemporaryDirectory() as tmp:
        scripts = {}
        for name, text in (("pandas_csv", PANDAS_CSV), ("pandas_sql", PANDAS_SQL), ("duckdb", DUCKDB_CSV)):
            scripts[name] = Path(tmp) / f"bench_{name}.py"
            scripts[name].write_text(text)
        ours = timed(itu("--db", f"sqlite:///{db}", "report", "budget-vs-actual", "--format", "csv"))
        runs = {"itu-plan report (SQLite)": ours}
        runs["pandas from CSV"] = timed([sys.executable, str(scripts["pandas_csv"]), str(bundle)], repeat=1)
        runs["pandas via read_sql"] = timed([sys.executable, str(scripts["pandas_sql"]), f"sqlite:///{db}"], repeat=1)
        if have("duckdb"):
            runs["DuckDB from CSV"] = timed([sys.executable, str(scripts["duckdb"]), str(bundle)])
        if args.postgres:
            from tests.pg import PostgresServer

            server = PostgresServer()
            server.start()
            try:
                url = server.new_database()
                import subprocess

                subprocess.run(itu("--db", url, "demo", "--scale", str(args.scale), "--quiet"), check=True)
                runs["itu-plan report (PostgreSQL)"] = timed(
                    itu("--db", url, "report", "budget-vs-actual", "--format", "csv")
                )
            finally:
                server.stop()
    reference = money_columns(ours.stdout)
    print(f"budget-vs-actual on demo --scale {args.scale} ({len(reference) - 1} rows), whole process, best of 3:")
    for label, run in runs.items():
        agree = "same table" if money_columns(run.stdout) == reference else "DIFFERENT TABLE"
        print(f"  {label:30s} {run.seconds:6.2f} s  peak {run.peak_mb:6.0f} MB  {agree}")
    base = ours.seconds
    for label in ("pandas from CSV", "pandas via read_sql", "DuckDB from CSV"):
        if label in runs:
            print(f"  itu-plan / {label:22s} {base / runs[label].seconds:5.2f}x")
    if "itu-plan report (PostgreSQL)" in runs and "DuckDB from CSV" in runs:
        pg = runs["itu-plan report (PostgreSQL)"].seconds
        print(f"  PostgreSQL / DuckDB from CSV   {pg / runs['DuckDB from CSV'].seconds:5.2f}x")
        print(f"  PostgreSQL / pandas from CSV   {pg / runs['pandas from CSV'].seconds:5.2f}x")


if __name__ == "__main__":
    main()
