"""Every report shows the workspace as it stood at the end of its as-of date, keeps
to the years of its version's period and honours --year (CONTRACT.md, "Periods and
dates (v2)"), on SQLite and PostgreSQL.

The bundle's data runs to 2007-06-30 (the workspace's as-of date). The boundaries
sit on 2007-06-29 and 2007-06-30: at as-of 2007-06-29 what is dated that day
counts and what is dated the next day does not.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from sqlalchemy import insert, update

from itu_plan import Workspace
from itu_plan.cli import main
from itu_plan.model import PlanVersion, Setting
from itu_plan.reports import budget_vs_actual, cost_recovery
from itu_plan.reports.output import to_table
from tests.bundles import load_bundle

AS_OF = "2007-06-30"  # the date the workspace's data runs to
EVE = "2007-06-29"  # the day before: the boundary of most tests

BUNDLE = {
    "units.csv": "code,name,parent_code\nU1,Unit one,\nU2,Unit two,\n",
    "objectives.csv": "code,title,parent_code\nO1,Objective one,\nO2,Objective two,\n",
    "funding_sources.csv": "code,name,kind\nRB,Regular budget,assessed\nCR,Sales,cost_recovery\n",
    "members.csv": "code,name,type,region,units\nAAA,State A,member_state,A,1\nBBB,State B,member_state,D,1\n",
    # the previous biennium's period comes from its name, the current one's from the columns
    "versions.csv": "name,status,based_on,first_year,last_year\n"
    "2004-2005 approved,approved,,,\nV6,approved,,2006,2007\n",
    "activities.csv": "code,title,objective_code,unit_code,start_date,end_date,status,owner\n"
    "A1,First,O1,U1,,,ongoing,\nA2,Second,O2,U2,,,ongoing,\n",
    "cost_lines.csv": "version,activity_code,year,category,grade,work_months,amount,funding_source_code\n"
    "2004-2005 approved,A1,2004,travel,,,100,RB\n"
    "2004-2005 approved,A1,2005,travel,,,200,RB\n"
    "V6,A1,2006,travel,,,300,RB\n"
    "V6,A2,2007,meetings,,,400,RB\n",
    "budget.csv": "version,unit_code,objective_code,year,category,amount\n"
    "2004-2005 approved,U1,O1,2004,travel,1000\n"
    "2004-2005 approved,U1,O1,2005,travel,1000\n"
    "V6,U1,O1,2006,travel,2000\n"
    "V6,U2,O2,2007,meetings,3000\n",
    "actuals.csv": "reference,date,unit_code,activity_code,objective_code,category,amount,funding_source_code\n"
    "R04,2004-06-01,U1,A1,,travel,100,RB\n"
    "R05,2005-12-31,U1,A1,,travel,200,RB\n"
    "R06,2006-05-01,U1,A1,,travel,500,RB\n"
    "R07A,2007-06-29,U2,A2,,meetings,10,RB\n"  # on EVE
    "R07B,2007-06-30,U2,A2,,meetings,20,RB\n"  # on AS_OF: the day after EVE
    "R07C,2007-07-01,U2,A2,,meetings,1000,RB\n",  # after the date the data is known to
    "products.csv": "code,name,unit_code,kind\nP1,Handbook,U1,publication\n",
    "cost_recovery.csv": "reference,date,product_code,type,amount,quantity\n"
    "C1,2006-03-01,P1,income,100,\nC2,2007-06-29,P1,income,50,\nC3,2007-06-30,P1,direct_cost,40,\n"
    "C4,2007-07-01,P1,income,999,\n",  # after the date the data is known to
    "posts.csv": "post_number,grade,unit_code,funding_source_code,status\nPST1,P-3,U1,RB,filled\nPST2,P-4,U2,RB,filled\n",
    "recruitments.csv": "vacancy_id,post_number,notice_date,closing_date,selection_date,eod_date\n"
    "VA1,PST1,2007-01-01,,,2007-06-29\n"  # 179 days, completed on EVE
    "VA2,PST2,2007-02-01,,,2007-06-30\n"  # 149 days, completed the day after EVE
    "VA3,PST1,2006-01-01,,,2006-03-01\n",  # 59 days
    "staff.csv": "staff_id,post_number,grade,gender,nationality,start_date,end_date\n"
    "S1,PST1,P-3,F,AAA,2005-01-01,2007-06-29\n"  # last day of service: EVE
    "S2,PST2,P-4,M,BBB,2006-01-01,\n"
    "S3,,P-2,F,AAA,2007-06-30,\n"  # starts the day after EVE
    "S4,,G-5,F,AAA,2000-01-01,\n",  # general service: never counted
    "agreements.csv": "code,title,kind,parties,signed_date,in_force_date,status\n"
    "AG1,First,mou,A; B,2007-06-29,,signed\n"
    "AG2,Second,treaty,A; C,2007-06-30,,signed\n"
    "AG3,Third,mou,B; C,,,draft\n",
}

#: the reports this file covers, and those of them that belong to a version
REPORTS = ("plan-costs", "budget-vs-actual", "cost-recovery", "recruitment", "representation", "agreements")
OF_A_VERSION = ("plan-costs", "budget-vs-actual")
BVA = ["year", "unit_code", "objective_code", "budget", "actual", "variance", "execution_rate"]


@pytest.fixture
def dated(workspace: Workspace, tmp_path: Path) -> Workspace:
    """The bundle imported, with the workspace's as-of date set to AS_OF."""
    load_bundle(workspace, tmp_path / "bundle", BUNDLE)
    with workspace.engine.begin() as connection:
        connection.execute(insert(Setting).values(key="as_of", value=AS_OF))
    return workspace


