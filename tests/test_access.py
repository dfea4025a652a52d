"""Who may do what: actors, the unit tree, and the permission matrix of every role
against every kind of write, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from itu_plan import PermissionDenied, UsageError, Workspace, access, editing, users, versions
from itu_plan.editing import BudgetLineKey, CostLineKey
from itu_plan.model import Unit
from tests.small_plan import APPROVED, BARE, DRAFT, budget, build_small_plan, staff, travel


@pytest.fixture
def plan(workspace: Workspace) -> Workspace:
    build_small_plan(workspace)
    with workspace.transaction() as s:  # a second admin, to submit what the matrix approves
        users.add_user(s, access.actor(s, "admin"), "admin.two", "admin")
    return workspace


def test_without_users_everyone_is_admin_over_everything(workspace: Workspace) -> None:
    with workspace.transaction() as s:
        s.add(Unit(code="GS", name="General Secretariat"))
    with workspace.reading() as s:
        who = access.actor(s, "whoever")
        gs = s.scalars(select(Unit.id)).one()
    assert who.acts_for(gs)
    assert who.role == "admin" and who.is_admin and who.all_units
    assert who.acts_for(12345)
    assert who.units_label() == "all units"


def test_an_actor_acts_for_their_units_and_every_unit_below(plan: Workspace) -> None:
    with plan.reading() as s:
        ids = {u.code: u.id for u in s.scalars(select(Unit))}
        planner = access.actor(s, "planner.bdt")
        manager = access.actor(s, "manager.bdt")
        admin = access.actor(s, "admin")
    assert planner.role == "planner" and planner.unit_codes == ("BDT",)
    assert planner.unit_ids == {ids["BDT"], ids["BDT-AFR"], ids["BDT-PKM"]}
    assert not planner.acts_for(ids["TSB-SGD"]) and not planner.acts_for(ids["GS"])
    assert manager.delegation_limit_centimes == 500_000_00
    assert admin.all_units and admin.acts_for(ids["TSB-SGD"])


def test_an_undefined_user_is_refused_once_users_exist(plan: Workspace) -> None:
    with plan.reading() as s, pytest.raises(PermissionDenied) as caught:
        access.actor(s, "stranger")
    assert caught.value.exit_code == 3
    assert str(caught.value).startswith("stranger may not use this workspace: they are not one of its users")


def test_a_write_outside_the_units_names_who_what_why(plan: Workspace) -> None:
    with plan.reading() as s:
        who = access.actor(s, "planner.tsb")
        line = editing.find_cost_line(s, travel())
        with pytest.raises(PermissionDenied) as caught:
            access.require_plan_write(
                s, who, unit_id=line.activity.unit_id, version=line.version, what=f"cost line {travel()}"
            )
    assert str(caught.value) == (
        "planner.tsb may not change cost line 2006-2007 draft/BDT-AFR-001/2006/travel//RB-MS: "
        "BDT-AFR is outside their units (TSB)"
    )


def test_only_drafts_are_written_even_by_an_admin(plan: Workspace) -> None:
    with plan.reading() as s:
        line = editing.find_cost_line(s, travel(version=APPROVED))
        with pytest.raises(UsageError) as caught:
            access.require_plan_write(
                s, access.actor(s, "admin"), unit_id=line.activity.unit_id, version=line.version, what="it"
            )
    assert caught.value.exit_code == 2
    assert "2006-2007 approved is approved; only draft versions can be edited" in str(caught.value)


def test_a_reviewer_only_reads(plan: Workspace) -> None:
    with plan.reading() as s, pytest.raises(PermissionDenied, match="they are a reviewer and reviewers only read"):
        access.require_writer(access.actor(s, "reviewer"), "activity X")


def test_require_admin_takes_a_username_or_an_actor(plan: Workspace) -> None:
    with plan.reading() as s:
        access.require_admin(s, "admin", "do it")
        with pytest.raises(PermissionDenied, match="needs the admin role and they are manager"):
            access.require_admin(s, access.actor(s, "manager.bdt"), "do it")


# -- the permission matrix -------------------------------------------------------------------

Write = Callable[[Session, access.Actor], object]


def _admin(s: Session) -> access.Actor:
    return access.actor(s, "admin")


def _update_line(key: CostLineKey) -> Write:
    def write(s: Session, who: access.Actor) -> object:
        version = editing.find_cost_line(s, key).row_version
        return editing.update_cost_line(s, who, key, version, {"amount": "12000"})

    return write


def _approve(name: str, *, within_envelope: bool = False, submitter: str | None = "admin.two") -> Write:
    """Approve ``name`` as ``who`` once ``submitter`` (``None``: ``who`` themselves) submitted it;
    ``within_envelope`` first lowers the draft's BDT-AFR staff budget by the CHF 5,000 its
    travel went up (a change of CHF 15,000 in BDT-AFR, the budget total unchanged)."""

    def write(s: Session, who: access.Actor) -> object:
        if within_envelope:
            line = editing.find_budget_line(s, budget(category="staff"))
            editing.update_budget_line(s, _admin(s), budget(category="staff"), line.row_version, {"amount": "85000"})
        versions.submit(s, who if submitter is None else access.actor(s, submitter), name)
        return versions.approve(s, who, name)

    return write


WRITES: dict[str, Write] = {
    "create activity in BDT-AFR": lambda s, who: editing.create_activity(
        s, who, code="BDT-AFR-009", title="New", objective="ITU-D.1", unit="BDT-AFR"
    ),
    "update activity of BDT-AFR": lambda s, who: editing.update_activity(
        s, who, "BDT-AFR-001", editing.find_activity(s, "BDT-AFR-001").row_version, {"title": "Renamed"}
    ),
    "delete activity of BDT-AFR": lambda s, who: editing.delete_activity(
        s, who, "BDT-AFR-002", editing.find_activity(s, "BDT-AFR-002").row_version
    ),
    "update activity of TSB-SGD": lambda s, who: editing.update_activity(
        s, who, "TSB-SGD-001", editing.find_activity(s, "TSB-SGD-001").row_version, {"owner": "someone"}
    ),
    "create cost line, BDT-AFR, draft": lambda s, who: editing.create_cost_line(
        s, who, CostLineKey(DRAFT, "BDT-AFR-001", 2007, "travel", None, "TF-ICT"), amount="1000"
    ),
    "update cost line, BDT-AFR, draft": _update_line(travel()),
    "delete cost line, BDT-AFR, draft": lambda s, who: editing.delete_cost_line(
        s, who, staff(), editing.find_cost_line(s, staff()).row_version
    ),
    "update cost line, TSB-SGD, draft": _update_line(travel("TSB-SGD-001")),
    "update cost line, BDT-AFR, approved": _update_line(travel(version=APPROVED)),
    "create budget line, BDT-PKM, draft": lambda s, who: editing.create_budget_line(
        s, who, BudgetLineKey(DRAFT, "BDT-PKM", "S-01", 2007, "travel"), amount="500.50"
    ),
    "update budget line, BDT-AFR, draft": lambda s, who: editing.update_budget_line(
        s, who, budget(), editing.find_budget_line(s, budget()).row_version, {"amount": "1"}
    ),
    "update budget line, BR-SSD, draft": lambda s, who: editing.update_budget_line(
        s, who, budget("BR-SSD"), editing.find_budget_line(s, budget("BR-SSD")).row_version, {"amount": "1"}
    ),
    "comment on a BDT-AFR cost line": lambda s, who: editing.add_comment(
        s, who, "cost_lines", str(travel()), "Why CHF 5,000 more?"
    ),
    "comment on a TSB-SGD cost line": lambda s, who: editing.add_comment(
        s, who, "cost_lines", str(travel("TSB-SGD-001")), "Fine."
    ),
    "copy a version": lambda s, who: versions.copy_version(s, who, APPROVED, "2006-2007 revision"),
    "submit the draft (BDT-AFR)": lambda s, who: versions.submit(s, who, DRAFT),
    "approve the draft (total +CHF 5,000)": _approve(DRAFT),
    "approve a transfer (CHF 15,000, BDT-AFR)": _approve(DRAFT, within_envelope=True),
    "approve what one submitted oneself": _approve(DRAFT, within_envelope=True, submitter=None),
    "approve a version with no base": _approve(BARE),
    "add a user": lambda s, who: users.add_user(s, who, "newcomer", "reviewer"),
}

ROLES = ("admin", "manager.bdt", "manager.small", "manager.br", "planner.bdt", "planner.tsb", "reviewer")
# ok: allowed; denied: PermissionDenied (exit 3); draft only: UsageError, the version is not a draft
EXPECTED = {
    #                                           admin  mgr.bdt  mgr.small mgr.br  pl.bdt   pl.tsb   reviewer
    "create activity in BDT-AFR":              ("ok", "ok", "ok", "denied", "ok", "denied", "denied"),
    "update activity of BDT-AFR":              ("ok", "ok", "ok", "denied", "ok", "denied", "denied"),
    "delete activity of BDT-AFR":              ("ok", "ok", "ok", "denied", "ok", "denied", "denied"),
    "update activity of TSB-SGD":              ("ok", "denied", "denied", "denied", "denied", "ok", "denied"),
    "create cost line, BDT-AFR, draft":        ("ok", "ok", "ok", "denied", "ok", "denied", "denied"),
    "update cost line, BDT-AFR, draft":        ("ok", "ok", "ok", "denied", "ok", "denied", "denied"),
    "delete cost line, BDT-AFR, draft":        ("ok", "ok", "ok", "denied", "ok", "denied", "denied"),
    "update cost line, TSB-SGD, draft":        ("ok", "denied", "denied", "denied", "denied", "ok", "denied"),
    "update cost line, BDT-AFR, approved":     ("draft only", "draft only", "draft only", "denied", "draft only",
                                                "denied", "denied"),
    "create budget line, BDT-PKM, draft":      ("ok", "ok", "ok", "denied", "ok", "denied", "denied"),
    "update budget line, BDT-AFR, draft":      ("ok", "ok", "ok", "denied", "ok", "denied", "denied"),
    "update budget line, BR-SSD, draft":       ("ok", "denied", "denied", "ok", "denied", "denied", "denied"),
    "comment on a BDT-AFR cost line":          ("ok", "ok", "ok", "denied", "ok", "denied", "denied"),
    "comment on a TSB-SGD cost line":          ("ok", "denied", "denied", "denied", "denied", "ok", "denied"),
    "copy a version":                          ("ok", "ok", "ok", "ok", "ok", "ok", "denied"),
    "submit the draft (BDT-AFR)":              ("ok", "ok", "ok", "denied", "denied", "denied", "denied"),
    "approve the draft (total +CHF 5,000)":    ("ok", "denied", "denied", "denied", "denied", "denied", "denied"),
    "approve a transfer (CHF 15,000, BDT-AFR)": ("ok", "ok", "denied", "denied", "denied", "denied", "denied"),
    "approve what one submitted oneself":      ("denied", "denied", "denied", "denied", "denied", "denied",
                                                "denied"),
    "approve a version with no base":          ("ok", "denied", "denied", "denied", "denied", "denied", "denied"),
    "add a user":                              ("ok", "denied", "denied", "denied", "denied", "denied", "denied"),
}  # fmt: skip


class _RollBack(Exception):
    """Raised after a successful write so that the matrix leaves the workspace unchanged."""


def _attempt(workspace: Workspace, username: str, write: Write) -> str:
    try:
        with workspace.transaction() as s:
            write(s, access.actor(s, username))
            raise _RollBack
    except _RollBack:
        return "ok"
    except PermissionDenied as exc:
        assert str(exc).startswith(f"{username} may not "), exc
        return "denied"
    except UsageError as exc:
        return "draft only" if "only draft versions can be edited" in str(exc) else f"usage error: {exc}"


def test_permission_matrix(plan: Workspace) -> None:
    before = plan.checksum()
    actual = {name: tuple(_attempt(plan, user, write) for user in ROLES) for name, write in WRITES.items()}
    assert actual == EXPECTED
    assert plan.checksum() == before


@pytest.mark.parametrize(
    ("username", "reason"),
    [
        (
            "manager.small",
            "it raises the budget total by CHF 5,000.00 above 2006-2007 approved's (a manager approves only "
            "transfers within the approved envelope), and its change is more than their delegation limit; "
            "it needs an admin (budget total CHF 400,000.00 in 2006-2007 approved and CHF 405,000.00 in "
            "2006-2007 draft; change against 2006-2007 approved CHF 10,000.00, the sum of the absolute "
            "differences of its budget, cost and income budget lines, units touched: BDT-AFR; delegation "
            "limit CHF 1,000.00)",
        ),
        (
            "admin.two",
            "admin.two submitted it, and approval takes a second person: another manager for its "
            "units or an admin must approve it",
        ),
        ("manager.br", "its changes touch BDT-AFR, outside their units (BR); it needs an admin"),
        ("planner.bdt", "it needs a manager or an admin and they are a planner"),
    ],
)
def test_approval_refusals_explain_the_rule(plan: Workspace, username: str, reason: str) -> None:
    with plan.transaction() as s:
        versions.submit(s, access.actor(s, "admin.two"), DRAFT)
    with plan.transaction() as s, pytest.raises(PermissionDenied) as caught:
        versions.approve(s, access.actor(s, username), DRAFT)
    assert str(caught.value) == f"{username} may not approve 2006-2007 draft: {reason}"


def test_a_version_with_no_base_needs_an_admin(plan: Workspace) -> None:
    with plan.transaction() as s:
        versions.submit(s, access.actor(s, "admin.two"), BARE)
    with plan.transaction() as s, pytest.raises(PermissionDenied) as caught:
        versions.approve(s, access.actor(s, "manager.bdt"), BARE)
    assert "it is not based on another version" in str(caught.value)
    assert "it needs an admin" in str(caught.value)
    with plan.transaction() as s:
        assert versions.approve(s, _admin(s), BARE).version.status == "approved"
