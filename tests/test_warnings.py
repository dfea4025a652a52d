"""The early warnings of contract v2, rule by rule at their boundaries, on SQLite and
PostgreSQL, against a small bundle whose answers are worked out in the comments.

The version ``2006-2007 approved`` covers 2006 and 2007. Most checks are as of
2006-06-30: day 181 of the 365 days of 2006.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from itu_plan import Workspace, catalog
from itu_plan.reports import warnings as warnings_module
from itu_plan.reports.warnings import EarlyWarning
from tests.bundles import load_bundle, report_rows

BUNDLE = {
    "units.csv": "code,name,parent_code\nU1,Unit one,\nU2,Unit two,\nU3,Unit three,\n",
    "objectives.csv": "code,title,parent_code\nO1,Objective one,\nO2,Objective two,\n",
    "funding_sources.csv": "code,name,kind\nRB,Regular budget,assessed\n",
    "members.csv": "code,name,type,region,units\nAAA,State A,member_state,A,1\n",
    # planned income: 1 unit x the unit value; planned expenditure 5,000 a year (cost lines)
    "unit_values.csv": "year,member_type,value\n2006,member_state,1000\n2007,member_state,100000\n",
    "versions.csv": "name,status,based_on,first_year,last_year\n2006-2007 approved,approved,,,\n",
    "activities.csv": "code,title,objective_code,unit_code,start_date,end_date,status,owner\n"
    "A1,First,O1,U1,,,ongoing,\nA2,Second,O2,U2,,,ongoing,\n",
    "cost_lines.csv": "version,activity_code,year,category,grade,work_months,amount,funding_source_code\n"
    "2006-2007 approved,A1,2006,other,,,5000,RB\n"  # 2006: 1,000 - 5,000: a gap of 4,000
    "2006-2007 approved,A1,2007,other,,,5000,RB\n",  # 2007: 100,000 - 5,000: no gap
    "budget.csv": "version,unit_code,objective_code,year,category,amount\n"
    "2006-2007 approved,U1,O1,2006,other,36500\n"  # 1.10 x 36,500 = 40,150 = 19,910.00 x 365 / 181
    "2006-2007 approved,U2,O2,2006,other,36500\n"
    "2006-2007 approved,U3,O1,2006,other,1000\n"
    "2006-2007 approved,U3,O2,2006,other,1000\n",
    "actuals.csv": "reference,date,unit_code,activity_code,objective_code,category,amount,funding_source_code\n"
    "X1,2006-03-01,U1,A1,,other,19910.00,RB\n"
    "X2,2006-06-30,U1,A1,,other,0.01,RB\n"  # dated on as-of: counts, and tips U1/O1 over 1.10
    "X3,2006-03-01,U2,A2,,other,19910.00,RB\n"  # exactly 1.10 x the budget projected: no warning
    "X4,2006-07-01,U2,A2,,other,1000,RB\n"  # the day after as-of: not there yet
    "X5,2006-01-15,U3,,O1,other,1000,RB\n"  # exactly the budget: no OVERSPEND
    "X6,2006-01-15,U3,,O2,other,1000.01,RB\n"  # a centime over: OVERSPEND, so no projection
    "X7,2005-06-01,U1,A1,,other,500,RB\n",  # before the version's period: not its business
    "products.csv": "code,name,unit_code,kind\nP1,Handbook,U1,publication\nP2,Course,U2,training\n"
    "P3,Database,U2,database\n",
    "overhead_rates.csv": "unit_code,year,rate\nU1,2006,0.25\nU1,2007,0\n",
    "cost_recovery.csv": "reference,date,product_code,type,amount,quantity\n"
    "C1,2006-01-10,P1,income,1250,\nC2,2006-01-11,P1,direct_cost,1000,\n"  # 1,000 + 25 %: recovered exactly
    "C3,2006-07-01,P1,direct_cost,10,\n"  # the day after as-of
    "C4,2006-02-01,P2,income,400,\nC5,2006-02-02,P2,direct_cost,400,\n"  # U2 has no rate: looks recovered
    "C6,2006-02-03,P3,income,50,\n"  # income only: no direct cost left without overhead
    "C7,2007-03-01,P1,income,100,\nC8,2007-03-02,P1,direct_cost,1000,\n",  # a rate of 0 is a rate: deficit
    "kpis.csv": "code,objective_code,name,measure,direction,baseline\n"
    "K1,O1,Share done,percentage,up,70\nK2,O1,Reports,number,up,40\nK3,O2,Days taken,number,down,15\n"
    "K4,O2,Complaints,number,down,15\nK5,O1,Meetings,number,up,1\n",
    "kpi_targets.csv": "kpi_code,year,target\nK1,2006,80\nK1,2007,90\nK2,2006,50\nK2,2007,50\n"
    "K3,2006,10\nK4,2006,10\nK5,2006,5\nK5,2007,5\n",
    "measurements.csv": "kpi_code,date,value\n"
    "K1,2006-06-30,70\nK1,2006-12-31,85\nK1,2007-06-30,80\n"  # mid-2006 below 80; end-2006 on track
    "K2,2006-12-31,40\nK2,2007-12-31,60\n"  # 2006 missed; 2007 met
    "K3,2006-12-31,10\n"  # down: exactly on the target
    "K4,2006-12-31,10.5\n"  # down: above the target by 5 %
    "K5,2006-12-31,3\n",  # 2006 missed; no value in 2007
    "posts.csv": "post_number,grade,unit_code,funding_source_code,status\n"
    "PST1,P-3,U1,RB,filled\nPST2,P-2,U2,RB,vacant\nPST3,G-5,U1,RB,filled\nPST4,P-4,U2,RB,vacant\n",
    "recruitments.csv": "vacancy_id,post_number,notice_date,closing_date,selection_date,eod_date\n"
    "VA-1,PST1,2006-03-01,2006-03-31,2006-06-01,2006-07-01\n"  # 121 days at 2006-06-30; on duty the day after
    "VA-2,PST2,2006-03-02,,,\n"  # 120 days at 2006-06-30: on the target exactly
    "VA-3,PST3,2006-01-01,,,2006-06-30\n"  # on duty on as-of: closed
    "VA-4,PST4,2006-07-01,,,\n",  # noticed the day after as-of
}


@pytest.fixture
def plan(workspace: Workspace, tmp_path: Path) -> Workspace:
    return load_bundle(workspace, tmp_path / "bundle", BUNDLE)


def rows(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> list[list[str]]:
    return report_rows(ws, capsys, "warnings", *args)


def of(ws: Workspace, rule: str, as_of: str, **options: object) -> list[str]:
    """The subjects of ``rule`` as of ``as_of``."""
    return [w.subject for w in ws.warnings(as_of=as_of, **options) if w.rule == rule]


def test_report_columns_order_and_the_year_column(plan: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    table = rows(plan, capsys, "--as-of", "2006-06-30")
    assert table[0] == ["severity", "rule", "subject", "year", "message"]
    assert [r[:4] for r in table[1:]] == [
        ["high", "COST_RECOVERY_SURPLUS", "P3/2006", "2006"],  # income 50 and no cost at all
        ["high", "FUNDING_GAP", "2006", "2006"],  # income planned for 2006 far below 5,000 of costs
        ["high", "PROJECTED_OVERSPEND", "U3/O1/2006", "2006"],  # 1,000 in 181 days: 2,016.57 by December
        ["medium", "MISSING_OVERHEAD_RATE", "P2/2006", "2006"],  # always medium
        ["low", "OVERSPEND", "U3/O2/2006", "2006"],  # a centime over
        ["low", "PROJECTED_OVERSPEND", "U1/O1/2006", "2006"],  # 40,150.02: just above 1.10 x 36,500
        ["low", "RECRUITMENT_DELAY", "VA-1", ""],  # 121 days: just beyond 120; about no year
    ]


def test_overspend_at_its_boundary_and_within_the_period(plan: Workspace) -> None:
    assert of(plan, "OVERSPEND", "2006-06-30") == ["U3/O2/2006"]  # U3/O1 spent exactly its budget
    assert of(plan, "OVERSPEND", "2006-01-14") == []  # the day before the U3 actuals
    assert of(plan, "OVERSPEND", "2005-12-31") == []  # 2005's 500 without budget: outside 2006-2007
    (over,) = [w for w in plan.warnings(as_of="2006-06-30") if w.rule == "OVERSPEND"]
    assert over == EarlyWarning(
        "low", "OVERSPEND", "U3/O2/2006", 2006, over.message, unit_code="U3", objective_code="O2"
    )
    assert "CHF 1,000.01 spent against a budget of CHF 1,000.00" in over.message


def test_projected_overspend_just_above_and_just_below_one_point_one(plan: Workspace) -> None:
    found = {w.subject: w for w in plan.warnings(as_of="2006-06-30") if w.rule == "PROJECTED_OVERSPEND"}
    # U1/O1: 19,910.01 x 365 / 181 = 40,150.02 > 40,150; U2/O2: 19,910.00 gives 40,150 exactly, and
    # the 1,000 dated the day after as-of is not counted; U3/O2 is an OVERSPEND already
    assert sorted(found) == ["U1/O1/2006", "U3/O1/2006"]
    projected = found["U1/O1/2006"]
    assert (projected.year, projected.unit_code, projected.objective_code) == (2006, "U1", "O1")
    assert "CHF 40,150.02 by 31 December against a budget of CHF 36,500.00" in projected.message
    assert "181 days to 2006-06-30" in projected.message
    # at 2006-07-01 X4 counts: 20,910 x 365 / 182 = 41,935.44 (19,910 alone would be 39,929.40)
    assert "U2/O2/2006" in of(plan, "PROJECTED_OVERSPEND", "2006-07-01")
    assert of(plan, "PROJECTED_OVERSPEND", "2006-12-31") == []  # the year is over: OVERSPEND's business


def test_kpi_off_track_looks_at_the_latest_ended_year_only(plan: Workspace) -> None:
    # mid-2006 K1 is at 70 against 80 for the year: not compared before the year has ended
    assert of(plan, "KPI_OFF_TRACK", "2006-12-30") == []
    # 2006 ended: K1 ends it at 85 (met), K2 at 40 (missed), K3 on 10 exactly (met), K4 10.5 (missed), K5 3
    assert of(plan, "KPI_OFF_TRACK", "2006-12-31") == ["K2/2006", "K5/2006", "K4/2006"]
    assert of(plan, "KPI_OFF_TRACK", "2007-06-30") == ["K2/2006", "K5/2006", "K4/2006"]
    # 2007 ended: K2 met 2007, so its missed 2006 does not come back; K1 ends 2007 at 80 against 90;
    # K5 has no value in 2007, so 2006 is still its latest year with one
    late = [w for w in plan.warnings(as_of="2007-12-31") if w.rule == "KPI_OFF_TRACK"]
    assert [(w.severity, w.subject, w.kpi_code, w.year) for w in late] == [
        ("high", "K1/2007", "K1", 2007), ("high", "K5/2006", "K5", 2006), ("low", "K4/2006", "K4", 2006),
    ]  # fmt: skip
    assert all(w.unit_code is None and w.product_code is None for w in late)
    k1 = next(w for w in late if w.kpi_code == "K1")
    assert "80 on 2007-06-30, the last value of 2007, misses the target of 90" in k1.message


def test_recruitment_delay_is_a_point_in_time(plan: Workspace) -> None:
    found = [w for w in plan.warnings(as_of="2006-06-30") if w.rule == "RECRUITMENT_DELAY"]
    # VA-1 went on duty the day after: open at as-of, 121 days; VA-2 120 days; VA-3 on duty on as-of
    assert [(w.subject, w.vacancy_id, w.year) for w in found] == [("VA-1", "VA-1", None)]
    assert "121 days after the notice of 2006-03-01" in found[0].message
    assert of(plan, "RECRUITMENT_DELAY", "2006-07-01") == ["VA-2"]  # VA-1 filled; VA-2 at 121 days
    assert of(plan, "RECRUITMENT_DELAY", "2006-06-30", target_days=90) == ["VA-1", "VA-2"]
    records = catalog.records_behind_warning(plan, found[0], as_of=dt.date(2006, 6, 30))
    assert records["selection_date"].tolist()[0].isoformat() == "2006-06-01"
    assert records["eod_date"].isna().all()  # on duty the day after: not known at as-of


def test_cost_recovery_and_missing_overhead_rate(plan: Workspace) -> None:
    def products(as_of: str) -> list[tuple[str, str, str | None, int | None]]:
        return sorted((w.rule, w.subject, w.product_code, w.year) for w in plan.warnings(as_of=as_of) if w.product_code)

    assert products("2006-06-30") == [
        ("COST_RECOVERY_SURPLUS", "P3/2006", "P3", 2006),  # income only
        ("MISSING_OVERHEAD_RATE", "P2/2006", "P2", 2006),  # U2 has no rate: 400 against 400 looks recovered
    ]  # P1: 1,250 against 1,000 + 25 % exactly; P3 has no direct cost to miss a rate for
    assert products("2007-12-31") == [
        ("COST_RECOVERY_DEFICIT", "P1/2006", "P1", 2006),  # C3 now counts: 1,010 x 1.25 = 1,262.50
        ("COST_RECOVERY_DEFICIT", "P1/2007", "P1", 2007),  # 100 against 1,000: a rate of 0 is a rate
        ("COST_RECOVERY_SURPLUS", "P3/2006", "P3", 2006),
        ("MISSING_OVERHEAD_RATE", "P2/2006", "P2", 2006),
    ]
    (missing,) = [w for w in plan.warnings(as_of="2006-06-30") if w.rule == "MISSING_OVERHEAD_RATE"]
    assert "direct costs of CHF 400.00 in 2006 and no overhead rate for U2 in 2006" in missing.message
    assert missing.unit_code is None  # the subject names the product, not its unit


def test_funding_gap_on_the_plan(plan: Workspace) -> None:
    # planned income: 1 unit x 1,000 in 2006 and x 100,000 in 2007, against 5,000 of costs each year
    found = [w for w in plan.warnings(as_of="2006-06-30") if w.rule == "FUNDING_GAP"]
    assert [(w.subject, w.year, w.unit_code) for w in found] == [("2006", 2006, None)]
    assert "plans a net balance of CHF -" in found[0].message and "for 2006" in found[0].message


def test_year_option_keeps_the_warnings_about_that_year(plan: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    every = rows(plan, capsys, "--as-of", "2007-12-31")[1:]
    only = rows(plan, capsys, "--as-of", "2007-12-31", "--year", "2007")[1:]
    assert only and {r[3] for r in only} == {"2007"}
    assert only == [r for r in every if r[3] == "2007"]
    assert any(r[1] == "RECRUITMENT_DELAY" for r in rows(plan, capsys, "--as-of", "2006-06-30")[1:])
    assert not any(r[1] == "RECRUITMENT_DELAY" for r in rows(plan, capsys, "--as-of", "2006-06-30", "--year", "2006"))


def test_structured_records_and_the_frame(plan: Workspace) -> None:
    frame = plan.report("warnings", as_of="2006-06-30")
    assert list(frame.columns) == ["severity", "rule", "subject", "year", "message"]
    assert frame.attrs["as_of"] == "2006-06-30" and frame.attrs["version"] == "2006-2007 approved"
    assert frame.attrs["period"] == "2006-2007"
    records = catalog.warning_records(frame)
    assert [w.row for w in records] == list(frame.itertuples(index=False, name=None))
    assert frame["year"].tolist()[-1] is None  # the recruitment delay: an empty year, not NaN
    assert "Warning" not in vars(warnings_module)  # the builtin is not shadowed
    by_rule = {w.rule: w for w in records}
    assert by_rule["OVERSPEND"].parts == {"unit_code": "U3", "objective_code": "O2", "year": 2006}
    assert by_rule["RECRUITMENT_DELAY"].parts == {"vacancy_id": "VA-1"}
    assert by_rule["MISSING_OVERHEAD_RATE"].parts == {"product_code": "P2", "year": 2006}
    assert by_rule["FUNDING_GAP"].parts == {"year": 2006}
    with pytest.raises(AttributeError):
        by_rule["OVERSPEND"].year = 2007  # type: ignore[misc]
