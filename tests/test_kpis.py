"""Computed KPIs equal the reports they come from, to the printed decimal, at any
as-of date; measured KPIs keep their measurements; the importer refuses a
measurement of a computed KPI. On SQLite and PostgreSQL.

The bundle, worked out by hand:

* execution rate over ``V1`` (approved 2006-2007), not the later draft ``V2``:
  2006 budget 3,000.00, actuals 600.00 (March) + 1,400.00 (September): 20.00 % at
  2006-06-30, 66.67 % for the full year; 2007 budget 1,500.00, actual 300.00 by
  2007-03-31 (20.00 %) and 500.00 by 2007-06-30;
* recruitment days: 60, 10 (completed by June 2006) and 181 (August 2006):
  a full-year 2006 mean of 83.7; 76 in 2007 (February);
* cost recovery: 2006 income 1,000.00, direct cost 900.00, overhead 25 %
  (full cost 1,125.00): 88.89 %; 2007 income 500.00, direct cost 400.00, no rate: 125.00 %.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from itu_plan import ValidationError, Workspace, kpis
from itu_plan.bundle import import_bundle
from itu_plan.model import Kpi, Measurement, Setting
from tests.bundles import load_bundle, write_bundle

BUNDLE = {
    "units.csv": "code,name,parent_code\nU1,Unit one,\nU2,Unit two,\n",
    "objectives.csv": "code,title,parent_code\nO1,Objective one,\n",
    "funding_sources.csv": "code,name,kind\nRB,Regular budget,assessed\nCR,Sales,cost_recovery\n",
    "members.csv": "code,name,type,region,units\nAAA,State A,member_state,A,1\nBBB,State B,member_state,D,1\n",
    "versions.csv": "name,status,based_on,first_year,last_year\nV1,approved,,2006,2007\nV2,draft,V1,2006,2007\n",
    "activities.csv": "code,title,objective_code,unit_code,start_date,end_date,status,owner\n"
    "A1,First,O1,U1,,,ongoing,\nA2,Second,O1,U2,,,ongoing,\n",
    "budget.csv": "version,unit_code,objective_code,year,category,amount\n"
    "V1,U1,O1,2006,staff,1000\nV1,U2,O1,2006,travel,2000\nV1,U1,O1,2007,staff,1500\n"
    "V2,U1,O1,2006,staff,9999\n",
    "actuals.csv": "reference,date,unit_code,activity_code,objective_code,category,amount,funding_source_code\n"
    "R1,2006-03-01,U1,A1,,staff,600,RB\n"
    "R2,2006-09-01,U2,A2,,travel,1400,RB\n"
    "R3,2007-02-01,U1,A1,,staff,300,RB\n"
    "R4,2007-05-01,U1,A1,,staff,200,RB\n",
    "products.csv": "code,name,unit_code,kind\nP1,Handbook,U1,publication\n",
    "overhead_rates.csv": "unit_code,year,rate\nU1,2006,0.25\n",
    "cost_recovery.csv": "reference,date,product_code,type,amount,quantity\n"
    "C1,2006-02-01,P1,income,1000,\nC2,2006-02-02,P1,direct_cost,900,\n"
    "C3,2007-02-01,P1,income,500,\nC4,2007-02-02,P1,direct_cost,400,\n",
    "kpis.csv": "code,objective_code,name,measure,direction,baseline,formula\n"
    "K-EXEC,O1,Execution rate,percentage,up,90,execution_rate\n"
    "K-RECRUIT,O1,Days to recruit,number,down,200,recruitment_days\n"
    "K-WOMEN,O1,Women at P-1 and above,percentage,up,30,women_share\n"
    "K-CR,O1,Cost recovery rate,percentage,up,90,cost_recovery_rate\n"
    "K-MEASURED,O1,Something counted,number,up,1,\n",
    "kpi_targets.csv": "kpi_code,year,target\nK-EXEC,2006,95\nK-EXEC,2007,96\nK-RECRUIT,2005,150\n",
    "measurements.csv": "kpi_code,date,value\nK-MEASURED,2006-06-30,5\nK-MEASURED,2007-01-31,7.5\n",
    "posts.csv": "post_number,grade,unit_code,funding_source_code,status\n"
    "PST1,P-3,U1,RB,filled\nPST2,P-4,U2,RB,filled\n",
    "recruitments.csv": "vacancy_id,post_number,notice_date,closing_date,selection_date,eod_date\n"
    "VA1,PST1,2006-01-01,,,2006-03-02\n"  # 60 days
    "VA2,PST2,2006-02-01,,,2006-08-01\n"  # 181 days
    "VA3,PST2,2006-01-01,,,2006-01-11\n"  # 10 days
    "VA4,PST1,2006-12-01,,,2007-02-15\n",  # 76 days
    "staff.csv": "staff_id,post_number,grade,gender,nationality,start_date,end_date\n"
    "S1,PST1,P-3,F,AAA,2005-01-01,\n"
    "S2,PST2,P-4,M,BBB,2006-07-01,\n"
    "S3,,G-5,F,AAA,2001-01-01,\n"
    "S4,,P-2,M,AAA,2005-01-01,2006-12-31\n",
}
FORMULA_OF = {"K-EXEC": "execution_rate", "K-RECRUIT": "recruitment_days", "K-WOMEN": "women_share",
              "K-CR": "cost_recovery_rate"}  # fmt: skip


@pytest.fixture
def ws(workspace: Workspace, tmp_path: Path) -> Workspace:
    return load_bundle(workspace, tmp_path / "bundle", BUNDLE)


def series(ws: Workspace, as_of: dt.date) -> dict[str, list[tuple[dt.date, float]]]:
    with ws.engine.connect() as connection:
        found = kpis.values(connection, as_of)
        codes = dict(connection.execute(select(Kpi.id, Kpi.code)).all())
    return {codes[kpi_id]: points for kpi_id, points in found.items()}


def printed(value: Decimal, places: str) -> Decimal:
    return value.quantize(Decimal(places), ROUND_HALF_EVEN)


def from_report(ws: Workspace, formula: str, date: dt.date) -> Decimal | None:
    """The KPI's value worked out from the report as ``itu-plan report`` prints it."""
    year = date.year
    if formula == "execution_rate":
        frame = ws.report("budget-vs-actual", version="V1", year=year, as_of=date)
        budget, actual = sum(frame["budget"], Decimal(0)), sum(frame["actual"], Decimal(0))
        return printed(actual / budget, "0.0001") * 100 if budget else None
    if formula == "recruitment_days":
        table = ws.report_table("recruitment", _options(year=year, as_of=date))
        done = sum(row[3] for row in table.rows)
        total = sum(row[5] * row[3] for row in table.rows)
        return printed(Decimal(total.numerator) / Decimal(total.denominator) / done, "0.1") if done else None
    if formula == "women_share":
        frame = ws.report("representation", as_of=date)
        women = frame[(frame["dimension"] == "gender") & (frame["category"] == "F")]
        return women["share"].iloc[0] * 100 if len(women) else Decimal(0)
    frame = ws.report("cost-recovery", year=year, as_of=date)
    income, full = sum(frame["income"], Decimal(0)), sum(frame["full_cost"], Decimal(0))
    return printed(income / full, "0.0001") * 100 if full else None


