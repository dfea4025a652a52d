"""report data-quality on a small bundle where each check fires and does not fire,
worked out by hand, on SQLite and PostgreSQL; and on the demo, exactly what the
demo means to plant.

The bundle:

* activity A1 runs 2006-01-01 to 2006-12-31; A2 is cancelled; A3 has no dates;
* cost lines on the cancelled A2: V1 (2006, 500.25) and V2 (2007, 200.00);
* V1's budget equals its cost lines in 2006 (1,500.25) but not in 2007 (150.00
  against 100.00); V2 has cost lines and no budget in 2007;
* actuals on A2: 300.00 (2006-05-01) and 50.00 (2007-03-01); on A1 outside its
  dates: 10.00 (2005-12-31) and 75.50 (2007-01-15), inside: 400.00 (2006-06-01);
  on A3 (no dates): 20.00;
* P1 (unit U1, rate for 2006 only) has direct costs in 2006 and 2007; P2 only
  income; P3's direct costs of 2006 are reversed to zero.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from itu_plan import Workspace
from itu_plan.bundle import import_bundle
from itu_plan.cli import main
from itu_plan.model import Activity, Actual
from tests.bundles import load_bundle, write_bundle

BUNDLE = {
    "units.csv": "code,name,parent_code\nU1,Unit one,\nU2,Unit two,\n",
    "objectives.csv": "code,title,parent_code\nO1,Objective one,\n",
    "funding_sources.csv": "code,name,kind\nRB,Regular budget,assessed\nCR,Sales,cost_recovery\n",
    "versions.csv": "name,status,based_on,first_year,last_year\nV1,approved,,2006,2007\nV2,draft,V1,2006,2007\n",
    "activities.csv": "code,title,objective_code,unit_code,start_date,end_date,status,owner\n"
    "A1,Dated,O1,U1,2006-01-01,2006-12-31,completed,\n"
    "A2,Cancelled,O1,U2,2006-01-01,2007-12-31,cancelled,\n"
    "A3,Undated,O1,U1,,,ongoing,\n",
    "cost_lines.csv": "version,activity_code,year,category,grade,work_months,amount,funding_source_code\n"
    "V1,A1,2006,travel,,,1000,RB\n"
    "V1,A2,2006,travel,,,500.25,RB\n"
    "V1,A3,2007,other,,,100,RB\n"
    "V2,A2,2007,other,,,200,RB\n",
    "budget.csv": "version,unit_code,objective_code,year,category,amount\n"
    "V1,U1,O1,2006,travel,1000\nV1,U2,O1,2006,travel,500.25\nV1,U1,O1,2007,other,150\n",
    "actuals.csv": "reference,date,unit_code,activity_code,objective_code,category,amount,funding_source_code\n"
    "R1,2006-05-01,U2,A2,,travel,300,RB\n"
    "R2,2007-03-01,U2,A2,,travel,50,RB\n"
    "R3,2005-12-31,U1,A1,,travel,10,RB\n"
    "R4,2007-01-15,U1,A1,,travel,75.50,RB\n"
    "R5,2006-06-01,U1,A1,,travel,400,RB\n"
    "R6,2007-02-01,U1,A3,,other,20,RB\n",
    "products.csv": "code,name,unit_code,kind\nP1,Handbook,U1,publication\nP2,Course,U2,training\n"
    "P3,Filing,U2,filing\n",
    "overhead_rates.csv": "unit_code,year,rate\nU1,2006,0.25\n",
    "cost_recovery.csv": "reference,date,product_code,type,amount,quantity\n"
    "C1,2006-02-01,P1,direct_cost,900,\nC2,2007-02-01,P1,direct_cost,400,\n"
    "C3,2006-03-01,P2,income,300,\n"
    "C4,2006-04-01,P3,direct_cost,100,\nC5,2006-04-02,P3,direct_cost,-100,\n",
    # cost recovery booked as income: the financial plan would not count it
    "income.csv": "reference,date,funding_source_code,amount\nI1,2007-05-01,CR,120\nI2,2007-05-02,CR,30\n"
    "I3,2007-05-03,RB,1000\n",
}

EVERYTHING = [
    ["check", "subject", "year", "detail"],
    ["ACTUALS_ON_CANCELLED_ACTIVITY", "A2", "2006", "1 actual of CHF 300.00 booked on the cancelled activity A2"],
    ["ACTUALS_ON_CANCELLED_ACTIVITY", "A2", "2007", "1 actual of CHF 50.00 booked on the cancelled activity A2"],
    ["ACTUALS_OUTSIDE_ACTIVITY_DATES", "A1", "2005",
     "1 actual of CHF 10.00 dated on 2005-12-31, outside activity A1, which runs from 2006-01-01 to 2006-12-31"],
    ["ACTUALS_OUTSIDE_ACTIVITY_DATES", "A1", "2007",
     "1 actual of CHF 75.50 dated on 2007-01-15, outside activity A1, which runs from 2006-01-01 to 2006-12-31"],
    ["BUDGET_COST_MISMATCH", "V1", "2007",
     "budget lines total CHF 150.00 and cost lines CHF 100.00 in 2007: CHF 50.00 more budget than cost"],
    ["BUDGET_COST_MISMATCH", "V2", "2007",
     "budget lines total CHF 0.00 and cost lines CHF 200.00 in 2007: CHF 200.00 more cost than budget"],
    ["COST_LINES_ON_CANCELLED_ACTIVITY", "V1/A2", "", "1 cost line of CHF 500.25 in V1 on the cancelled activity A2"],
    ["COST_LINES_ON_CANCELLED_ACTIVITY", "V2/A2", "", "1 cost line of CHF 200.00 in V2 on the cancelled activity A2"],
    ["INCOME_OF_COST_RECOVERY_SOURCE", "CR", "2007",
     "2 income rows of CHF 150.00 for the cost-recovery source CR in 2007: the financial plan counts cost recovery "
     "from cost_recovery.csv only; book it there, against its product"],
    ["MISSING_OVERHEAD_RATE", "P1", "2007",
     "direct costs of CHF 400.00 and no overhead rate for unit U1 in 2007: the indirect cost is shown as 0.00 and "
     "the full cost is understated"],
]  # fmt: skip


@pytest.fixture
def ws(workspace: Workspace, tmp_path: Path) -> Workspace:
    return load_bundle(workspace, tmp_path / "bundle", BUNDLE)


def report_csv(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> list[list[str]]:
    assert main(["--db", ws.url, "report", "data-quality", *args, "--format", "csv"]) == 0
    return list(csv.reader(io.StringIO(capsys.readouterr().out)))


def test_every_check_fires_on_what_it_should_and_only_there(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_csv(ws, capsys) == EVERYTHING


def test_as_of_leaves_out_actuals_and_cost_recovery_rows_dated_after_it(
    ws: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = report_csv(ws, capsys, "--as-of", "2006-12-31")
    assert [r[:2] for r in rows[1:]] == [
        ["ACTUALS_ON_CANCELLED_ACTIVITY", "A2"],
        ["ACTUALS_OUTSIDE_ACTIVITY_DATES", "A1"],
        ["BUDGET_COST_MISMATCH", "V1"],  # plans are not execution data: they stay
        ["BUDGET_COST_MISMATCH", "V2"],
        ["COST_LINES_ON_CANCELLED_ACTIVITY", "V1/A2"],
        ["COST_LINES_ON_CANCELLED_ACTIVITY", "V2/A2"],
    ]
    assert rows[1][3] == "1 actual of CHF 300.00 booked on the cancelled activity A2"
    assert rows[2][3].startswith("1 actual of CHF 10.00 dated on 2005-12-31, outside activity A1")
    # an actual dated on as-of counts, one the day after does not
    on_the_day = report_csv(ws, capsys, "--as-of", "2007-03-01")
    assert on_the_day[2] == ["ACTUALS_ON_CANCELLED_ACTIVITY", "A2", "2007",
                             "1 actual of CHF 50.00 booked on the cancelled activity A2"]  # fmt: skip
    day_before = report_csv(ws, capsys, "--as-of", "2007-02-28")
    assert [r[:3] for r in day_before if r[0] == "ACTUALS_ON_CANCELLED_ACTIVITY"] == [
        ["ACTUALS_ON_CANCELLED_ACTIVITY", "A2", "2006"]
    ]


def test_year_and_version_restrict_what_is_looked_at(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    # 2006: V1's totals agree, A1's outside actuals are dated 2005 and 2007, P1 has a rate, P3 nets to zero
    assert report_csv(ws, capsys, "--year", "2006")[1:] == [
        ["ACTUALS_ON_CANCELLED_ACTIVITY", "A2", "2006", "1 actual of CHF 300.00 booked on the cancelled activity A2"],
        ["COST_LINES_ON_CANCELLED_ACTIVITY", "V1/A2", "", "1 cost line of CHF 500.25 in V1 on the cancelled "
         "activity A2"],
    ]  # fmt: skip
    in_2005 = report_csv(ws, capsys, "--year", "2005")[1:]
    assert in_2005 == [["ACTUALS_OUTSIDE_ACTIVITY_DATES", "A1", "2005", "1 actual of CHF 10.00 dated on 2005-12-31, "
                        "outside activity A1, which runs from 2006-01-01 to 2006-12-31"]]  # fmt: skip
    versioned = report_csv(ws, capsys, "--version", "V2")
    assert [r[:3] for r in versioned[1:] if r[0] in ("BUDGET_COST_MISMATCH", "COST_LINES_ON_CANCELLED_ACTIVITY")] == [
        ["BUDGET_COST_MISMATCH", "V2", "2007"],
        ["COST_LINES_ON_CANCELLED_ACTIVITY", "V2/A2", ""],
    ]
    assert main(["--db", ws.url, "report", "data-quality", "--version", "nope"]) != 0


def test_a_clean_workspace_has_no_findings(workspace: Workspace, tmp_path: Path) -> None:
    clean = {name: BUNDLE[name] for name in ("units.csv", "objectives.csv", "funding_sources.csv", "versions.csv")}
    clean["activities.csv"] = "code,title,objective_code,unit_code,start_date,end_date,status,owner\n" \
        "A1,Dated,O1,U1,2006-01-01,2006-12-31,ongoing,\nA2,Cancelled,O1,U2,,,cancelled,\n"  # fmt: skip
    clean["cost_lines.csv"] = "version,activity_code,year,category,grade,work_months,amount,funding_source_code\n" \
        "V1,A1,2006,travel,,,1000,RB\n"  # fmt: skip
    clean["budget.csv"] = "version,unit_code,objective_code,year,category,amount\nV1,U1,O1,2006,travel,1000\n"
    clean["actuals.csv"] = BUNDLE["actuals.csv"].splitlines()[0] + "\nR1,2006-12-31,U1,A1,,travel,10,RB\n"
    clean["products.csv"] = "code,name,unit_code,kind\nP1,Handbook,U1,publication\n"
    clean["overhead_rates.csv"] = "unit_code,year,rate\nU1,2006,0\n"  # a rate of 0 is a rate
    clean["cost_recovery.csv"] = "reference,date,product_code,type,amount,quantity\nC1,2006-02-01,P1,direct_cost,9,\n"
    import_bundle(workspace, write_bundle(tmp_path / "clean", clean))
    frame = workspace.report("data-quality")
    assert list(frame.columns) == ["check", "subject", "year", "detail"] and frame.empty


#: The demo's names for what it plants (``PlantedIssue.kind``) -> the report's checks.
KIND_CHECKS = {
    "actual_on_cancelled_activity": "ACTUALS_ON_CANCELLED_ACTIVITY",
    "actual_outside_activity_dates": "ACTUALS_OUTSIDE_ACTIVITY_DATES",
    "cost_line_on_cancelled_activity": "COST_LINES_ON_CANCELLED_ACTIVITY",
    "product_without_overhead_rate": "MISSING_OVERHEAD_RATE",
    "budget_differs_from_costs": "BUDGET_COST_MISMATCH",
}


def test_the_demo_lists_exactly_what_it_planted(demo_sqlite: str) -> None:
    """``itu_plan.demo.PLANTED_QUALITY_ISSUES``: the findings the demo means to plant, each
    a ``PlantedIssue(kind, key, detail)`` (an actual by its reference, a product-year as
    ``PRODUCT/YEAR``, a version by name) or a (check, subject[, year]) tuple. The report
    lists exactly those: one row per activity, version or product-year they fall in, and
    an activity's row counts the actuals planted on it."""
    from itu_plan import demo

    planted = getattr(demo, "PLANTED_QUALITY_ISSUES", None)
    if planted is None:
        pytest.skip("itu_plan.demo.PLANTED_QUALITY_ISSUES does not exist yet (the demo's planted findings)")
    with Workspace.open(f"sqlite:///{demo_sqlite}", user="admin") as ws:
        table = ws.report_table("data-quality")
        with ws.reading() as session:
            statement = select(Actual.reference, Activity.code).join(Activity, Activity.id == Actual.activity_id)
            activity_of = {reference: code for reference, code in session.execute(statement)}
    expected: Counter[tuple[str, str]] = Counter()
    years: dict[tuple[str, str], str] = {}
    for item in planted:
        if hasattr(item, "kind"):
            check, key = KIND_CHECKS[item.kind], item.key
            if check.startswith("ACTUALS_"):
                expected[check, activity_of[key]] += 1
            elif check == "MISSING_OVERHEAD_RATE":
                product, _, year = key.rpartition("/")
                expected[check, product] += 1
                years[check, product] = year
            else:
                expected[check, key] += 1
        else:
            check, subject, *year = (str(v) for v in item)
            expected[check, subject] += 1
            if year:
                years[check, subject] = year[0]
    found = {(check, subject): (year, detail) for check, subject, year, detail in table.rows}
    assert sorted(found) == sorted(expected)
    for (check, subject), count in expected.items():
        year, detail = found[check, subject]
        if check.startswith("ACTUALS_"):
            assert detail.startswith(f"{count} actual"), (check, subject, detail)
        if (check, subject) in years:
            assert str(year) == years[check, subject], (check, subject)
