"""itu_plan.catalog (what the apps offer to choose from, cost lines, records behind a
warning) and the audit of refused attempts, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pandas as pd
import pytest

from itu_plan import ConflictError, NotFound, PermissionDenied, Workspace, access, audit, catalog, editing
from itu_plan.editing import CostLineKey
from itu_plan.reports.warnings import EarlyWarning
from tests.widgets_support import demo_url, events, pg_demo_template  # noqa: F401

LINE = CostLineKey("2006-2007 draft", "BDT-AFR-001", 2006, "contractual", None, "RB-MS")


def test_catalog_lists_the_choices(demo_url: str) -> None:
    with Workspace.open(demo_url, user="manager.bdt") as ws:
        cat = catalog.load(ws)
        user = catalog.current_user(ws)
    assert [v.name for v in cat.versions] == [
        "2004-2005 approved", "2006-2007 proposed", "2006-2007 approved", "2006-2007 draft",
    ]  # fmt: skip
    assert cat.default_version == "2006-2007 approved"
    assert cat.version("2006-2007 draft").is_draft and cat.version("2006-2007 draft").based_on == "2006-2007 approved"
    assert cat.years == (2004, 2005, 2006, 2007)
    assert str(cat.as_of) == "2007-06-30"
    assert [u.code for u in cat.units if u.depth == 0] == ["BDT", "BR", "GS", "TSB"]
    assert cat.units_below("BDT") >= {"BDT", "BDT-AFR", "BDT-ARB"} and "BR" not in cat.units_below("BDT")
    assert cat.units_below("BDT-AFR") == {"BDT-AFR"}
    assert len(cat.objectives) == 27
    with pytest.raises(NotFound, match="there is no unit 'XYZ'"):
        cat.units_below("XYZ")
    assert (user.role, user.units, user.delegation_limit) == ("manager", ("BDT",), Decimal("500000.00"))
    assert user.can_write and user.can_approve
    assert user.describe() == "manager.bdt, manager for BDT (approves changes up to CHF 500,000.00)"


def test_versions_carry_their_period_and_the_share_of_it_elapsed(demo_url: str) -> None:
    with Workspace.open(demo_url, user="reviewer") as ws:
        cat = catalog.load(ws)
    approved, previous = cat.version("2006-2007 approved"), cat.version("2004-2005 approved")
    assert (approved.first_year, approved.last_year, approved.period) == (2006, 2007, "2006-2007")
    assert list(approved.years) == [2006, 2007] and approved.covers(2007) and not approved.covers(2005)
    assert approved.label == "2006-2007 approved (2006-2007)"
    assert cat.version("2006-2007 proposed").label == "2006-2007 proposed (2006-2007, superseded)"
    as_of = cat.figures_as_of
    assert as_of == dt.date(2007, 6, 30)
    assert approved.elapsed_share(as_of) == Fraction(546, 730)  # 365 days of 2006 and 181 of 2007
    assert approved.elapsed_share(as_of, 2007) == Fraction(181, 365)
    assert approved.elapsed_share(as_of, 2006) == 1 == previous.elapsed_share(as_of)
    assert approved.elapsed_share(dt.date(2005, 12, 31)) == 0  # before the period
    assert approved.elapsed_share(dt.date(2006, 1, 1)) == Fraction(1, 730)  # the end of its first day


def test_units_and_objectives_are_named_from_the_catalog(demo_url: str) -> None:
    with Workspace.open(demo_url, user="reviewer") as ws:
        cat = catalog.load(ws)
    name = cat.unit("BDT-AFR").name
    assert name and cat.name_of("unit_code", "BDT-AFR") == name
    assert cat.named("unit_code", "BDT-AFR") == f"BDT-AFR — {name}"
    assert cat.named("objective_code", "ITU-D.1") == f"ITU-D.1 — {cat.objective('ITU-D.1').name}"
    assert cat.name_of("unit_code", "NOPE") is None and cat.named("unit_code", "NOPE") == "NOPE"
    assert cat.name_of("product_code", "BDT-AFR") is None


def test_restrict_filters_report_tables_by_unit_tree_objective_and_year(demo_url: str) -> None:
    with Workspace.open(demo_url, user="reviewer") as ws:
        cat = catalog.load(ws)
        frame = ws.report("budget-vs-actual")
        bdt = cat.restrict(frame, unit="BDT", year=2006)
        assert len(bdt) and set(bdt["unit_code"]) <= cat.units_below("BDT") and set(bdt["year"]) == {2006}
        assert len(bdt) == sum(1 for u, y in zip(frame["unit_code"], frame["year"], strict=True)
                               if u.startswith("BDT") and y == 2006)  # fmt: skip
        assert bdt.attrs["version"] == "2006-2007 approved"
        one = cat.restrict(frame, objective="ITU-D.1")
        assert set(one["objective_code"]) == {"ITU-D.1"}
        assert cat.restrict(ws.report("agreements"), unit="BDT", year=2006).equals(ws.report("agreements"))
        warnings = ws.report("warnings")
        scoped = cat.restrict(warnings, unit="BDT", year=2006)
        records = catalog.warning_records(scoped)
        overspend = [w for w in records if w.rule == "OVERSPEND"]
        assert overspend and all(w.unit_code in cat.units_below("BDT") and w.year == 2006 for w in overspend)
        assert {w.rule for w in records} >= {"KPI_OFF_TRACK", "RECRUITMENT_DELAY"}  # name no unit: they stay
        assert set(scoped["year"]) <= {2006, None} and None in set(scoped["year"])  # a vacancy names no year
        assert scoped.attrs["records"] is warnings.attrs["records"]
        objective = overspend[0].objective_code  # the demo's BDT overspend
        by_objective = catalog.warning_records(cat.restrict(warnings, objective=objective))
        assert {w.objective_code for w in by_objective if w.unit_code} == {objective}


def test_cost_lines_carry_business_keys_and_row_versions(demo_url: str) -> None:
    with Workspace.open(demo_url, user="planner.bdt") as ws:
        cat = catalog.load(ws)
        rows = catalog.cost_lines(ws, "2006-2007 draft", units=cat.units_below("BDT"), year=2006)
        plan = cat.restrict(ws.report("plan-costs", version="2006-2007 draft"), unit="BDT", year=2006)
        with pytest.raises(NotFound):
            catalog.cost_lines(ws, "no such version")
    assert sum(r.amount for r in rows) == sum(plan["amount"])
    first = next(r for r in rows if r.key == LINE)
    assert first.line == "BDT-AFR-001/2006/contractual//RB-MS" and first.row_version == 1
    assert (first.unit, first.objective, first.amount) == ("BDT-AFR", "ITU-D.1", Decimal("35698.00"))
    assert len({r.line for r in rows}) == len(rows)
    staff = next(r for r in rows if r.key.category == "staff")
    assert staff.work_months is not None and staff.key.grade


def test_records_behind_each_kind_of_warning(demo_url: str) -> None:
    with Workspace.open(demo_url, user="reviewer") as ws:
        frame = ws.report("warnings")
        records = catalog.warning_records(frame)
        assert records == ws.warnings() and [w.row for w in records] == list(frame.itertuples(index=False, name=None))
        found = {}
        for warning in records:
            if warning.rule not in found:
                found[warning.rule] = catalog.records_behind_warning(ws, warning, as_of=ws.as_of)
                if warning.rule in ("OVERSPEND", "PROJECTED_OVERSPEND"):
                    bva = ws.report("budget-vs-actual")
                    row = bva[(bva["unit_code"] == warning.unit_code) & (bva["objective_code"] == warning.objective_code)
                              & (bva["year"] == warning.year)]  # fmt: skip
                    assert sum(found[warning.rule]["amount"]) == row["actual"].iloc[0]
        missing = EarlyWarning("high", "KPI_OFF_TRACK", "KPI-NOPE/2006", 2006, "", kpi_code="KPI-NOPE")
        with pytest.raises(NotFound):
            catalog.records_behind_warning(ws, missing)
        earlier = dt.date(2006, 6, 30)
        then = [w for w in ws.warnings(as_of=earlier) if w.rule == "RECRUITMENT_DELAY"]
        assert then, "the demo has recruitments open for long at 2006-06-30"
        as_then = pd.concat([catalog.records_behind_warning(ws, w, as_of=earlier) for w in then])
        assert as_then["eod_date"].isna().all()  # completed later, if at all: not known then
    assert set(found) == {"OVERSPEND", "PROJECTED_OVERSPEND", "KPI_OFF_TRACK", "RECRUITMENT_DELAY",
                          "COST_RECOVERY_DEFICIT", "COST_RECOVERY_SURPLUS", "MISSING_OVERHEAD_RATE",
                          "FUNDING_GAP"}  # fmt: skip
    assert all(len(frame) for frame in found.values())
    assert list(found["RECRUITMENT_DELAY"].columns)[:2] == ["vacancy_id", "post_number"]
    assert found["RECRUITMENT_DELAY"]["eod_date"].isna().all()
    kpi = found["KPI_OFF_TRACK"]
    assert len(set(d.year for d in kpi["date"])) == 1 and kpi["target"].notna().all()  # the year it missed


def test_contributions_add_up_to_the_financial_plan(demo_url: str) -> None:
    with Workspace.open(demo_url, user="reviewer") as ws:
        frame = catalog.contributions(ws)
        plan = ws.report("financial-plan")
        previous = catalog.contributions(ws, "2004-2005 approved")
    assert set(frame["year"]) == set(plan["year"]) == {2006, 2007}  # the version's period only
    assert set(previous["year"]) == {2004, 2005}
    lines = {"member_state": "assessed_contributions", "sector_member": "sector_member_contributions",
             "associate": "associate_contributions"}  # fmt: skip
    for (year, kind), group in frame.groupby(["year", "member_type"]):
        expected = plan[(plan["year"] == year) & (plan["line"] == lines[kind])]["plan"].iloc[0]
        assert abs(sum(group["amount"]) - expected) <= Decimal("0.05")
    assert set(frame[frame["member_type"] == "member_state"]["region"]) == {"A", "B", "C", "D", "E"}


def test_approval_facts_measure_the_change_against_the_base(demo_url: str) -> None:
    with Workspace.open(demo_url, user="manager.bdt") as ws:
        facts = catalog.approval_facts(ws, "2006-2007 draft")
        assert catalog.unit_values(ws)[2006, "member_state"] == Decimal("318000.00")
    # five BDT travel lines each CHF 5,000 higher, in the budget and in the cost lines
    assert (facts.status, facts.base, facts.change) == ("draft", "2006-2007 approved", Decimal("50000.00"))
    assert facts.units_touched and all(u.startswith("BDT") for u in facts.units_touched)
    assert facts.base_budget_total is not None and facts.budget_total - facts.base_budget_total == Decimal("25000.00")
    assert facts.raises_total and facts.submitted_by is None


def test_a_refused_write_is_audited_in_its_own_transaction(demo_url: str) -> None:
    with Workspace.open(demo_url, user="reviewer") as ws:
        with (
            pytest.raises(PermissionDenied),
            audit.denials_recorded(ws.transaction, "cost_lines", str(LINE)),
            ws.transaction() as session,
        ):
            editing.update_cost_line(session, access.actor(session, "reviewer"), LINE, 1, {"amount": "1.00"})
        with ws.reading() as session:
            assert editing.find_cost_line(session, LINE).amount_centimes == 3569800  # nothing changed
    assert events(demo_url, "cost_lines", str(LINE)) == [
        ("reviewer", "denied", str(LINE),
         {"attempted": f"change cost line {LINE}", "reason": "they are a reviewer and reviewers only read"}),
    ]  # fmt: skip


def test_a_denied_event_is_not_taken_for_the_last_change(demo_url: str) -> None:
    """A conflict names who last changed the record, not who was refused since."""
    with Workspace.open(demo_url, user="manager.bdt") as ws:
        with ws.transaction() as session:
            editing.update_cost_line(session, access.actor(session, "manager.bdt"), LINE, 1, {"amount": "5.00"})
        with ws.transaction() as session:
            audit.record_denied(session, "reviewer", "cost_lines", str(LINE), action="change it", reason="test")
        with pytest.raises(ConflictError, match=r"changed by manager\.bdt"), ws.transaction() as session:
            editing.update_cost_line(session, access.actor(session, "planner.bdt"), LINE, 1, {"amount": "6.00"})
