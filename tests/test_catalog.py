"""itu_plan.catalog (what the apps offer to choose from, cost lines, records behind a
warning) and the audit of refused attempts, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from itu_plan import ConflictError, NotFound, PermissionDenied, Workspace, access, audit, catalog, editing
from itu_plan.editing import CostLineKey
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
    assert len(cat.objectives) == 24
    with pytest.raises(NotFound, match="there is no unit 'XYZ'"):
        cat.units_below("XYZ")
    assert (user.role, user.units, user.delegation_limit) == ("manager", ("BDT",), Decimal("500000.00"))
    assert user.can_write and user.can_approve
    assert user.describe() == "manager.bdt, manager for BDT (approves changes up to CHF 500,000.00)"


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
        overspend = scoped[scoped["rule"] == "OVERSPEND"]
        assert len(overspend) and all(s.startswith("BDT") and s.endswith("/2006") for s in overspend["subject"])
        assert set(scoped["rule"]) >= {"KPI_OFF_TRACK", "RECRUITMENT_DELAY"}  # about the whole secretariat
        assert not any(s.endswith(("/2004", "/2005", "/2007")) for s in scoped["subject"])


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
        warnings = ws.report("warnings")
        found = {}
        for rule, subject in zip(warnings["rule"], warnings["subject"], strict=True):
            if rule not in found:
                found[rule] = catalog.records_behind_warning(ws, rule, subject, as_of=ws.as_of)
                first = subject
                if rule == "OVERSPEND":
                    parts = catalog.warning_subject(rule, first)
                    bva = ws.report("budget-vs-actual")
                    row = bva[(bva["unit_code"] == parts["unit_code"]) & (bva["objective_code"] == parts["objective_code"])
                              & (bva["year"] == parts["year"])]  # fmt: skip
                    assert sum(found[rule]["amount"]) == row["actual"].iloc[0]
        with pytest.raises(NotFound):
            catalog.records_behind_warning(ws, "KPI_OFF_TRACK", "KPI-NOPE")
    assert set(found) == {"OVERSPEND", "KPI_OFF_TRACK", "RECRUITMENT_DELAY", "COST_RECOVERY_DEFICIT",
                          "COST_RECOVERY_SURPLUS", "FUNDING_GAP"}  # fmt: skip
    assert all(len(frame) for frame in found.values())
    assert list(found["RECRUITMENT_DELAY"].columns)[:2] == ["vacancy_id", "post_number"]
    assert found["RECRUITMENT_DELAY"]["eod_date"].isna().all()
    assert catalog.warning_subject("OVERSPEND", "BDT-AFR//2006") == {
        "unit_code": "BDT-AFR", "objective_code": None, "year": 2006,
    }  # fmt: skip


def test_contributions_add_up_to_the_financial_plan(demo_url: str) -> None:
    with Workspace.open(demo_url, user="reviewer") as ws:
        frame = catalog.contributions(ws)
        plan = ws.report("financial-plan")
    lines = {"member_state": "assessed_contributions", "sector_member": "sector_member_contributions",
             "associate": "associate_contributions"}  # fmt: skip
    for (year, kind), group in frame.groupby(["year", "member_type"]):
        expected = plan[(plan["year"] == year) & (plan["line"] == lines[kind])]["amount"].iloc[0]
        assert abs(sum(group["amount"]) - expected) <= Decimal("0.05")
    assert set(frame[frame["member_type"] == "member_state"]["region"]) == {"A", "B", "C", "D", "E"}


def test_approval_facts_measure_the_change_against_the_base(demo_url: str) -> None:
    with Workspace.open(demo_url, user="manager.bdt") as ws:
        facts = catalog.approval_facts(ws, "2006-2007 draft")
        assert catalog.unit_values(ws)[2006, "member_state"] == Decimal("318000.00")
    assert (facts.status, facts.base, facts.change) == ("draft", "2006-2007 approved", Decimal("25000.00"))
    assert facts.units_touched and all(u.startswith("BDT") for u in facts.units_touched)


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
