"""The plan-version workflow: list, copy, submit (locks), approve (supersedes the same
period only), the change measured against the base version; SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from itu_plan import (
    ConflictError,
    NotFound,
    PermissionDenied,
    UsageError,
    Workspace,
    access,
    audit,
    editing,
    users,
    versions,
)
from itu_plan.demo import build_demo_workspace
from itu_plan.model import (
    BudgetLine,
    CostLine,
    FundingSource,
    IncomeBudget,
    PlanVersion,
    User,
    UserUnit,
    period_in_name,
)
from tests.small_plan import APPROVED, BARE, DRAFT, OLD, budget, build_small_plan, travel


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


def _within_envelope(workspace: Workspace) -> None:
    """Lower the draft's BDT-AFR staff budget by the CHF 5,000 its travel budget went up:
    a transfer within the approved envelope (budget CHF 5,000 + 5,000, cost lines
    CHF 5,000: a change of CHF 15,000.00 in BDT-AFR, the budget total unchanged)."""
    key = budget(category="staff")
    with workspace.transaction() as s:
        line = editing.find_budget_line(s, key)
        editing.update_budget_line(s, access.actor(s, "admin"), key, line.row_version, {"amount": "85000"})


def _submit(workspace: Workspace, username: str, name: str = DRAFT) -> None:
    with workspace.transaction() as s:
        versions.submit(s, access.actor(s, username), name)


def _approve(workspace: Workspace, username: str, name: str = DRAFT) -> versions.Approval:
    with workspace.transaction() as s:
        return versions.approve(s, access.actor(s, username), name)


def _refusal(workspace: Workspace, username: str, name: str = DRAFT) -> str:
    """Why ``username`` may not approve ``name``; the refusal changes nothing."""
    before = workspace.checksum()
    with pytest.raises(PermissionDenied) as caught, workspace.transaction() as s:
        versions.approve(s, access.actor(s, username), name)
    assert caught.value.exit_code == 3
    assert workspace.checksum() == before
    prefix = f"{username} may not approve {name}: "
    assert str(caught.value).startswith(prefix)
    return str(caught.value).removeprefix(prefix)


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
    with plan.reading() as s:
        assert versions.get_version(s, DRAFT).submitted_by is None
    with plan.transaction() as s:
        versions.submit(s, access.actor(s, "manager.bdt"), DRAFT)
    assert _statuses(plan)[DRAFT] == "submitted"
    with plan.reading() as s:
        assert versions.get_version(s, DRAFT).submitted_by == "manager.bdt"
    with pytest.raises(UsageError) as caught, plan.transaction() as s:
        editing.update_cost_line(s, access.actor(s, "planner.bdt"), travel(), row_version, {"amount": "1"})
    assert "2006-2007 draft is submitted; only draft versions can be edited" in str(caught.value)
    with pytest.raises(UsageError, match="only a draft can be submitted"), plan.transaction() as s:
        versions.submit(s, access.actor(s, "manager.bdt"), DRAFT)
    with plan.reading() as s:
        events = [(e.username, e.action, e.before, e.after) for e in audit.list_events(s, "plan_versions", DRAFT)]
    assert events == [
        ("manager.bdt", "submit", {"status": "draft"}, {"status": "submitted", "submitted_by": "manager.bdt"})
    ]


def test_approve_supersedes_the_approved_version_of_the_same_period_only(plan: Workspace) -> None:
    _within_envelope(plan)
    _submit(plan, "admin")
    with plan.transaction() as s:
        approval = versions.approve(s, access.actor(s, "manager.bdt"), DRAFT)
        assert approval.superseded == [APPROVED]
        assert approval.change.amount_centimes == 15_000_00
    assert _statuses(plan) == {
        OLD: "approved",  # another period: untouched
        "2006-2007 proposed": "superseded",
        APPROVED: "superseded",
        DRAFT: "approved",
        BARE: "draft",
    }
    with plan.reading() as s:
        assert versions.get_version(s, DRAFT).submitted_by == "admin"  # kept: who submitted what was approved
        events = [
            (e.username, e.action, e.record_key, e.before, e.after) for e in audit.list_events(s, "plan_versions")
        ]
    assert events[-2:] == [
        (
            "manager.bdt",
            "approve",
            DRAFT,
            {"status": "submitted"},
            {
                "status": "approved",
                "based_on": APPROVED,
                "submitted_by": "admin",
                "change": "15000.00",
                "budget_change": "10000.00",
                "cost_change": "5000.00",
                "income_change": "0.00",
                "base_total": "400000.00",
                "new_total": "400000.00",
                "delegation_limit": "500000.00",
                "units_touched": ["BDT-AFR"],
            },
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


def test_the_change_counts_budget_and_cost_differences_and_units_of_either(plan: Workspace) -> None:
    with plan.transaction() as s:
        change = versions.change_against_base(s, versions.get_version(s, DRAFT))
        assert (change.base, sorted(change.units.values())) == (APPROVED, ["BDT-AFR"])
        # the BDT-AFR travel line is CHF 5,000 higher in the budget and in the cost lines
        assert (change.budget_centimes, change.cost_centimes, change.income_centimes) == (5_000_00, 5_000_00, 0)
        assert change.amount_centimes == 10_000_00
        assert (change.base_total_centimes, change.total_centimes) == (400_000_00, 405_000_00)
        admin = access.actor(s, "admin")
        # a TSB cost line moves without touching the budget: TSB-SGD is touched and the centime counts
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
        assert (change.budget_centimes, change.cost_centimes) == (5_000_00 + 300_00, 5_000_00 + 1)
        assert change.amount_centimes == 10_300_01
        assert change.total_centimes == 405_000_00 - 300_00
        assert len(change.units) == 3 and "TSB-SGD" in change.units.values()
        bare = versions.change_against_base(s, versions.get_version(s, BARE))
    # without a base every line is a change: CHF 400,000 of budget and CHF 400,000 of cost lines
    assert bare.base is None and bare.base_total_centimes is None
    assert (bare.budget_centimes, bare.cost_centimes, bare.amount_centimes) == (400_000_00, 400_000_00, 800_000_00)
    assert sorted(bare.units.values()) == ["BDT-AFR", "BDT-PKM", "BR-SSD", "TSB-SGD"]


def test_the_change_counts_income_budget_differences(plan: Workspace) -> None:
    with plan.transaction() as s:
        source = s.scalars(select(FundingSource.id).where(FundingSource.code == "TF-ICT")).one()
        approved, draft = (versions.get_version(s, name).id for name in (APPROVED, DRAFT))
        s.add_all(
            [
                IncomeBudget(version_id=approved, year=2006, funding_source_id=source, amount_centimes=70_000_00),
                IncomeBudget(version_id=approved, year=2007, funding_source_id=source, amount_centimes=20_000_00),
                IncomeBudget(version_id=draft, year=2006, funding_source_id=source, amount_centimes=50_000_00),
                IncomeBudget(version_id=draft, year=2007, funding_source_id=source, amount_centimes=20_000_00),
            ]
        )
        s.flush()
        change = versions.change_against_base(s, versions.get_version(s, DRAFT))
    # 2006 planned CHF 20,000 less trust-fund income; 2007 unchanged; no unit is touched by income
    assert change.income_centimes == 20_000_00
    assert change.amount_centimes == 5_000_00 + 5_000_00 + 20_000_00
    assert sorted(change.units.values()) == ["BDT-AFR"]


# -- approval takes a second person; a manager cannot raise the approved total ----------------------


@pytest.mark.parametrize("submitter", ["admin", "manager.bdt"])
def test_whoever_submitted_a_version_may_not_approve_it(plan: Workspace, submitter: str) -> None:
    _within_envelope(plan)  # so that the figures alone would let manager.bdt approve it
    _submit(plan, submitter)
    assert _refusal(plan, submitter) == (
        f"{submitter} submitted it, and approval takes a second person: "
        "another manager for its units or an admin must approve it"
    )
    assert _statuses(plan)[DRAFT] == "submitted"
    second = "manager.bdt" if submitter == "admin" else "admin"
    assert _approve(plan, second).version.status == "approved"
    with plan.reading() as s:
        approved = audit.list_events(s, "plan_versions", DRAFT)[-1]
    assert (approved.username, approved.after["submitted_by"]) == (second, submitter)


def test_without_users_the_one_user_submits_and_approves(plan: Workspace) -> None:
    with plan.transaction() as s:
        s.execute(delete(UserUnit))
        s.execute(delete(User))
    _submit(plan, "tester")
    approval = _approve(plan, "tester")
    assert approval.version.status == "approved" and approval.version.submitted_by == "tester"


def test_a_manager_may_not_raise_the_approved_total_and_an_admin_may(plan: Workspace) -> None:
    _submit(plan, "manager.bdt")  # the draft raises the budget total by CHF 5,000
    with plan.transaction() as s:
        users.add_user(s, access.actor(s, "admin"), "manager.bdt2", "manager", ["BDT"], "500000")
    assert _refusal(plan, "manager.bdt2") == (
        "it raises the budget total by CHF 5,000.00 above 2006-2007 approved's (a manager approves only "
        "transfers within the approved envelope); it needs an admin (budget total CHF 400,000.00 in "
        "2006-2007 approved and CHF 405,000.00 in 2006-2007 draft; change against 2006-2007 approved "
        "CHF 10,000.00, the sum of the absolute differences of its budget, cost and income budget lines, "
        "units touched: BDT-AFR; delegation limit CHF 500,000.00)"
    )
    approval = _approve(plan, "admin")
    assert approval.version.status == "approved"
    with plan.reading() as s:
        after = audit.list_events(s, "plan_versions", DRAFT)[-1].after
    assert (after["base_total"], after["new_total"], after["change"], after["delegation_limit"]) == (
        "400000.00",
        "405000.00",
        "10000.00",
        None,  # an admin has no limit
    )


def test_a_manager_approves_a_transfer_within_the_envelope_and_their_limit(plan: Workspace) -> None:
    _within_envelope(plan)
    _submit(plan, "admin")
    assert _refusal(plan, "manager.small") == (
        "its change is more than their delegation limit; it needs an admin (budget total CHF 400,000.00 in "
        "2006-2007 approved and CHF 400,000.00 in 2006-2007 draft; change against 2006-2007 approved "
        "CHF 15,000.00, the sum of the absolute differences of its budget, cost and income budget lines, "
        "units touched: BDT-AFR; delegation limit CHF 1,000.00)"
    )
    approval = _approve(plan, "manager.bdt")
    assert approval.version.status == "approved" and approval.change.amount_centimes == 15_000_00


def test_cost_lines_alone_count_against_the_delegation_limit(plan: Workspace) -> None:
    """CHF 50,000,000 more on one cost line and the budget untouched is not a change of nothing."""
    with plan.transaction() as s:
        admin = access.actor(s, "admin")
        versions.copy_version(s, admin, APPROVED, "2006-2007 revision")
        key = travel(version="2006-2007 revision")
        line = editing.find_cost_line(s, key)
        editing.update_cost_line(s, admin, key, line.row_version, {"amount": "50010000"})
    _submit(plan, "admin", "2006-2007 revision")
    assert _refusal(plan, "manager.bdt", "2006-2007 revision") == (
        "its change is more than their delegation limit; it needs an admin (budget total CHF 400,000.00 in "
        "2006-2007 approved and CHF 400,000.00 in 2006-2007 revision; change against 2006-2007 approved "
        "CHF 50,000,000.00, the sum of the absolute differences of its budget, cost and income budget lines, "
        "units touched: BDT-AFR; delegation limit CHF 500,000.00)"
    )
    with plan.reading() as s:
        change = versions.change_against_base(s, versions.get_version(s, "2006-2007 revision"))
    assert (change.budget_centimes, change.cost_centimes) == (0, 50_000_000_00)


def test_a_transition_from_a_stale_read_is_a_conflict(plan: Workspace) -> None:
    _within_envelope(plan)
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


def test_the_demo_draft_needs_a_second_person_and_an_admin(demo: Workspace) -> None:
    """Issue 11, point 10: the BDT manager submitted the demo draft (five BDT travel lines each
    CHF 5,000 higher, in the budget and the cost lines) and then approved it, raising the
    approved total by CHF 25,000. Now the submitter may not approve it, nor may any manager
    raise the total; an admin may."""
    with demo.reading() as s:
        totals = {v.name: v.budget_centimes for v in versions.list_versions(s)}
    assert totals["2006-2007 draft"] - totals["2006-2007 approved"] == 25_000_00
    with demo.transaction() as s:
        versions.submit(s, access.actor(s, "manager.bdt"), "2006-2007 draft")
    with demo.transaction() as s:
        users.add_user(s, access.actor(s, "admin"), "manager.bdt2", "manager", ["BDT"], "500000")
    assert _refusal(demo, "manager.bdt", "2006-2007 draft").startswith("manager.bdt submitted it, and approval")
    assert "outside their units (BR)" in _refusal(demo, "manager.br", "2006-2007 draft")
    refusal = _refusal(demo, "manager.bdt2", "2006-2007 draft")
    assert refusal.startswith("it raises the budget total by CHF 25,000.00 above 2006-2007 approved's")
    assert "change against 2006-2007 approved CHF 50,000.00" in refusal  # budget and cost lines
    approval = _approve(demo, "admin", "2006-2007 draft")
    assert approval.change.amount_centimes == 50_000_00
    assert all(code.startswith("BDT-") for code in approval.change.units.values())
    assert approval.superseded == ["2006-2007 approved"]
    assert _statuses(demo) == {
        "2004-2005 approved": "approved",
        "2006-2007 proposed": "superseded",
        "2006-2007 approved": "superseded",
        "2006-2007 draft": "approved",
    }
