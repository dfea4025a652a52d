"""The financial plan of contract v2 (plan and actual, the version's period, the reserve
drawing below the balance, as-of boundaries, scenario bounds) against a small bundle
whose figures are worked out by hand in the comments, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from itu_plan import Workspace
from itu_plan.cli import main
from itu_plan.reports import financial_plan, make_options
from tests.bundles import load_bundle, report_rows

BUNDLE = {
    "units.csv": "code,name,parent_code\nU1,Unit one,\n",
    "objectives.csv": "code,title,parent_code\nO1,Objective one,\n",
    "funding_sources.csv": "code,name,kind\nRB,Member States,assessed\nSM,Sector Members,sector_members\n"
    "AS,Associates,associates\nCR,Sales,cost_recovery\nVC,Voluntary,voluntary\nTF,Trust fund,trust_fund\n"
    "OT,Interest,other\nRES,Reserve,reserve\n",
    # Member States 2 + 0.0625 = 2.0625 units; a Sector Member 1 unit; an Associate 0.5
    "members.csv": "code,name,type,region,units\nAAA,State A,member_state,A,2\nBBB,State B,member_state,D,0.0625\n"
    "SM1,Company,sector_member,,1\nAS1,Associate,associate,,0.5\n",
    "unit_values.csv": "year,member_type,value\n2005,member_state,90000\n"
    "2006,member_state,100000\n2006,sector_member,20000\n2006,associate,8000\n"
    "2007,member_state,102000.05\n2007,sector_member,20000\n2007,associate,8000\n",
    "versions.csv": "name,status,based_on,first_year,last_year\nV0,approved,,2004,2005\nV1,approved,V0,2006,2007\n",
    "activities.csv": "code,title,objective_code,unit_code,start_date,end_date,status,owner\n"
    "A1,First,O1,U1,2004-01-01,2007-12-31,ongoing,\n",
    "standard_costs.csv": "grade,year,annual_cost\nP-3,2006,120000\n",
    "cost_lines.csv": "version,activity_code,year,category,grade,work_months,amount,funding_source_code\n"
    "V0,A1,2005,other,,,7000,RB\n"
    "V1,A1,2006,staff,P-3,6,,RB\n"  # 6 x 120,000 / 12 = 60,000
    "V1,A1,2006,travel,,,10000.25,RB\n"
    "V1,A1,2007,staff,,,250000,RB\n"
    "V1,A1,2007,meetings,,,20000,RB\n",
    "income_budget.csv": "version,year,funding_source_code,amount\n"
    "V0,2005,VC,8888\n"
    "V1,2006,CR,5000\nV1,2006,VC,3000\nV1,2006,TF,1000.50\n"
    "V1,2007,CR,6000\nV1,2007,OT,500\nV1,2007,RES,20000\n",
    "income.csv": "reference,date,funding_source_code,amount\n"
    "I1,2006-02-15,RB,150000\n"  # of 206,250 planned: arrears
    "I2,2006-03-01,SM,20000\n"
    "I3,2006-12-31,AS,3000\n"
    "I4,2006-05-05,VC,2500\n"
    "I5,2006-07-01,TF,1000\n"
    "I6,2005-12-31,RB,99999\n"  # before the period
    "I7,2007-06-30,RB,100000\n"  # on as-of: counted
    "I8,2007-07-01,RB,55555\n"  # the day after as-of: not counted
    "I9,2007-03-01,RES,15000\n"
    "I10,2007-04-01,OT,250\n"
    "I11,2006-06-01,CR,777\n",  # cost recovery belongs in cost_recovery.csv: not counted (data-quality names it)
    "products.csv": "code,name,unit_code,kind\nP1,Handbook,U1,publication\n",
    "cost_recovery.csv": "reference,date,product_code,type,amount,quantity\n"
    "C1,2006-03-01,P1,income,4000,\nC2,2006-03-02,P1,direct_cost,3000,\n"
    "C3,2007-06-30,P1,income,1000.10,\nC4,2007-07-01,P1,income,999,\n",
    "actuals.csv": "reference,date,unit_code,activity_code,objective_code,category,amount,funding_source_code\n"
    "R1,2006-01-31,U1,A1,,staff,55000.55,RB\n"
    "R2,2006-06-30,U1,A1,,travel,9000,RB\n"
    "R3,2006-07-01,U1,A1,,travel,-500,RB\n"  # a reversal
    "R4,2007-06-30,U1,A1,,staff,100000,RB\n"  # on as-of
    "R5,2007-07-01,U1,A1,,meetings,777,RB\n"  # the day after as-of
    "R6,2005-12-31,U1,A1,,other,1234,RB\n",  # before the period
}

HEADER = ["year", "line", "plan", "actual"]
# plan 2006: 2.0625 x 100,000 = 206,250; 1 x 20,000; 0.5 x 8,000 = 4,000; cost recovery 5,000;
#   other 3,000 + 1,000.50 = 4,000.50; total 239,250.50; expenditure 60,000 + 10,000.25 = 70,000.25
# actual 2006: I1 150,000 (arrears of 56,250); I2 20,000; I3 3,000; C1 4,000 (C2 is a cost);
#   other I4 + I5 = 3,500; total 180,500; expenditure 55,000.55 + 9,000 - 500 = 63,500.55
Y2006 = [
    ["2006", "assessed_contributions", "206250.00", "150000.00"],
    ["2006", "sector_member_contributions", "20000.00", "20000.00"],
    ["2006", "associate_contributions", "4000.00", "3000.00"],
    ["2006", "cost_recovery", "5000.00", "4000.00"],
    ["2006", "other_income", "4000.50", "3500.00"],
    ["2006", "total_income", "239250.50", "180500.00"],
    ["2006", "expenditure", "70000.25", "63500.55"],
    ["2006", "balance", "169250.25", "116999.45"],
    ["2006", "reserve_drawing", "0.00", "0.00"],
    ["2006", "net_balance", "169250.25", "116999.45"],
]
# plan 2007: 2.0625 x 102,000.05 = 210,375.103125 -> 210,375.10; 20,000; 4,000; 6,000; 500;
#   total 240,875.10; expenditure 250,000 + 20,000 = 270,000; balance -29,124.90;
#   the reserve drawing of 20,000 is below the line, not income: net -9,124.90
# actual 2007 as of 2007-06-30: I7 100,000 (I8 the day after is not there); C3 1,000.10 (C4 is not);
#   other I10 250; total 101,250.10; expenditure R4 100,000 (R5 is not); reserve I9 15,000
Y2007 = [
    ["2007", "assessed_contributions", "210375.10", "100000.00"],
    ["2007", "sector_member_contributions", "20000.00", "0.00"],
    ["2007", "associate_contributions", "4000.00", "0.00"],
    ["2007", "cost_recovery", "6000.00", "1000.10"],
    ["2007", "other_income", "500.00", "250.00"],
    ["2007", "total_income", "240875.10", "101250.10"],
    ["2007", "expenditure", "270000.00", "100000.00"],
    ["2007", "balance", "-29124.90", "1250.10"],
    ["2007", "reserve_drawing", "20000.00", "15000.00"],
    ["2007", "net_balance", "-9124.90", "16250.10"],
]


@pytest.fixture
def plan(workspace: Workspace, tmp_path: Path) -> Workspace:
    return load_bundle(workspace, tmp_path / "bundle", BUNDLE)


def report(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> list[list[str]]:
    rows = report_rows(ws, capsys, "financial-plan", *args)
    assert rows[0] == HEADER
    return rows[1:]


def test_financial_plan_plan_and_actual(plan: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    # V1 by default (the latest approved); its period is 2006-2007: nothing of 2005 shows
    assert report(plan, capsys, "--as-of", "2007-06-30") == Y2006 + Y2007
    frame = plan.report("financial-plan", as_of="2007-06-30")
    assert frame.attrs["version"] == "V1"
    assert frame.attrs["period"] == "2006-2007"
    assert frame.attrs["as_of"] == "2007-06-30"


def test_financial_plan_as_of_boundaries(plan: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    # the day after: I8 55,555, C4 999 and R5 777 are there
    rows = {(y, line): (p, a) for y, line, p, a in report(plan, capsys, "--as-of", "2007-07-01")}
    assert rows["2007", "assessed_contributions"][1] == "155555.00"
    assert rows["2007", "cost_recovery"][1] == "1999.10"
    assert rows["2007", "expenditure"][1] == "100777.00"
    # the day before: I7, C3 and R4 are not yet there; only I10 250 and the reserve I9 15,000
    rows = {(y, line): (p, a) for y, line, p, a in report(plan, capsys, "--as-of", "2007-06-29")}
    assert [rows["2007", line][1] for line in financial_plan.LINES] == [
        "0.00", "0.00", "0.00", "0.00", "250.00", "250.00", "0.00", "250.00", "15000.00", "15250.00",
    ]  # fmt: skip
    assert rows["2006", "expenditure"] == ("70000.25", "63500.55")
    # mid-2006: R1 and R2 (dated on as-of), not the reversal R3 of the next day; 2007 has nothing yet
    rows = {(y, line): (p, a) for y, line, p, a in report(plan, capsys, "--as-of", "2006-06-30")}
    assert rows["2006", "expenditure"] == ("70000.25", "64000.55")
    assert rows["2006", "other_income"] == ("4000.50", "2500.00")  # I4, not I5 of 2006-07-01
    assert {rows["2007", line][1] for line in financial_plan.LINES} == {"0.00"}
    # the plan column does not move with as-of
    assert rows["2007", "net_balance"][0] == "-9124.90"


def test_financial_plan_year_and_version(plan: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert report(plan, capsys, "--as-of", "2007-06-30", "--year", "2007") == Y2007
    assert report(plan, capsys, "--year", "2005") == []  # outside V1's period
    # V0 covers 2004-2005: the 2005 unit value of Member States (2.0625 x 90,000 = 185,625), its
    # income budget and cost lines; actuals of 2005 (I6, R6); nothing of 2006-2007
    rows = report(plan, capsys, "--version", "V0")
    assert [r[0] for r in rows] == ["2004"] * 10 + ["2005"] * 10
    assert {line: (p, a) for y, line, p, a in rows if y == "2005"} == {
        "assessed_contributions": ("185625.00", "99999.00"),
        "sector_member_contributions": ("0.00", "0.00"),
        "associate_contributions": ("0.00", "0.00"),
        "cost_recovery": ("0.00", "0.00"),
        "other_income": ("8888.00", "0.00"),
        "total_income": ("194513.00", "99999.00"),
        "expenditure": ("7000.00", "1234.00"),
        "balance": ("187513.00", "98765.00"),
        "reserve_drawing": ("0.00", "0.00"),
        "net_balance": ("187513.00", "98765.00"),
    }
    assert {a for y, _line, _p, a in rows if y == "2004"} == {"0.00"}


def test_financial_plan_planned_balances(plan: Workspace) -> None:
    """What FUNDING_GAP reads: the planned net_balance and total_income of every year."""
    with plan.engine.connect() as connection:
        version, balances = financial_plan.planned_balances(connection, make_options())
    assert version == "V1"
    assert balances == {2006: (16925025, 23925050), 2007: (-912490, 24087510)}


def test_financial_plan_scenario_bounds(plan: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    before = plan.checksum()
    assert main(["--db", plan.url, "report", "financial-plan", "--set", "inflation=5"]) == 2
    error = capsys.readouterr().err
    assert "fraction" in error and "0.05 for 5 %" in error and "Traceback" not in error
    for bad in ("vacancy_rate=1.5", "inflation=-2", "bogus=1", "member_state_unit_value=-1", "associate_units=-0.5"):
        assert main(["--db", plan.url, "report", "financial-plan", "--set", bad]) == 2, bad
    capsys.readouterr()
    args = ["--as-of", "2007-06-30", "--set", "inflation=0.05", "--set", "vacancy_rate=0.5"]
    rows = {(y, line): (p, a) for y, line, p, a in report(plan, capsys, *args)}
    # 2006 (the first year, no inflation): staff halved 30,000 + 10,000.25
    assert rows["2006", "expenditure"] == ("40000.25", "63500.55")
    # 2007: (125,000 + 20,000) x 1.05 = 152,250; the actual column does not change
    assert rows["2007", "expenditure"] == ("152250.00", "100000.00")
    assert rows["2007", "balance"] == ("88625.10", "1250.10")  # 240,875.10 - 152,250
    args = ["--set", "member_state_unit_value=1000", "--set", "sector_member_units=3", "--set", "associate_units=0"]
    rows = {(y, line): (p, a) for y, line, p, a in report(plan, capsys, *args)}
    assert rows["2007", "assessed_contributions"][0] == "2062.50"  # 2.0625 x 1,000
    assert rows["2007", "sector_member_contributions"][0] == "60000.00"  # 3 x 20,000
    assert rows["2007", "associate_contributions"][0] == "0.00"
    assert plan.checksum() == before, "a scenario writes nothing"


def test_financial_plan_pages_name_the_period_and_show_only_its_years(plan: Workspace) -> None:
    import widgets

    app = widgets.App.open(plan.url, user="tester")
    bar = widgets.FilterBar(app, fields=["version", "year"])
    today = dt.date.today().isoformat()  # the workspace sets no as-of date: the data runs to today
    heading = widgets.ReportHeading(app, bar, "financial-plan", "Income and expenditure {period}: {version} to {as_of}")
    cards = widgets.KpiCards(app, bar, ["balance", "balance_actual", "net_balance", "expenditure_actual"])
    chart = widgets.ReportChart(app, bar, "income-by-source")
    assert heading.text == f"Income and expenditure 2006-2007: V1 to {today}"
    # 169,250.25 - 29,124.90; the reserve drawing of 20,000 below the line
    assert (cards.values["balance"], cards.values["net_balance"]) == ("140125.35", "160125.35")
    # actual 2007 to today: I7 + I8 + C3 + C4 + I10 = 157,804.10 received, R4 + R5 = 100,777 spent
    assert cards.values["balance_actual"] == "174026.55"  # 116,999.45 + 57,027.10
    assert 'data-figure="balance"' in cards.static_html() and "2006–2007" in cards.static_html()
    assert chart.figure is not None
    planned = next(t for t in chart.figure.data if t.name == "Planned expenditure")
    assert list(planned.x) == ["2006", "2007"] and list(planned.y) == [70000.25, 270000.0]
    bar.year = 2007
    assert heading.text == f"Income and expenditure 2007 (of 2006-2007): V1 to {today}"
    assert cards.values["balance"] == "-29124.90"
    bar.year = None
    bar.version = "V0"
    assert heading.text == f"Income and expenditure 2004-2005: V0 to {today}"
    planned = next(t for t in chart.figure.data if t.name == "Planned expenditure")
    assert list(planned.x) == ["2004", "2005"]
    assert heading.banner.message == cards.banner.message == chart.banner.message == ""


def test_financial_plan_charts_draw_no_actual_for_a_year_not_begun(plan: Workspace) -> None:
    from widgets import charts

    frame = plan.report("financial-plan", as_of="2006-06-30")
    figure = charts.income_by_source(frame)
    actual = [t for t in figure.data if t.name.startswith("Actual expenditure")]
    assert [t.name for t in actual] == ["Actual expenditure, 2006 to 30 June (part year)"]
    assert list(actual[0].x) == ["2006"] and list(actual[0].y) == [64000.55]  # 2007 has not begun: no point at zero
    figure = charts.income_plan_actual(plan.report("financial-plan", as_of="2007-06-30"))
    planned, received = figure.data
    assert received.name == "Received to 2007-06-30"
    # assessed 206,250 + 210,375.10 planned against 150,000 + 100,000 received (arrears)
    assert (planned.y[0], received.y[0]) == (416625.10, 250000.0)
