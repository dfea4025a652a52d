"""Every report and warning rule against a small bundle whose answers are worked out
by hand in the comments, on SQLite and PostgreSQL.

Edge cases: a zero budget (empty execution_rate), a reversal, an actual without
activity, one with neither activity nor objective, a product without an
overhead rate, a recruitment completed on the target day exactly, a KPI whose
direction is down, a member without a region.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from itu_plan import Workspace
from itu_plan.cli import main
from tests.bundles import load_bundle, report_rows

BUNDLE = {
    "units.csv": "code,name,parent_code\nU1,Unit one,\nU2,Unit two,\n",
    "objectives.csv": "code,title,parent_code\nO1,Objective one,\nO2,Objective two,\n",
    "funding_sources.csv": "code,name,kind\nRB,Regular budget,assessed\nCR,Sales,cost_recovery\nVC,Voluntary,voluntary\n",
    "members.csv": "code,name,type,region,units\nAAA,State A,member_state,A,1.5\nBBB,State B,member_state,D,0.0625\n"
    "SM1,Company,sector_member,,2\nAS1,Associate,associate,,1\n",
    "unit_values.csv": "year,member_type,value\n2006,member_state,318000\n2006,sector_member,63600\n"
    "2006,associate,10600\n2007,member_state,320000\n",
    "versions.csv": "name,status,based_on,first_year,last_year\nV1,approved,,2006,2007\nV2,draft,V1,2006,2007\n",
    "activities.csv": "code,title,objective_code,unit_code,start_date,end_date,status,owner\n"
    "A1,First,O1,U1,2006-01-01,2007-12-31,ongoing,\nA2,Second,O2,U2,,,planned,\n",
    "standard_costs.csv": "grade,year,annual_cost\nP-3,2006,180000\n",
    "cost_lines.csv": "version,activity_code,year,category,grade,work_months,amount,funding_source_code\n"
    "V1,A1,2006,staff,P-3,2,,RB\n"  # 2 x 180,000 / 12 = 30,000.00
    "V1,A1,2006,travel,,,1000.50,VC\n"
    "V1,A2,2006,other,,,500.25,RB\n"
    "V1,A2,2007,meetings,,,2000,RB\n"
    "V2,A1,2006,travel,,,999,VC\n",
    "budget.csv": "version,unit_code,objective_code,year,category,amount\n"
    "V1,U1,O1,2006,staff,30000\nV1,U1,O1,2006,travel,1000\nV1,U2,O2,2006,other,0\nV1,U2,O2,2007,meetings,1500\n",
    "actuals.csv": "reference,date,unit_code,activity_code,objective_code,category,amount,funding_source_code\n"
    "R1,2006-03-01,U1,A1,,staff,25000.10,RB\n"
    "R2,2006-04-01,U1,A1,,travel,1200,VC\n"
    "R3,2006-04-02,U1,A1,,travel,-200,VC\n"  # a reversal
    "R4,2006-05-01,U2,,O2,other,100.10,RB\n"  # no activity: its own objective
    "R5,2007-02-01,U2,A2,,meetings,1600.40,RB\n"
    "R6,2006-06-01,U1,,,other,50,RB\n",  # neither activity nor objective
    "income.csv": "reference,date,funding_source_code,amount\nI1,2007-01-15,VC,5000\n",
    "products.csv": "code,name,unit_code,kind\nP1,Handbook,U1,publication\nP2,Course,U2,training\n",
    "overhead_rates.csv": "unit_code,year,rate\nU1,2006,0.25\n",
    "cost_recovery.csv": "reference,date,product_code,type,amount,quantity\n"
    "C1,2006-01-10,P1,income,1000,10\nC2,2006-01-11,P1,direct_cost,800,\n"
    "C3,2006-02-01,P2,income,300,\nC4,2006-02-02,P2,direct_cost,400.33,\n"
    "C5,2007-03-01,P1,income,1500,\nC6,2007-03-02,P1,direct_cost,1000,\n",
    "kpis.csv": "code,objective_code,name,measure,direction,baseline\n"
    "K1,O1,Share done,percentage,up,70\nK2,O2,Days taken,number,down,15\nK3,O1,Reports,number,up,40\n",
    "kpi_targets.csv": "kpi_code,year,target\nK1,2006,80\nK2,2006,10\nK3,2006,50\n",
    "measurements.csv": "kpi_code,date,value\nK1,2006-03-31,85\nK1,2006-12-31,78\nK2,2006-06-30,12\nK3,2006-12-31,50\n",
    "posts.csv": "post_number,grade,unit_code,funding_source_code,status\n"
    "PST1,P-3,U1,RB,filled\nPST2,G-5,U2,RB,vacant\nPST3,P-4,U1,RB,filled\n",
    "recruitments.csv": "vacancy_id,post_number,notice_date,closing_date,selection_date,eod_date\n"
    "V1,PST1,2006-01-01,,,2006-05-01\n"  # 120 days: on the target day exactly
    "V2,PST3,2006-01-01,,,2006-07-20\n"  # 200 days
    "V3,PST2,2006-10-01,,,\n"  # still open
    "V4,PST1,2005-01-01,,,2005-03-02\n"  # 60 days
    "V5,PST1,2006-03-01,,,2006-03-11\n"  # 10 days
    "V6,PST1,2006-04-01,,,2006-04-05\n",  # 4 days
    "staff.csv": "staff_id,post_number,grade,gender,nationality,start_date\n"
    "S1,PST1,P-3,F,AAA,2006-05-01\nS2,PST3,P-4,M,BBB,2006-07-20\nS3,,G-5,F,AAA,2001-01-01\n"
    "S4,,D-1,X,SM1,2003-01-01\nS5,,SG,M,AAA,2003-01-01\n",
    "agreements.csv": "code,title,kind,parties,signed_date,in_force_date,status\n"
    "AG2,Second,treaty,A; B,2005-01-01,,signed\nAG1,First,mou,A; C,2004-01-01,2004-02-01,in force\n",
}


@pytest.fixture
def small(workspace: Workspace, tmp_path: Path) -> Workspace:
    return load_bundle(workspace, tmp_path / "bundle", BUNDLE)


report_csv = report_rows


def test_plan_costs(small: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_csv(small, capsys, "plan-costs") == [
        ["year", "unit_code", "objective_code", "category", "amount"],
        ["2006", "U1", "O1", "staff", "30000.00"],
        ["2006", "U1", "O1", "travel", "1000.50"],
        ["2006", "U2", "O2", "other", "500.25"],
        ["2007", "U2", "O2", "meetings", "2000.00"],
    ]
    assert report_csv(small, capsys, "plan-costs", "--version", "V2")[1:] == [["2006", "U1", "O1", "travel", "999.00"]]
    assert report_csv(small, capsys, "plan-costs", "--year", "2007")[1:] == [
        ["2007", "U2", "O2", "meetings", "2000.00"]
    ]


def test_budget_vs_actual(small: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_csv(small, capsys, "budget-vs-actual") == [
        ["year", "unit_code", "objective_code", "budget", "actual", "variance", "execution_rate"],
        ["2006", "U1", "", "0.00", "50.00", "-50.00", ""],  # neither activity nor objective
        # 25,000.10 + 1,200 - 200 = 26,000.10 against 31,000; 26,000.10 / 31,000 = 0.83871
        ["2006", "U1", "O1", "31000.00", "26000.10", "4999.90", "0.8387"],
        ["2006", "U2", "O2", "0.00", "100.10", "-100.10", ""],  # zero budget
        ["2007", "U2", "O2", "1500.00", "1600.40", "-100.40", "1.0669"],  # 1,600.40 / 1,500 = 1.06693
    ]
    # as of a date before some actuals: R4, R5 and R6 are not yet there
    assert report_csv(small, capsys, "budget-vs-actual", "--as-of", "2006-04-30")[1:] == [
        ["2006", "U1", "O1", "31000.00", "26000.10", "4999.90", "0.8387"],
        ["2006", "U2", "O2", "0.00", "0.00", "0.00", ""],
        ["2007", "U2", "O2", "1500.00", "0.00", "1500.00", "0.0000"],
    ]


def test_financial_plan(small: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    rows = report_csv(small, capsys, "financial-plan")
    assert rows[0] == ["year", "line", "plan", "actual"]
    # plan 2006: (1.5 + 0.0625) x 318,000 = 496,875; 2 x 63,600; 1 x 10,600; no income budget;
    #   expenditure 30,000 + 1,000.50 + 500.25 = 31,500.75
    # actual 2006: no contributions received; C1 + C3 = 1,300;
    #   expenditure 25,000.10 + 1,200 - 200 + 100.10 + 50 = 26,150.20
    # plan 2007: 1.5625 x 320,000 = 500,000; no sector-member or associate value; 2,000
    # actual 2007: C5 1,500; I1 5,000; R5 1,600.40
    assert rows[1:] == [
        ["2006", "assessed_contributions", "496875.00", "0.00"],
        ["2006", "sector_member_contributions", "127200.00", "0.00"],
        ["2006", "associate_contributions", "10600.00", "0.00"],
        ["2006", "cost_recovery", "0.00", "1300.00"],
        ["2006", "other_income", "0.00", "0.00"],
        ["2006", "total_income", "634675.00", "1300.00"],
        ["2006", "expenditure", "31500.75", "26150.20"],
        ["2006", "balance", "603174.25", "-24850.20"],
        ["2006", "reserve_drawing", "0.00", "0.00"],
        ["2006", "net_balance", "603174.25", "-24850.20"],
        ["2007", "assessed_contributions", "500000.00", "0.00"],
        ["2007", "sector_member_contributions", "0.00", "0.00"],
        ["2007", "associate_contributions", "0.00", "0.00"],
        ["2007", "cost_recovery", "0.00", "1500.00"],
        ["2007", "other_income", "0.00", "5000.00"],
        ["2007", "total_income", "500000.00", "6500.00"],
        ["2007", "expenditure", "2000.00", "1600.40"],
        ["2007", "balance", "498000.00", "4899.60"],
        ["2007", "reserve_drawing", "0.00", "0.00"],
        ["2007", "net_balance", "498000.00", "4899.60"],
    ]


def test_financial_plan_scenario(small: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    before = small.checksum()
    args = ["--set", "member_state_unit_value=330000", "--set", "inflation=0.10", "--set", "vacancy_rate=0.5"]
    rows = {(y, line): (p, a) for y, line, p, a in report_csv(small, capsys, "financial-plan", *args)[1:]}
    assert rows["2006", "assessed_contributions"] == ("515625.00", "0.00")  # 1.5625 x 330,000
    assert rows["2007", "assessed_contributions"] == ("515625.00", "0.00")
    assert rows["2006", "expenditure"] == ("16500.75", "26150.20")  # staff halved: 15,000 + 1,000.50 + 500.25
    assert rows["2007", "expenditure"] == ("2200.00", "1600.40")  # one year of 10 % inflation; actual unchanged
    assert small.checksum() == before, "a scenario writes nothing"
    frame = small.report("financial-plan", scenario={"inflation": "0.10"})
    assert frame.attrs["scenario"] == {"inflation": "0.1"}
    assert main(["--db", small.url, "report", "financial-plan", "--set", "bogus=1"]) == 2
    assert main(["--db", small.url, "report", "financial-plan", "--set", "inflation=5"]) == 2  # 500 %: refused


def test_cost_recovery(small: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_csv(small, capsys, "cost-recovery") == [
        ["year", "product_code", "income", "direct_cost", "indirect_cost", "full_cost", "net", "recovery_rate"],
        ["2006", "P1", "1000.00", "800.00", "200.00", "1000.00", "0.00", "1.0000"],  # 800 x 0.25
        # no overhead rate for U2: indirect 0; 300 / 400.33 = 0.74938
        ["2006", "P2", "300.00", "400.33", "0.00", "400.33", "-100.33", "0.7494"],
        ["2007", "P1", "1500.00", "1000.00", "0.00", "1000.00", "500.00", "1.5000"],  # no 2007 rate
    ]


def test_recruitment(small: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_csv(small, capsys, "recruitment") == [
        ["year", "unit_code", "grade", "completed", "median_days", "mean_days", "within_target"],
        ["2005", "U1", "P-3", "1", "60.0", "60.0", "1.0000"],
        # 120 (on the target day: within), 10 and 4 days: median 10, mean 134 / 3 = 44.67
        ["2006", "U1", "P-3", "3", "10.0", "44.7", "1.0000"],
        ["2006", "U1", "P-4", "1", "200.0", "200.0", "0.0000"],
    ]
    rows = report_csv(small, capsys, "recruitment", "--target-days", "100")
    assert rows[2][-1] == "0.6667"  # 2 of 3 within 100 days


def test_representation(small: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    # S1 P-3 F A, S2 P-4 M D, S4 D-1 X (a sector member: no region), S5 SG M A; S3 is G-5
    assert report_csv(small, capsys, "representation") == [
        ["dimension", "category", "count", "share"],
        ["gender", "F", "1", "0.2500"],
        ["gender", "M", "2", "0.5000"],
        ["gender", "X", "1", "0.2500"],
        ["region", "A", "2", "0.5000"],
        ["region", "D", "1", "0.2500"],
    ]


def test_agreements(small: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_csv(small, capsys, "agreements") == [
        ["code", "title", "kind", "parties", "signed_date", "in_force_date", "status"],
        ["AG1", "First", "mou", "A; C", "2004-01-01", "2004-02-01", "in force"],
        ["AG2", "Second", "treaty", "A; B", "2005-01-01", "", "signed"],
    ]


def test_warnings(small: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    rows = report_csv(small, capsys, "warnings", "--as-of", "2007-03-01")
    assert rows[0] == ["severity", "rule", "subject", "year", "message"]
    assert [r[:4] for r in rows[1:]] == [
        ["high", "COST_RECOVERY_DEFICIT", "P2/2006", "2006"],  # 100.33 short of 400.33: 25 %
        ["high", "COST_RECOVERY_SURPLUS", "P1/2007", "2007"],  # 1,500 and C6's cost is dated the day after
        ["high", "KPI_OFF_TRACK", "K2/2006", "2006"],  # down: 12 above the target 10, 20 %
        ["high", "OVERSPEND", "U1//2006", "2006"],  # no budget at all
        ["high", "OVERSPEND", "U2/O2/2006", "2006"],  # a zero budget
        ["medium", "MISSING_OVERHEAD_RATE", "P2/2006", "2006"],  # U2 has no overhead rate
        ["medium", "OVERSPEND", "U2/O2/2007", "2007"],  # 1,600.40 against 1,500: 6.7 %
        ["low", "KPI_OFF_TRACK", "K1/2006", "2006"],  # up: 78 at the end of 2006 below 80, 2.5 %; K3 meets 50
        ["low", "RECRUITMENT_DELAY", "V3", ""],  # open 151 days, target 120; about no year
    ]
    messages = {r[2]: r[4] for r in rows[1:]}
    assert "CHF 1,600.40 spent against a budget of CHF 1,500.00" in messages["U2/O2/2007"]
    # earlier: V3 open only 92 days, 2007 actuals and C5 not yet there
    earlier = [r[:3] for r in report_csv(small, capsys, "warnings", "--as-of", "2007-01-01")[1:]]
    assert ["low", "RECRUITMENT_DELAY", "V3"] not in earlier
    assert ["medium", "OVERSPEND", "U2/O2/2007"] not in earlier
    assert ["high", "COST_RECOVERY_SURPLUS", "P1/2007"] not in earlier
    # mid-2006: K2's 12 and K1's 85 are not compared with 2006's year-end targets; V2 is still open
    mid = [r[:4] for r in report_csv(small, capsys, "warnings", "--as-of", "2006-06-30")[1:]]
    assert not any(r[1] == "KPI_OFF_TRACK" for r in mid) and ["low", "RECRUITMENT_DELAY", "V2", ""] in mid
    only = report_csv(small, capsys, "warnings", "--as-of", "2007-03-01", "--year", "2007")
    assert [r[:4] for r in only[1:]] == [r[:4] for r in rows[1:] if r[3] == "2007"] != []


def test_json_is_exact(small: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", small.url, "report", "budget-vs-actual", "--format", "json"]) == 0
    text = capsys.readouterr().out
    assert '"budget": 31000.00' in text and '"execution_rate": null' in text
    rows = json.loads(text, parse_float=Decimal)
    assert rows[1]["actual"] == Decimal("26000.10")


def test_table_is_for_people(small: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", small.url, "report", "budget-vs-actual"]) == 0
    out = capsys.readouterr().out
    assert "31,000.00" in out and "83.87 %" in out


def test_dataframe_api(small: Workspace) -> None:
    frame = small.report("budget-vs-actual")
    assert list(frame.columns) == [
        "year",
        "unit_code",
        "objective_code",
        "budget",
        "actual",
        "variance",
        "execution_rate",
    ]
    assert frame.loc[1, "actual"] == Decimal("26000.10")
    assert frame.loc[0, "execution_rate"] is None
    assert frame.attrs["version"] == "V1"
    assert small.report("plan-costs", version="V2")["amount"].tolist() == [Decimal("999.00")]


def test_drill_down(small: Workspace) -> None:
    cell = small.drill("budget-vs-actual", {"year": 2006, "unit_code": "U1", "objective_code": "O1"})
    assert cell["reference"].tolist() == ["R1", "R2", "R3"]
    assert sum(cell["amount"]) == Decimal("26000.10")
    loose = small.drill("budget-vs-actual", {"year": 2006, "unit_code": "U1", "objective_code": None})
    assert loose["reference"].tolist() == ["R6"]
    costs = small.drill("plan-costs", {"year": 2006, "unit_code": "U1", "objective_code": "O1", "category": "staff"})
    assert costs["amount"].tolist() == [Decimal("30000.00")] and costs["work_months"].tolist() == ["2.00"]


def test_bad_options_are_refused(small: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", small.url, "report", "plan-costs", "--version", "nope"]) == 2
    assert "there is no plan version 'nope'" in capsys.readouterr().err
    assert main(["--db", small.url, "report", "plan-costs", "--year", "06"]) == 2
    assert main(["--db", small.url, "report", "warnings", "--as-of", "yesterday"]) == 2
    assert main(["--db", small.url, "report", "nothing"]) == 2


def test_demo_fires_every_warning_rule(demo_sqlite: str) -> None:
    with Workspace.open(f"sqlite:///{demo_sqlite}") as ws:
        rules = set(ws.report("warnings")["rule"])
    assert rules >= {
        "OVERSPEND",
        "KPI_OFF_TRACK",
        "RECRUITMENT_DELAY",
        "COST_RECOVERY_DEFICIT",
        "COST_RECOVERY_SURPLUS",
        "FUNDING_GAP",
    }


def test_sqlite_and_postgres_agree_on_the_demo(demo_sqlite: str, postgres, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from itu_plan.demo import build_demo_workspace
    from itu_plan.reports import NAMES, make_options
    from itu_plan.reports.output import to_csv

    pg = Workspace.open(postgres.new_database(), user="tester")
    build_demo_workspace(pg, progress=False)
    with Workspace.open(f"sqlite:///{demo_sqlite}", user="tester") as lite, pg:
        for name in NAMES:
            for options in (make_options(), make_options(year=2006), make_options(as_of="2007-03-31")):
                assert to_csv(lite.report_table(name, options)) == to_csv(pg.report_table(name, options)), name