def _options(**options: object) -> object:
    from itu_plan import reports

    return reports.make_options(**options)  # type: ignore[arg-type]


@pytest.mark.parametrize("as_of", [dt.date(2006, 6, 30), dt.date(2007, 3, 31)])
def test_a_computed_kpi_equals_its_report_to_the_printed_decimal(ws: Workspace, as_of: dt.date) -> None:
    found = series(ws, as_of)
    for code, formula in FORMULA_OF.items():
        points = found[code]
        # a value per year up to as-of: 31 December for an ended year, as-of for the one in progress
        assert [d for d, _ in points] == ([as_of] if as_of.year == 2006 else [dt.date(2006, 12, 31), as_of]), code
        for date, value in points:
            expected = from_report(ws, formula, date)
            assert expected is not None and Decimal(repr(value)) == expected.normalize(), (code, date)


def test_computed_values_worked_out_by_hand(ws: Workspace) -> None:
    found = series(ws, dt.date(2007, 6, 30))
    assert found["K-EXEC"] == [(dt.date(2006, 12, 31), 66.67), (dt.date(2007, 6, 30), 33.33)]
    assert series(ws, dt.date(2006, 6, 30))["K-EXEC"] == [(dt.date(2006, 6, 30), 20.0)]
    # the 2005 target year has no completed recruitment: no value, not a zero
    assert found["K-RECRUIT"] == [(dt.date(2006, 12, 31), 83.7), (dt.date(2007, 6, 30), 76.0)]
    assert found["K-CR"] == [(dt.date(2006, 12, 31), 88.89), (dt.date(2007, 6, 30), 125.0)]
    # measured KPIs keep their measurements, to the as-of date
    assert found["K-MEASURED"] == [(dt.date(2006, 6, 30), 5.0), (dt.date(2007, 1, 31), 7.5)]
    assert series(ws, dt.date(2006, 12, 31))["K-MEASURED"] == [(dt.date(2006, 6, 30), 5.0)]


