"""The plan-version workflow: list, copy, submit (locks), approve (supersedes the same
period only), the change measured against the base version; SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from itu_plan import ConflictError, NotFound, PermissionDenied, UsageError, Workspace, access, audit, editing, versions
from itu_plan.demo import build_demo_workspace
from itu_plan.model import BudgetLine, CostLine, PlanVersion, period_in_name
from tests.small_plan import APPROVED, BARE, DRAFT, OLD, build_small_plan, travel


@pytest.fixture
def plan(workspace: Workspace) -> Workspace:
    build_small_plan(workspace)
    return workspace


@pytest.fixture(params=["sqlite", "postgresql"])
def demo(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Workspace]:
    """A private demo workspace on each backend."""
    if request.param == "sqlite":
        url = request.getfixturevalue("demo_copy")
        ws = Workspace.open(url, user="tester")
    else:
        ws = Workspace.open(request.getfixturevalue("postgres").new_database(), user="tester")
        build_demo_workspace(ws, progress=False)
    yield ws
    ws.close()


def _statuses(workspace: Workspace) -> dict[str, str]:
    with workspace.reading() as s:
        return {v.name: v.status for v in versions.list_versions(s)}


def test_a_name_without_a_period_gives_none() -> None:
    # only the importer and the migration read a period from a name
    assert period_in_name("2006-2007 draft") == (2006, 2007)
    assert period_in_name("2006-2007") == (2006, 2007)
    assert period_in_name("2008 revised") == (2008, 2008)
    assert period_in_name("2008-2011 revision 2") == (2008, 2011)
    assert period_in_name("draft 2006-2007") is None
    assert period_in_name("20061-2007") is None
    assert period_in_name("2007-2006") is None


def test_list_versions(plan: Workspace) -> None:
    with plan.reading() as s:
        listed = {v.name: v for v in versions.list_versions(s)}
    assert list(listed) == sorted(listed)
    assert listed[DRAFT].status == "draft" and listed[DRAFT].based_on == APPROVED
    assert listed[OLD].based_on is None
    # four activities with a travel and a staff line; the draft's BDT-AFR travel is CHF 5,000 higher
    assert listed[APPROVED].cost_lines == 8 and listed[APPROVED].cost_centimes == 4 * 100_000_00
    assert listed[DRAFT].cost_centimes == 4 * 100_000_00 + 5_000_00
    assert listed[DRAFT].budget_lines == 8 and listed[DRAFT].budget_centimes == listed[DRAFT].cost_centimes


def test_copy_makes_a_draft_based_on_the_source(plan: Workspace) -> None:
    with plan.transaction() as s:
        copy = versions.copy_version(s, access.actor(s, "planner.tsb"), APPROVED, "2006-2007 revision")
        assert copy.status == "draft"
    with plan.reading() as s:
        listed = {v.name: v for v in versions.list_versions(s)}

        def lines(model: type[CostLine] | type[BudgetLine], name: str) -> list[tuple[object, ...]]:
            version = versions.get_version(s, name)
            columns = [c for c in model.__table__.columns if c.name not in ("id", "version_id")]
            return sorted(tuple(row) for row in s.execute(select(*columns).where(model.version_id == version.id)))

        assert lines(CostLine, "2006-2007 revision") == lines(CostLine, APPROVED)
        assert lines(BudgetLine, "2006-2007 revision") == lines(BudgetLine, APPROVED)
        events = audit.list_events(s, "plan_versions", "2006-2007 revision")
    new = listed["2006-2007 revision"]
    assert (new.status, new.based_on) == ("draft", APPROVED)
    assert (new.cost_lines, new.budget_lines) == (8, 8)
    assert [(e.username, e.action, e.before, e.after) for e in events] == [
        (
            "planner.tsb",
            "copy",
            None,
            {
                "name": "2006-2007 revision",
                "status": "draft",
                "based_on": APPROVED,
                "period": "2006-2007",
                "cost_lines": 8,
                "budget_lines": 8,
            },
        )
    ]


@pytest.mark.parametrize(
    ("source", "name", "error", "message"),
    [
        (APPROVED, DRAFT, UsageError, "there is already a plan version '2006-2007 draft'"),
        ("2099-2100 approved", "x", NotFound, "there is no plan version '2099-2100 approved'"),
        (APPROVED, "", UsageError, "a version needs a name"),
        (APPROVED, " padded", UsageError, "has spaces around it"),
        (APPROVED, "x" * 101, UsageError, "at most 100 characters"),
    ],
)
def test_copy_refusals(plan: Workspace, source: str, name: str, error: type[Exception], message: str) -> None:
    before = plan.checksum()
    with pytest.raises(error, match=message), plan.transaction() as s:
        versions.copy_version(s, access.actor(s, "admin"), source, name)
    assert plan.checksum() == before


def test_a_reviewer_may_not_copy(plan: Workspace) -> None:
    with pytest.raises(PermissionDenied, match="reviewer may not create plan version"), plan.transaction() as s:
        versions.copy_version(s, access.actor(s, "reviewer"), APPROVED, "mine")


def test_submit_locks_the_version(plan: Workspace) -> None:
    with plan.reading() as s:
        row_version = editing.find_cost_line(s, travel()).row_version
    with plan.transaction() as s:
        versions.submit(s, access.actor(s, "manager.bdt"), DRAFT)
    assert _statuses(plan)[DRAFT] == "submitted"
    with pytest.raises(UsageError) as caught, plan.transaction() as s:
        editing.update_cost_line(s, access.actor(s, "planner.bdt"), travel(), row_version, {"amount": "1"})
    assert "2006-2007 draft is submitted; only draft versions can be edited" in str(caught.value)
    with pytest.raises(UsageError, match="only a draft can be submitted"), plan.transaction() as s:
        versions.submit(s, access.actor(s, "manager.bdt"), DRAFT)
    with plan.reading() as s:
        events = [(e.username, e.action, e.before, e.after) for e in audit.list_events(s, "plan_versions", DRAFT)]
    assert events == [("manager.bdt", "submit", {"status": "draft"}, {"status": "submitted"})]


def test_approve_supersedes_the_approved_version_of_the_same_period_only(plan: Workspace) -> None:
    with plan.transaction() as s:
        versions.submit(s, access.actor(s, "manager.bdt"), DRAFT)
    with plan.transaction() as s:
        approval = versions.approve(s, access.actor(s, "manager.bdt"), DRAFT)
        assert approval.superseded == [APPROVED]
        assert approval.change.amount_centimes == 5_000_00
    assert _statuses(plan) == {
        OLD: "approved",  # another period: untouched
        "2006-2007 proposed": "superseded",
        APPROVED: "superseded",
        DRAFT: "approved",
        BARE: "draft",
    }
    with plan.reading() as s:
        events = [
            (e.username, e.action, e.record_key, e.before, e.after) for e in audit.list_events(s, "plan_versions")
        ]
    assert events[-2:] == [
        (
            "manager.bdt",
            "approve",
            DRAFT,
            {"status": "submitted"},
            {"status": "approved", "based_on": APPROVED, "change": "5000.00", "units_touched": ["BDT-AFR"]},
        ),
        (
            "manager.bdt",
            "supersede",
            APPROVED,
            {"status": "approved"},
            {"status": "superseded", "superseded_by": DRAFT},
        ),
    ]


def test_approve_needs_a_submitted_version(plan: Workspace) -> None:
    for name, hint in ((DRAFT, "only a submitted version can be approved; submit it first"), (OLD, "it is approved")):
        with pytest.raises(UsageError, match=hint), plan.transaction() as s:
            versions.approve(s, access.actor(s, "admin"), name)
    with pytest.raises(NotFound, match="there is no plan version 'nope'"), plan.transaction() as s:
        versions.approve(s, access.actor(s, "admin"), "nope")


def test_the_change_counts_budget_differences_and_units_of_any_changed_line(plan: Workspace) -> None:
    with plan.transaction() as s:
        change = versions.change_against_base(s, versions.get_version(s, DRAFT))
        assert (change.base, change.amount_centimes, sorted(change.units.values())) == (APPROVED, 5_000_00, ["BDT-AFR"])
        admin = access.actor(s, "admin")
        # a TSB cost line moves without touching the budget: TSB-SGD is touched, the amount is not
        key = travel("TSB-SGD-001")
        editing.update_cost_line(s, admin, key, editing.find_cost_line(s, key).row_version, {"amount": "10000.01"})
        # a BR budget line goes down by CHF 300: the amount counts its absolute value
        line = s.scalars(
            select(BudgetLine)
            .join(PlanVersion)
            .where(PlanVersion.name == DRAFT, BudgetLine.category == "travel", BudgetLine.amount_centimes == 10_000_00)
            .order_by(BudgetLine.id)
        ).first()
        assert line is not None
        line.amount_centimes -= 300_00
        s.flush()
        change = versions.change_against_base(s, versions.get_version(s, DRAFT))
        assert change.amount_centimes == 5_000_00 + 300_00
        assert len(change.units) == 3 and "TSB-SGD" in change.units.values()
        bare = versions.change_against_base(s, versions.get_version(s, BARE))
    assert bare.base is None and bare.amount_centimes == 4 * 100_000_00
    assert sorted(bare.units.values()) == ["BDT-AFR", "BDT-PKM", "BR-SSD", "TSB-SGD"]


def test_a_transition_from_a_stale_read_is_a_conflict(plan: Workspace) -> None:
    with plan.transaction() as s:
        versions.submit(s, access.actor(s, "admin"), DRAFT)
    with plan.reading() as s:
        stale = versions.get_version(s, DRAFT)  # read, then someone else approves it
    with plan.transaction() as s:
        versions.approve(s, access.actor(s, "manager.bdt"), DRAFT)
    with pytest.raises(ConflictError) as caught, plan.transaction() as s:
        versions._set_status(s, s.merge(stale, load=False), "approved")
    assert caught.value.exit_code == 4
    assert str(caught.value).startswith("plan version 2006-2007 draft was changed by manager.bdt at ")
    assert _statuses(plan)[DRAFT] == "approved"


def test_the_demo_draft_is_approved_by_the_bdt_manager(demo: Workspace) -> None:
    """The brief's scenario: five BDT travel lines each CHF 5,000 higher, CHF 25,000 in all."""
    with demo.transaction() as s:
        versions.submit(s, access.actor(s, "manager.bdt"), "2006-2007 draft")
    with pytest.raises(PermissionDenied, match="outside their units \\(BR\\)"), demo.transaction() as s:
        versions.approve(s, access.actor(s, "manager.br"), "2006-2007 draft")
    with demo.transaction() as s:
        approval = versions.approve(s, access.actor(s, "manager.bdt"), "2006-2007 draft")
    assert approval.change.amount_centimes == 25_000_00
    assert all(code.startswith("BDT-") for code in approval.change.units.values())
    assert approval.superseded == ["2006-2007 approved"]
    assert _statuses(demo) == {
        "2004-2005 approved": "approved",
        "2006-2007 proposed": "superseded",
        "2006-2007 approved": "superseded",
        "2006-2007 draft": "approved",
    }
