"""The demo workspace: deterministic, realistic, and planted so every warning rule fires.

The expectations are computed here from the stored rows with plain Python, not
by calling report code.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from fractions import Fraction

import pytest
from sqlalchemy import select

from itu_plan import Workspace
from itu_plan.demo import build_demo_workspace
from itu_plan.model import (
    Activity,
    Actual,
    BudgetLine,
    CostLine,
    CostRecoveryEntry,
    Income,
    Kpi,
    KpiTarget,
    Measurement,
    Member,
    Objective,
    OverheadRate,
    PlanVersion,
    Product,
    Recruitment,
    Staff,
    StandardCost,
    Unit,
    UnitValue,
    User,
)
from itu_plan.money import staff_cost

CLASSES = {
    40,
    35,
    30,
    28,
    25,
    23,
    20,
    18,
    15,
    13,
    10,
    8,
    5,
    4,
    3,
    2,
    1.5,
    1,
    0.5,
    0.25,
    0.125,
    0.0625,
}


@pytest.fixture(scope="module")
def demo(demo_sqlite: str):  # type: ignore[no-untyped-def]
    ws = Workspace.open(f"sqlite:///{demo_sqlite}", user="tester")
    with ws.reading() as session:
        yield ws, session
    ws.close()


def test_same_seed_same_content(demo_sqlite: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with Workspace.open(f"sqlite:///{tmp_path / 'again.db'}", user="tester", create=True) as ws:
        build_demo_workspace(ws, progress=False)
        again = ws.checksum()
    with Workspace.open(f"sqlite:///{demo_sqlite}", user="tester") as ws:
        assert ws.checksum() == again


def test_postgres_holds_the_same_demo(demo_sqlite: str, postgres) -> None:  # type: ignore[no-untyped-def]
    with Workspace.open(postgres.new_database(), user="tester") as ws:
        build_demo_workspace(ws, progress=False)
        on_postgres = ws.checksum()
        # explicit ids were written: the sequences must continue after them
        with ws.transaction() as session:
            session.add(Unit(code="NEW", name="A new unit"))
    with Workspace.open(f"sqlite:///{demo_sqlite}", user="tester") as ws:
        assert ws.checksum() == on_postgres


def test_reference_data(demo) -> None:  # type: ignore[no-untyped-def]
    _ws, s = demo
    units = {u.code: u for u in s.scalars(select(Unit))}
    assert {"GS", "BR", "TSB", "BDT"} <= set(units)
    assert {u.parent.code for u in units.values() if u.parent} == {"GS", "BR", "TSB", "BDT"}
    objectives = s.scalars(select(Objective)).all()
    assert len([o for o in objectives if o.code.startswith("S-")]) == 15
    assert any(o.parent is not None for o in objectives)
    states = s.scalars(select(Member).where(Member.type == "member_state")).all()
    assert 185 <= len(states) <= 195
    assert {m.region for m in states} == {"A", "B", "C", "D", "E"}
    assert all(len(m.code) == 3 and m.code.isupper() for m in states)
    assert {"CHE", "USA", "KEN", "IND", "BRA"} <= {m.code for m in states}
    assert {Fraction(m.units_e4 or 0, 10_000) for m in states} <= {Fraction(c) for c in CLASSES}
    others = s.scalars(select(Member.type).where(Member.type != "member_state")).all()
    assert len(others) >= 200 and {"sector_member", "associate"} <= set(others)
    values = {(v.year, v.member_type): v.value_centimes for v in s.scalars(select(UnitValue))}
    for year in (2004, 2005, 2006, 2007):
        assert values[year, "member_state"] == 318_000_00
        assert values[year, "sector_member"] == 318_000_00 // 5


def test_versions_and_users(demo) -> None:  # type: ignore[no-untyped-def]
    _ws, s = demo
    versions = {v.name: v.status for v in s.scalars(select(PlanVersion))}
    assert versions == {
        "2004-2005 approved": "approved",
        "2006-2007 draft": "draft",
        "2006-2007 proposed": "superseded",
        "2006-2007 approved": "approved",
    }
    users = {u.username: u.role for u in s.scalars(select(User))}
    assert users["admin"] == "admin" and users["tester"] == "admin"
    assert {"manager", "planner", "reviewer"} <= set(users.values())


def test_staff_cost_lines_are_priced_from_standard_costs(demo) -> None:  # type: ignore[no-untyped-def]
    _ws, s = demo
    standard = {(c.grade, c.year): c.annual_cost_centimes for c in s.scalars(select(StandardCost))}
    staff_lines = s.scalars(select(CostLine).where(CostLine.category == "staff")).all()
    assert len(staff_lines) > 300
    for line in staff_lines:
        assert line.grade and line.work_months_e2
        assert line.amount_centimes == staff_cost(line.work_months_e2, standard[line.grade, line.year])


def test_activities_and_actuals(demo) -> None:  # type: ignore[no-untyped-def]
    ws, s = demo
    assert 200 <= len(s.scalars(select(Activity.id)).all()) <= 500
    actuals = s.scalars(select(Actual)).all()
    assert 9_000 <= len(actuals) <= 11_000
    assert all(a.date <= ws.as_of for a in actuals)
    assert any(a.amount_centimes < 0 for a in actuals), "reversals are planted"
    assert any(a.activity_id is None for a in actuals)
    assert ws.as_of == dt.date(2007, 6, 30)


def _approved(s) -> int:  # type: ignore[no-untyped-def]
    return s.scalars(select(PlanVersion.id).where(PlanVersion.name == "2006-2007 approved")).one()


def test_overspend_is_planted(demo) -> None:  # type: ignore[no-untyped-def]
    _ws, s = demo
    budget: dict[tuple[int, int, int], int] = defaultdict(int)
    for b in s.scalars(select(BudgetLine).where(BudgetLine.version_id == _approved(s))):
        budget[b.unit_id, b.objective_id, b.year] += b.amount_centimes
    objective_of = dict(s.execute(select(Activity.id, Activity.objective_id)).all())
    actual: dict[tuple[int, int | None, int], int] = defaultdict(int)
    for a in s.scalars(select(Actual)):
        objective = a.objective_id or objective_of.get(a.activity_id)  # type: ignore[arg-type]
        actual[a.unit_id, objective, a.date.year] += a.amount_centimes
    over = [k for k, v in actual.items() if v > budget.get(k, 0)]  # type: ignore[call-overload]
    under = [k for k, v in actual.items() if v < budget.get(k, 0)]  # type: ignore[call-overload]
    assert over and len(under) > len(over)


def test_kpi_off_track_is_planted(demo) -> None:  # type: ignore[no-untyped-def]
    _ws, s = demo
    off = []
    for kpi in s.scalars(select(Kpi)):
        targets = {t.year: t.target for t in s.scalars(select(KpiTarget).where(KpiTarget.kpi_id == kpi.id))}
        latest: dict[int, Measurement] = {}
        for m in s.scalars(select(Measurement).where(Measurement.kpi_id == kpi.id).order_by(Measurement.date)):
            latest[m.date.year] = m
        for year, m in latest.items():
            missed = m.value < targets[year] if kpi.direction == "up" else m.value > targets[year]
            if missed:
                off.append((kpi.code, kpi.direction, year))
    assert {d for _c, d, _y in off} == {"up", "down"}


def test_recruitment_delay_is_planted(demo) -> None:  # type: ignore[no-untyped-def]
    ws, s = demo
    open_ = s.scalars(select(Recruitment).where(Recruitment.eod_date.is_(None))).all()
    assert any((ws.as_of - r.notice_date).days > 120 for r in open_)
    assert any((ws.as_of - r.notice_date).days <= 120 for r in open_)
    done = s.scalars(select(Recruitment).where(Recruitment.eod_date.is_not(None))).all()
    assert len(done) > 50 and all(r.eod_date <= ws.as_of for r in done)  # type: ignore[operator]


def test_cost_recovery_deficit_surplus_and_balance_are_planted(demo) -> None:  # type: ignore[no-untyped-def]
    _ws, s = demo
    products = {p.id: p for p in s.scalars(select(Product))}
    rates = {(r.unit_id, r.year): r.rate_e6 for r in s.scalars(select(OverheadRate))}
    income: dict[tuple[int, int], int] = defaultdict(int)
    direct: dict[tuple[int, int], int] = defaultdict(int)
    for e in s.scalars(select(CostRecoveryEntry)):
        (income if e.type == "income" else direct)[e.product_id, e.date.year] += e.amount_centimes
    nets = []
    for (product, year), d in direct.items():
        rate = rates.get((products[product].unit_id, year), 0)
        full = Fraction(d) * (1 + Fraction(rate, 1_000_000))
        nets.append(income[product, year] - full)
    assert any(n < 0 for n in nets) and any(n > 0 for n in nets) and any(n == 0 for n in nets)
    assert any((p.unit_id, 2006) not in rates for p in products.values()), "a product without a rate"


def test_funding_gap_is_planted_in_2007(demo) -> None:  # type: ignore[no-untyped-def]
    _ws, s = demo
    value = {(v.year, v.member_type): v.value_centimes for v in s.scalars(select(UnitValue))}
    members = s.execute(select(Member.type, Member.units_e4)).all()
    balance = {}
    for year in (2006, 2007):
        contributions = sum(
            Fraction(units * value[year, kind], 10_000) for kind, units in members if units and (year, kind) in value
        )
        cr = sum(
            e.amount_centimes
            for e in s.scalars(select(CostRecoveryEntry).where(CostRecoveryEntry.type == "income"))
            if e.date.year == year
        )
        other = sum(i.amount_centimes for i in s.scalars(select(Income)) if i.date.year == year)
        spend = sum(
            c.amount_centimes
            for c in s.scalars(select(CostLine).where(CostLine.version_id == _approved(s), CostLine.year == year))
        )
        balance[year] = contributions + cr + other - spend
    assert balance[2006] > 0 > balance[2007]


def test_staff_representation_data(demo) -> None:  # type: ignore[no-untyped-def]
    _ws, s = demo
    staff = s.scalars(select(Staff)).all()
    assert len(staff) > 500
    assert {m.gender for m in staff} >= {"F", "M"}


def test_scale_adds_about_ten_thousand_actuals(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with Workspace.open(f"sqlite:///{tmp_path / 's3.db'}", user="t", create=True) as ws:
        counts = build_demo_workspace(ws, scale=3, progress=False)
    assert 28_000 <= counts["actuals"] <= 32_000
    assert counts["activities"] > 300