def report_csv(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> list[list[str]]:
    assert main(["--db", ws.url, "report", *args, "--format", "csv"]) == 0
    return list(csv.reader(io.StringIO(capsys.readouterr().out)))


# -- budget-vs-actual ---------------------------------------------------------------------------


def test_budget_vs_actual_keeps_to_the_period_and_the_date(
    dated: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    # the default version is V6 (2006-2007): no 2004-05 rows; R07C (after the data's date) is not there
    assert report_csv(dated, capsys, "budget-vs-actual") == [
        BVA,
        ["2006", "U1", "O1", "2000.00", "500.00", "1500.00", "0.2500"],
        ["2007", "U2", "O2", "3000.00", "30.00", "2970.00", "0.0100"],
    ]
    # the previous biennium lists its own actuals, not the 2006-07 ones
    assert report_csv(dated, capsys, "budget-vs-actual", "--version", "2004-2005 approved")[1:] == [
        ["2004", "U1", "O1", "1000.00", "100.00", "900.00", "0.1000"],
        ["2005", "U1", "O1", "1000.00", "200.00", "800.00", "0.2000"],
    ]
    # an actual dated on as-of counts (R07A), one dated the day after does not (R07B)
    assert report_csv(dated, capsys, "budget-vs-actual", "--as-of", EVE)[1:] == [
        ["2006", "U1", "O1", "2000.00", "500.00", "1500.00", "0.2500"],
        ["2007", "U2", "O2", "3000.00", "10.00", "2990.00", "0.0033"],
    ]
    assert report_csv(dated, capsys, "budget-vs-actual", "--year", "2007")[1:] == [
        ["2007", "U2", "O2", "3000.00", "30.00", "2970.00", "0.0100"],
    ]
    # a year outside the version's period has no rows
    assert report_csv(dated, capsys, "budget-vs-actual", "--year", "2005") == [BVA]


def test_budget_vs_actual_compute_as_the_warnings_call_it(dated: Workspace) -> None:
    from itu_plan.reports import make_options

    with dated.engine.connect() as connection:
        version, rows = budget_vs_actual.compute(connection, make_options(as_of=EVE))
        assert version == "V6"
        assert rows == [(2006, "U1", "O1", 200000, 50000), (2007, "U2", "O2", 300000, 1000)]
        # the old signatures still answer
        assert sum(budget_vs_actual.actuals(connection, 2007, dt.date(2007, 6, 29)).values()) == 1000
        assert sum(budget_vs_actual.actuals(connection).values()) == 183000  # every actual, without a date


def test_actuals_from_totals_and_from_transactions_agree(dated: Workspace) -> None:
    years = range(2004, 2008)
    with dated.engine.connect() as connection:
        plain = budget_vs_actual.from_transactions(connection, years, dt.date(2007, 12, 31))
        assert plain == budget_vs_actual.from_totals(connection, years)
        assert sum(plain.values()) == 183000
        # the year as-of falls in from the transactions, the years before it from the totals
        mixed = budget_vs_actual.actuals(connection, as_of=dt.date(2007, 6, 30), years=years)
        assert mixed == budget_vs_actual.from_transactions(connection, years, dt.date(2007, 6, 30))
        assert sum(mixed.values()) == 83000


def test_budget_vs_actual_drill_down(dated: Workspace) -> None:
    cell = {"year": 2007, "unit_code": "U2", "objective_code": "O2"}
    assert dated.drill("budget-vs-actual", cell)["reference"].tolist() == ["R07A", "R07B"]
    assert dated.drill("budget-vs-actual", cell, as_of=EVE)["reference"].tolist() == ["R07A"]
    # 2007 is not a year of the previous biennium
    assert dated.drill("budget-vs-actual", cell, version="2004-2005 approved").empty
    old = dated.drill(
        "budget-vs-actual", {"year": 2005, "unit_code": "U1", "objective_code": "O1"}, version="2004-2005 approved"
    )
    assert old["reference"].tolist() == ["R05"] and old.attrs["period"] == "2004-2005"


# -- plan-costs ---------------------------------------------------------------------------------


def test_plan_costs_keeps_to_the_period(dated: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    head = ["year", "unit_code", "objective_code", "category", "amount"]
    assert report_csv(dated, capsys, "plan-costs") == [
        head,
        ["2006", "U1", "O1", "travel", "300.00"],
        ["2007", "U2", "O2", "meetings", "400.00"],
    ]
    assert report_csv(dated, capsys, "plan-costs", "--year", "2007")[1:] == [["2007", "U2", "O2", "meetings", "400.00"]]
    assert report_csv(dated, capsys, "plan-costs", "--version", "2004-2005 approved", "--year", "2005")[1:] == [
        ["2005", "U1", "O1", "travel", "200.00"]
    ]
    # a version whose period no longer covers some of its lines (say, a period set by
    # `init --period` on an old workspace) shows its period only
    with dated.engine.begin() as connection:
        connection.execute(update(PlanVersion).where(PlanVersion.name == "V6").values(last_year=2006))
    assert report_csv(dated, capsys, "plan-costs")[1:] == [["2006", "U1", "O1", "travel", "300.00"]]
    assert report_csv(dated, capsys, "budget-vs-actual")[1:] == [
        ["2006", "U1", "O1", "2000.00", "500.00", "1500.00", "0.2500"]
    ]
    cell = {"year": 2007, "unit_code": "U2", "objective_code": "O2", "category": "meetings"}
    assert dated.drill("plan-costs", cell).empty


# -- recruitment, representation, agreements, cost-recovery -------------------------------------


def test_recruitment_completed_by_as_of(dated: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    head = ["year", "unit_code", "grade", "completed", "median_days", "mean_days", "within_target"]
    assert report_csv(dated, capsys, "recruitment") == [
        head,
        ["2006", "U1", "P-3", "1", "59.0", "59.0", "1.0000"],
        ["2007", "U1", "P-3", "1", "179.0", "179.0", "0.0000"],
        ["2007", "U2", "P-4", "1", "149.0", "149.0", "0.0000"],
    ]
    # VA2 enters on duty the day after: it is still open at EVE
    assert report_csv(dated, capsys, "recruitment", "--as-of", EVE)[1:] == [
        ["2006", "U1", "P-3", "1", "59.0", "59.0", "1.0000"],
        ["2007", "U1", "P-3", "1", "179.0", "179.0", "0.0000"],
    ]
    assert report_csv(dated, capsys, "recruitment", "--year", "2006")[1:] == [
        ["2006", "U1", "P-3", "1", "59.0", "59.0", "1.0000"]
    ]
    assert report_csv(dated, capsys, "recruitment", "--as-of", "2006-02-28") == [head]


def test_representation_counts_staff_in_service(dated: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    head = ["dimension", "category", "count", "share"]
    # the day before S1's last day: S1 and S2 (S3 has not started, S4 is general service)
    assert report_csv(dated, capsys, "representation", "--as-of", "2007-06-28") == [
        head,
        ["gender", "F", "1", "0.5000"],
        ["gender", "M", "1", "0.5000"],
        ["region", "A", "1", "0.5000"],
        ["region", "D", "1", "0.5000"],
    ]
    # on S1's end_date S1 is no longer in service; S3 starts the day after
    assert report_csv(dated, capsys, "representation", "--as-of", EVE) == [
        head,
        ["gender", "M", "1", "1.0000"],
        ["region", "D", "1", "1.0000"],
    ]
    # S3 started on AS_OF
    assert report_csv(dated, capsys, "representation")[1:] == [
        ["gender", "F", "1", "0.5000"],
        ["gender", "M", "1", "0.5000"],
        ["region", "A", "1", "0.5000"],
        ["region", "D", "1", "0.5000"],
    ]
    assert dated.report("representation", as_of=EVE).attrs["staff"] == 1


def test_agreements_signed_by_as_of(dated: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert [r[0] for r in report_csv(dated, capsys, "agreements")[1:]] == ["AG1", "AG2", "AG3"]
    # AG2 is signed the day after: absent; AG3, not yet signed, is there
    assert [r[0] for r in report_csv(dated, capsys, "agreements", "--as-of", EVE)[1:]] == ["AG1", "AG3"]


def test_cost_recovery_to_as_of(dated: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_csv(dated, capsys, "cost-recovery")[1:] == [
        ["2006", "P1", "100.00", "0.00", "0.00", "0.00", "100.00", ""],
        ["2007", "P1", "50.00", "40.00", "0.00", "40.00", "10.00", "1.2500"],
    ]
    assert report_csv(dated, capsys, "cost-recovery", "--as-of", EVE)[1:] == [
        ["2006", "P1", "100.00", "0.00", "0.00", "0.00", "100.00", ""],
        ["2007", "P1", "50.00", "0.00", "0.00", "0.00", "50.00", ""],
    ]
    assert report_csv(dated, capsys, "cost-recovery", "--year", "2007")[1:] == [
        ["2007", "P1", "50.00", "40.00", "0.00", "40.00", "10.00", "1.2500"],
    ]
    with dated.engine.connect() as connection:  # as the warnings call it
        assert cost_recovery.compute(connection, None, dt.date(2007, 6, 29))[1][:4] == (2007, "P1", 5000, 0)


# -- every report -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REPORTS)
def test_an_as_of_after_the_data_is_refused(dated: Workspace, capsys: pytest.CaptureFixture[str], name: str) -> None:
    assert main(["--db", dated.url, "report", name, "--as-of", "2007-07-01"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "2007-06-30" in captured.err and "Traceback" not in captured.err
    assert main(["--db", dated.url, "report", name, "--as-of", AS_OF, "--format", "csv"]) == 0


@pytest.mark.parametrize("name", REPORTS)
def test_notes_say_what_the_numbers_mean(dated: Workspace, name: str) -> None:
    attrs = dated.report(name, as_of=EVE).attrs
    assert attrs["as_of"] == EVE
    assert dated.report(name).attrs["as_of"] == AS_OF
    if name in OF_A_VERSION:
        assert (attrs["version"], attrs["period"]) == ("V6", "2006-2007")
        old = dated.report(name, version="2004-2005 approved").attrs
        assert (old["version"], old["period"]) == ("2004-2005 approved", "2004-2005")


def test_the_table_names_version_period_and_as_of(dated: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", dated.url, "report", "budget-vs-actual", "--version", "2004-2005 approved"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first == "budget-vs-actual: version 2004-2005 approved (2004-2005), as of 2007-06-30"
    assert to_table(dated.report_table("agreements")).splitlines()[0] == "agreements: as of 2007-06-30"
    # CSV stays the bare columns
    assert report_csv(dated, capsys, "budget-vs-actual")[0] == BVA