def test_a_measurement_stored_for_a_computed_kpi_is_ignored(ws: Workspace) -> None:
    with ws.transaction() as session:
        kpi_id = session.scalars(select(Kpi.id).where(Kpi.code == "K-EXEC")).one()
        session.add(Measurement(kpi_id=kpi_id, date=dt.date(2006, 12, 31), value=97.0))
    assert series(ws, dt.date(2007, 6, 30))["K-EXEC"][0] == (dt.date(2006, 12, 31), 66.67)


def test_an_as_of_after_the_data_is_the_date_the_data_runs_to(ws: Workspace) -> None:
    with ws.transaction() as session:
        session.add(Setting(key="as_of", value="2007-03-31"))
    assert series(ws, dt.date(2030, 1, 1))["K-EXEC"] == series(ws, dt.date(2007, 3, 31))["K-EXEC"]
    assert series(ws, dt.date(2030, 1, 1))["K-EXEC"][-1][0] == dt.date(2007, 3, 31)


def test_readings_say_where_a_value_comes_from(ws: Workspace) -> None:
    exec_, measured = kpis.read(ws, codes=["K-EXEC", "K-MEASURED"], as_of=dt.date(2007, 6, 30))
    assert (exec_.value, exec_.year, exec_.date, exec_.target) == (33.33, 2007, dt.date(2007, 6, 30), 96.0)
    assert exec_.source == "computed from the budget-vs-actual report"
    assert exec_.on_track is None  # 2007 is in progress: the year-end target is not judged yet
    assert measured.source == "measured" and measured.value == 7.5
    (full_year,) = kpis.read(ws, codes=["K-EXEC"], year=2006, as_of=dt.date(2007, 6, 30))
    assert (full_year.value, full_year.date, full_year.target, full_year.on_track) == (
        66.67, dt.date(2006, 12, 31), 95.0, False,
    )  # fmt: skip
    assert [r.code for r in kpis.read(ws, computed_only=True)] == ["K-CR", "K-EXEC", "K-RECRUIT", "K-WOMEN"]


def test_a_measurement_of_a_computed_kpi_in_the_workspace_is_a_problem(ws: Workspace, tmp_path: Path) -> None:
    later = write_bundle(tmp_path / "later", {"measurements.csv": "kpi_code,date,value\nK-MEASURED,2007-03-31,8\n"
                                                           "K-EXEC,2006-12-31,97\n"})  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        import_bundle(ws, later)
    assert refused.value.lines() == [
        "measurements.csv:3:kpi_code: K-EXEC is computed from the workspace (execution_rate); it takes no measurements"
    ]


def test_a_measurement_of_a_computed_kpi_in_the_same_bundle_is_a_problem(workspace: Workspace, tmp_path: Path) -> None:
    same = dict(BUNDLE, **{"measurements.csv": "kpi_code,date,value\nK-MEASURED,2006-06-30,5\nK-CR,2006-06-30,90\n"})
    with pytest.raises(ValidationError) as refused:
        import_bundle(workspace, write_bundle(tmp_path / "same", same))
    assert refused.value.lines() == [
        "measurements.csv:3:kpi_code: K-CR is computed from the workspace (cost_recovery_rate); it takes no measurements"
    ]
