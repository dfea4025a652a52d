"""The editing service: writes by business key with validation, audit events and
optimistic locking (including two writers in two processes); comments. SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import queue
import re
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from itu_plan import ConflictError, NotFound, PermissionDenied, UsageError, Workspace, access, audit, editing
from itu_plan.editing import BudgetLineKey, CostLineKey
from itu_plan.model import Actual, AuditEvent, FundingSource
from tests.small_plan import APPROVED, DRAFT, budget, build_small_plan, staff, travel


@pytest.fixture
def plan(workspace: Workspace) -> Workspace:
    build_small_plan(workspace)
    return workspace


def _events(workspace: Workspace, table: str | None = None, key: str | None = None) -> list[tuple[Any, ...]]:
    with workspace.reading() as s:
        return [
            (e.username, e.action, e.table_name, e.record_key, e.before, e.after)
            for e in audit.list_events(s, table, key)
            if not e.action.startswith(audit.RAW_WRITE)  # the small plan is written with raw SQL
        ]


def _audit_count(workspace: Workspace) -> int:
    """Events of itu-plan's own (the raw writes that built the plan aside)."""
    with workspace.reading() as s:
        query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action.not_like(f"{audit.RAW_WRITE}%"))
        return int(s.scalar(query) or 0)


def _row_version(workspace: Workspace, key: CostLineKey) -> int:
    with workspace.reading() as s:
        return editing.find_cost_line(s, key).row_version


TRAVEL_LINE = {
    "version": DRAFT,
    "activity": "BDT-AFR-001",
    "year": 2006,
    "category": "travel",
    "grade": None,
    "work_months": None,
    "amount": "15000.00",
    "funding_source": "RB-MS",
}


# -- keys ---------------------------------------------------------------------------------------


def test_keys_read_back_from_their_strings() -> None:
    key = CostLineKey("2006/7 odd/name", "BDT-AFR-001", 2006, "travel", None, "RB-MS")
    assert str(key) == "2006/7 odd/name/BDT-AFR-001/2006/travel//RB-MS"
    assert CostLineKey.parse(str(key)) == key
    assert CostLineKey.parse(str(staff())) == staff()
    assert BudgetLineKey.parse(str(budget())) == budget()
    with pytest.raises(UsageError, match="is not a cost line key"):
        CostLineKey.parse("2006-2007 draft/BDT-AFR-001")
    with pytest.raises(UsageError, match="the year 'x' is not a number"):
        BudgetLineKey.parse("v/BDT/S-01/x/travel")


# -- writes and their audit events -------------------------------------------------------------


def test_update_cost_line_with_audit(plan: Workspace) -> None:
    with plan.transaction() as s:
        line = editing.update_cost_line(s, access.actor(s, "planner.bdt"), travel(), 1, {"amount": Decimal("16250.5")})
        assert (line.amount_centimes, line.row_version) == (16_250_50, 2)
    assert _row_version(plan, travel()) == 2
    assert _events(plan) == [
        (
            "planner.bdt",
            "update",
            "cost_lines",
            "2006-2007 draft/BDT-AFR-001/2006/travel//RB-MS",
            TRAVEL_LINE,
            {**TRAVEL_LINE, "amount": "16250.50"},
        )
    ]


def test_staff_lines_are_priced_from_the_standard_cost(plan: Workspace) -> None:
    key = CostLineKey(DRAFT, "BDT-PKM-001", 2006, "staff", "P-3", "TF-ICT")
    with plan.transaction() as s:
        who = access.actor(s, "planner.bdt")
        line = editing.create_cost_line(s, who, key, work_months="2.5")
        assert line.amount_centimes == 37_500_00  # 2.5 x 180,000 / 12
        line = editing.update_cost_line(s, who, key, line.row_version, {"work_months": 4})
        assert line.amount_centimes == 60_000_00
        line = editing.update_cost_line(s, who, key, line.row_version, {"amount": "59000", "work_months": "4.25"})
        assert (line.amount_centimes, line.work_months_e2) == (59_000_00, 425)
    created = {
        "version": DRAFT,
        "activity": "BDT-PKM-001",
        "year": 2006,
        "category": "staff",
        "grade": "P-3",
        "work_months": "2.50",
        "amount": "37500.00",
        "funding_source": "TF-ICT",
    }
    repriced = {**created, "work_months": "4.00", "amount": "60000.00"}
    assert _events(plan, "cost_lines", str(key)) == [
        ("planner.bdt", "create", "cost_lines", str(key), None, created),
        ("planner.bdt", "update", "cost_lines", str(key), created, repriced),
        (
            "planner.bdt",
            "update",
            "cost_lines",
            str(key),
            repriced,
            {**repriced, "work_months": "4.25", "amount": "59000.00"},
        ),
    ]


def test_create_and_delete_cost_line_with_audit(plan: Workspace) -> None:
    key = CostLineKey(DRAFT, "BDT-AFR-001", 2007, "meetings", None, "TF-ICT")
    with plan.transaction() as s:
        line = editing.create_cost_line(s, access.actor(s, "manager.bdt"), key, amount=1200)
        assert (line.amount_centimes, line.row_version) == (1_200_00, 1)
    with plan.transaction() as s:
        editing.delete_cost_line(s, access.actor(s, "planner.bdt"), key, 1)
    with plan.reading() as s, pytest.raises(NotFound):
        editing.find_cost_line(s, key)
    line = {**TRAVEL_LINE, "year": 2007, "category": "meetings", "amount": "1200.00", "funding_source": "TF-ICT"}
    assert _events(plan) == [
        ("manager.bdt", "create", "cost_lines", str(key), None, line),
        ("planner.bdt", "delete", "cost_lines", str(key), line, None),
    ]


def test_budget_lines_with_audit(plan: Workspace) -> None:
    key = BudgetLineKey(DRAFT, "BDT-PKM", "S-01", 2007, "equipment")
    with plan.transaction() as s:
        who = access.actor(s, "planner.bdt")
        line = editing.create_budget_line(s, who, key, amount="7500.25")
        line = editing.update_budget_line(s, who, key, line.row_version, {"amount": "8000"})
        editing.delete_budget_line(s, who, key, line.row_version)
    first = {"version": DRAFT, "unit": "BDT-PKM", "objective": "S-01", "year": 2007, "category": "equipment",
             "amount": "7500.25"}  # fmt: skip
    second = {**first, "amount": "8000.00"}
    assert _events(plan) == [
        ("planner.bdt", "create", "budget_lines", "2006-2007 draft/BDT-PKM/S-01/2007/equipment", None, first),
        ("planner.bdt", "update", "budget_lines", str(key), first, second),
        ("planner.bdt", "delete", "budget_lines", str(key), second, None),
    ]


def test_activities_with_audit(plan: Workspace) -> None:
    with plan.transaction() as s:
        who = access.actor(s, "planner.bdt")
        activity = editing.create_activity(
            s, who, code="BDT-PKM-002", title="ICT statistics", objective="ITU-D.1", unit="BDT-PKM",
            start_date="2006-01-01", end_date=dt.date(2007, 12, 31), status="planned", owner="planner.bdt",
        )  # fmt: skip
        activity = editing.update_activity(
            s, who, "BDT-PKM-002", activity.row_version, {"unit": "BDT-AFR", "status": "ongoing", "owner": ""}
        )
        assert activity.row_version == 2 and activity.unit.code == "BDT-AFR"
        editing.delete_activity(s, who, "BDT-PKM-002", activity.row_version)
    created = {"code": "BDT-PKM-002", "title": "ICT statistics", "objective": "ITU-D.1", "unit": "BDT-PKM",
               "start_date": "2006-01-01", "end_date": "2007-12-31", "status": "planned", "owner": "planner.bdt"}  # fmt: skip
    moved = {**created, "unit": "BDT-AFR", "status": "ongoing", "owner": None}
    assert _events(plan, "activities") == [
        ("planner.bdt", "create", "activities", "BDT-PKM-002", None, created),
        ("planner.bdt", "update", "activities", "BDT-PKM-002", created, moved),
        ("planner.bdt", "delete", "activities", "BDT-PKM-002", moved, None),
    ]


def test_an_activity_with_actuals_keeps_its_objective(plan: Workspace) -> None:
    with plan.transaction() as s:
        activity = editing.find_activity(s, "BDT-AFR-002")
        source = s.scalars(select(FundingSource.id).where(FundingSource.code == "RB-MS")).one()
        s.add(
            Actual(
                reference="EXP-1", date=dt.date(2006, 3, 1), unit_id=activity.unit_id, activity_id=activity.id,
                category="travel", amount_centimes=100_00, funding_source_id=source,
            )
        )  # fmt: skip
    before = plan.checksum()
    with pytest.raises(UsageError, match="1 actuals are booked to it"), plan.transaction() as s:
        editing.update_activity(s, access.actor(s, "planner.bdt"), "BDT-AFR-002", 1, {"objective": "S-01"})
    assert plan.checksum() == before
    with plan.transaction() as s:  # other fields may change
        editing.update_activity(s, access.actor(s, "planner.bdt"), "BDT-AFR-002", 1, {"status": "ongoing"})


def test_an_unchanged_save_writes_nothing(plan: Workspace) -> None:
    with plan.transaction() as s:
        line = editing.update_cost_line(s, access.actor(s, "planner.bdt"), travel(), 1, {"amount": "15000.00"})
        assert line.row_version == 1
    assert _events(plan) == []


# -- validation: every value is checked, nothing is written -------------------------------------

Call = Callable[[Session, access.Actor], object]


def _update(key: CostLineKey, changes: dict[str, Any], row_version: Any = 1) -> Call:
    return lambda s, who: editing.update_cost_line(s, who, key, row_version, changes)


BAD: list[tuple[str, Call, type[Exception], str]] = [
    ("three decimals", _update(travel(), {"amount": "12.345"}), UsageError,
     "cannot save cost line 2006-2007 draft/BDT-AFR-001/2006/travel//RB-MS: amount '12.345' is not a number with at "
     "most 2 decimals"),
    ("negative amount", _update(travel(), {"amount": "-5"}), UsageError, "amount '-5' is negative"),
    ("exponent", _update(travel(), {"amount": "1e3"}), UsageError, "amount '1e3' is not a number"),
    ("thousands separator", _update(travel(), {"amount": "1,000.00"}), UsageError, "amount '1,000.00' is not a number"),
    ("text", _update(travel(), {"amount": "lots"}), UsageError, "amount 'lots' is not a number"),
    ("boolean", _update(travel(), {"amount": True}), UsageError, "amount True is not a number"),
    ("missing amount", _update(travel(), {"amount": None}), UsageError, "amount None is not a number"),
    ("not a number at all", _update(travel(), {"amount": float("nan")}), UsageError, "amount nan is not a number"),
    ("huge", _update(travel(), {"amount": "1000000000000000.00"}), UsageError, "is more than CHF 999,999,999,999,999.99, the largest amount a value may hold"),
    ("negative work-months", _update(staff(), {"work_months": "-1"}), UsageError, "work_months '-1' is negative"),
    ("work-months on travel", _update(travel(), {"work_months": "1.5"}), UsageError,
     "work_months '1.5' belongs to staff lines only"),
    ("a key field", _update(travel(), {"year": 2007}), UsageError,
     "field 'year' cannot be changed here (fields that can: amount, work_months)"),
    ("every problem at once", _update(staff(), {"amount": "x", "work_months": "-2", "colour": "red"}), UsageError,
     "field 'colour' cannot be changed here (fields that can: amount, work_months); work_months '-2' is negative; "
     "amount 'x' is not a number"),
    ("row version as text", _update(travel(), {"amount": "1"}, "1"), UsageError, "the row version '1' is not a positive"),
    ("an approved version", _update(travel(version=APPROVED), {"amount": "1"}), UsageError,
     "2006-2007 approved is approved; only draft versions can be edited"),
    ("unknown version", _update(travel(version="2010-2011 draft"), {"amount": "1"}), NotFound,
     "there is no plan version '2010-2011 draft'"),
    ("unknown line", _update(travel("BDT-AFR-002"), {"amount": "1"}), NotFound,
     "there is no cost line '2006-2007 draft/BDT-AFR-002/2006/travel//RB-MS'"),
    ("year outside the period", lambda s, who: editing.create_cost_line(
        s, who, CostLineKey(DRAFT, "BDT-AFR-001", 2010, "travel", None, "RB-MS"), amount="1"), UsageError,
     "year 2010 is outside the period 2006-2007 of 2006-2007 draft"),
    ("year as nonsense", lambda s, who: editing.create_cost_line(
        s, who, CostLineKey(DRAFT, "BDT-AFR-001", "20o6", "travel", None, "RB-MS"), amount="1"), UsageError,  # type: ignore[arg-type]
     "year '20o6' is not a year between 1900 and 2100"),
    ("unknown category", lambda s, who: editing.create_cost_line(
        s, who, CostLineKey(DRAFT, "BDT-AFR-001", 2007, "food", None, "RB-MS"), amount="1"), UsageError,
     "category 'food' is not one of staff, travel, meetings, documents, contractual, equipment, other"),
    ("unknown grade", lambda s, who: editing.create_cost_line(
        s, who, CostLineKey(DRAFT, "BDT-AFR-001", 2007, "staff", "P-9", "RB-MS"), work_months=1), UsageError,
     "grade 'P-9' is not one of G-1"),
    ("a grade on travel", lambda s, who: editing.create_cost_line(
        s, who, CostLineKey(DRAFT, "BDT-AFR-001", 2007, "travel", "P-3", "RB-MS"), amount="1"), UsageError,
     "category 'travel' has no grade or work-months; only staff lines do"),
    ("no standard cost", lambda s, who: editing.create_cost_line(
        s, who, CostLineKey(DRAFT, "BDT-AFR-001", 2007, "staff", "P-4", "RB-MS"), work_months=3), UsageError,
     "amount None is missing and there is no standard cost for P-4 in 2007"),
    ("no amount", lambda s, who: editing.create_cost_line(
        s, who, CostLineKey(DRAFT, "BDT-AFR-001", 2007, "travel", None, "RB-MS")), UsageError,
     "amount None is missing"),
    ("existing key", lambda s, who: editing.create_cost_line(s, who, travel(), amount="1"), UsageError,
     "there is already a cost line 2006-2007 draft/BDT-AFR-001/2006/travel//RB-MS"),
    ("unknown funding source", lambda s, who: editing.create_cost_line(
        s, who, CostLineKey(DRAFT, "BDT-AFR-001", 2007, "travel", None, "XX"), amount="1"), NotFound,
     "there is no funding source 'XX'"),
    ("budget in a third decimal", lambda s, who: editing.update_budget_line(
        s, who, budget(), 1, {"amount": "0.001"}), UsageError, "amount '0.001' is not a number with at most 2"),
    ("activity code with a space", lambda s, who: editing.create_activity(
        s, who, code="BDT AFR", title="T", objective="ITU-D.1", unit="BDT-AFR"), UsageError, "code 'BDT AFR' is not a code"),
    ("activity dates reversed", lambda s, who: editing.create_activity(
        s, who, code="BDT-AFR-003", title="T", objective="ITU-D.1", unit="BDT-AFR", start_date="2007-01-01",
        end_date="2006-12-31"), UsageError, "end_date '2006-12-31' is before start_date 2007-01-01"),
    ("activity bad date and status, empty title", lambda s, who: editing.create_activity(
        s, who, code="BDT-AFR-003", title=" ", objective="ITU-D.1", unit="BDT-AFR", start_date="2006-13-01",
        status="done"), UsageError,
     "title ' ' is empty; start_date '2006-13-01' is not a date (YYYY-MM-DD); status 'done' is not one of planned"),
    ("activity title with a line break", lambda s, who: editing.update_activity(
        s, who, "BDT-AFR-001", 1, {"title": "a\nb"}), UsageError, "holds a control character (U+000A)"),
    ("activity date and time", lambda s, who: editing.update_activity(
        s, who, "BDT-AFR-001", 1, {"start_date": dt.datetime(2006, 1, 1, 12)}), UsageError, "is a date and time"),
    ("activity unknown objective", lambda s, who: editing.update_activity(
        s, who, "BDT-AFR-001", 1, {"objective": "S-99"}), NotFound, "there is no objective 'S-99'"),
    ("activity moved with approved cost lines", lambda s, who: editing.update_activity(
        s, who, "BDT-AFR-001", 1, {"unit": "BDT-PKM"}), UsageError,
     "cannot change the unit of activity BDT-AFR-001: it has cost lines in 2006-2007 approved, 2006-2007 proposed"),
    ("activity with cost lines deleted", lambda s, who: editing.delete_activity(s, who, "BDT-AFR-001", 1), UsageError,
     "cannot delete activity BDT-AFR-001: 8 cost lines and 0 actuals refer to it; set its status to cancelled"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "call", "error", "message"), BAD, ids=[case for case, *_ in BAD])
def test_bad_values_are_refused_and_nothing_is_written(
    plan: Workspace, case: str, call: Call, error: type[Exception], message: str
) -> None:
    before, events = plan.checksum(), _audit_count(plan)
    with pytest.raises(error) as caught, plan.transaction() as s:
        call(s, access.actor(s, "admin"))
    assert message in str(caught.value)
    assert caught.value.exit_code == 2  # type: ignore[attr-defined]
    assert plan.checksum() == before and _audit_count(plan) == events


# -- optimistic locking -------------------------------------------------------------------------


def test_a_stale_row_version_is_a_conflict_naming_who_and_when(plan: Workspace) -> None:
    with plan.transaction() as s:
        editing.update_cost_line(s, access.actor(s, "manager.bdt"), travel(), 1, {"amount": "15500"})
    before = plan.checksum()
    with pytest.raises(ConflictError) as caught, plan.transaction() as s:
        editing.update_cost_line(s, access.actor(s, "planner.bdt"), travel(), 1, {"amount": "15600"})
    error = caught.value
    assert (error.exit_code, error.changed_by) == (4, "manager.bdt")
    assert error.changed_at is not None and abs(dt.datetime.now(dt.UTC) - error.changed_at) < dt.timedelta(minutes=5)
    assert str(error).startswith(
        "cost line 2006-2007 draft/BDT-AFR-001/2006/travel//RB-MS was changed by manager.bdt at "
    )
    assert plan.checksum() == before
    for stale_write in (
        lambda s, who: editing.delete_cost_line(s, who, travel(), 1),
        lambda s, who: editing.update_cost_line(s, who, travel(), 1, {"amount": "15500"}),  # same value, still stale
    ):
        with pytest.raises(ConflictError, match=r"changed by manager\.bdt"), plan.transaction() as s:
            stale_write(s, access.actor(s, "planner.bdt"))


def test_saving_a_record_someone_deleted_is_a_conflict(plan: Workspace) -> None:
    with plan.transaction() as s:
        editing.delete_budget_line(s, access.actor(s, "manager.bdt"), budget(), 1)
    with pytest.raises(ConflictError, match=r"was changed by manager\.bdt"), plan.transaction() as s:
        editing.update_budget_line(s, access.actor(s, "planner.bdt"), budget(), 1, {"amount": "1"})


def _save(
    url: str,
    username: str,
    key_text: str,
    amount: str,
    row_version: int | None,
    barrier: Any,
    results: Any,
) -> None:
    """One writer, in its own process: read the line's row_version (unless given), wait for
    the other writer, then save ``amount``. Reports ``(username, outcome, detail)``."""
    key = CostLineKey.parse(key_text)
    with Workspace.open(url, user=username) as ws:
        if row_version is None:
            with ws.reading() as s:
                row_version = editing.find_cost_line(s, key).row_version
        if barrier is not None:
            barrier.wait(timeout=60)
        results.put((username, "ready", row_version))
        try:
            with ws.transaction() as s:
                editing.update_cost_line(s, access.actor(s, ws.user), key, row_version, {"amount": amount})
        except ConflictError as exc:
            results.put((username, "conflict", str(exc)))
        else:
            results.put((username, "saved", amount))


def _outcomes(results: Any, count: int) -> dict[str, tuple[str, Any]]:
    found: dict[str, tuple[str, Any]] = {}
    while len(found) < count:
        username, outcome, detail = results.get(timeout=90)
        if outcome != "ready":
            found[username] = (outcome, detail)
    return found


def test_two_processes_saving_the_same_line_one_wins(plan: Workspace) -> None:
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    amounts = {"planner.bdt": "20000.00", "manager.bdt": "30000.00"}
    writers = [
        context.Process(target=_save, args=(plan.url, user, str(travel()), amount, None, barrier, results))
        for user, amount in amounts.items()
    ]
    for writer in writers:
        writer.start()
    try:
        outcomes = _outcomes(results, 2)
    finally:
        for writer in writers:
            writer.join(timeout=60)
    assert sorted(outcome for outcome, _ in outcomes.values()) == ["conflict", "saved"], outcomes
    winner = next(user for user, (outcome, _) in outcomes.items() if outcome == "saved")
    loser = next(user for user in amounts if user != winner)
    assert f"was changed by {winner} at " in outcomes[loser][1]
    with plan.reading() as s:
        line = editing.find_cost_line(s, travel())
        assert (line.amount_centimes, line.row_version) == (int(amounts[winner].replace(".", "")), 2)
    assert _events(plan) == [
        (winner, "update", "cost_lines", str(travel()), TRAVEL_LINE, {**TRAVEL_LINE, "amount": amounts[winner]})
    ]


def test_a_writer_waiting_for_the_row_gets_a_conflict_once_the_other_commits(plan: Workspace) -> None:
    """The second writer reads the same row_version and starts saving while the first holds
    the row (PostgreSQL: the row lock; SQLite: the write lock), then must not overwrite it."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    second = context.Process(target=_save, args=(plan.url, "planner.bdt", str(travel()), "20000", 1, None, results))
    with plan.transaction() as s:
        editing.update_cost_line(s, access.actor(s, "manager.bdt"), travel(), 1, {"amount": "30000"})
        second.start()
        assert results.get(timeout=90)[1] == "ready"
        time.sleep(1.5)  # the second writer is now waiting for us
        with pytest.raises(queue.Empty):
            results.get_nowait()
    try:
        outcome, detail = _outcomes(results, 1)["planner.bdt"]
    finally:
        second.join(timeout=60)
    assert outcome == "conflict" and "was changed by manager.bdt at " in detail
    with plan.reading() as s:
        assert editing.find_cost_line(s, travel()).amount_centimes == 30_000_00
    assert [e[0] for e in _events(plan)] == ["manager.bdt"]


# -- comments -----------------------------------------------------------------------------------


def test_comments_add_list_resolve_with_audit(plan: Workspace) -> None:
    key = str(travel())
    with plan.transaction() as s:
        comment = editing.add_comment(s, access.actor(s, "planner.bdt"), "cost_lines", key, "  Why CHF 5,000 more? ")
        other = editing.add_comment(s, access.actor(s, "planner.tsb"), "plan_versions", DRAFT, "Deadline is Friday.")
        editing.add_comment(s, access.actor(s, "planner.bdt"), "standard_costs", "P-3/2006", "Too high?")
    with plan.transaction() as s:
        resolved = editing.resolve_comment(s, access.actor(s, "manager.bdt"), comment.id)
        assert resolved.resolved_by == "manager.bdt" and resolved.resolved_at is not None
    with plan.reading() as s:
        on_line = editing.list_comments(s, "cost_lines", key)
        assert [(c.author, c.body, c.resolved_by) for c in on_line] == [
            ("planner.bdt", "Why CHF 5,000 more?", "manager.bdt")
        ]
        assert [c.id for c in editing.list_comments(s, include_resolved=False)] == [other.id, other.id + 1]
        assert len(editing.list_comments(s)) == 3
    events = _events(plan, "comments", str(comment.id))
    assert [(e[0], e[1]) for e in events] == [("planner.bdt", "create"), ("manager.bdt", "update")]
    assert events[0][5]["body"] == "Why CHF 5,000 more?" and events[0][5]["key"] == key
    assert (events[1][4]["resolved_by"], events[1][5]["resolved_by"]) == (None, "manager.bdt")
    with pytest.raises(ConflictError, match=r"was changed by manager\.bdt at "), plan.transaction() as s:
        editing.resolve_comment(s, access.actor(s, "planner.bdt"), comment.id)


@pytest.mark.parametrize(
    ("username", "table", "key", "body", "error", "message"),
    [
        ("reviewer", "cost_lines", str(travel()), "Hm.", PermissionDenied, "reviewer may not comment on"),
        ("planner.tsb", "units", "BDT-AFR", "Hm.", PermissionDenied, "BDT-AFR is outside their units (TSB)"),
        ("admin", "secrets", "x", "Hm.", UsageError, "'secrets' is not a table whose records take comments"),
        (
            "admin",
            "cost_lines",
            "2006-2007 draft/NOPE/2006/travel//RB-MS",
            "Hm.",
            NotFound,
            "there is no record of cost_lines",
        ),
        ("admin", "standard_costs", "P-3/20x6", "Hm.", NotFound, "there is no record of standard_costs"),
        ("admin", "activities", "BDT-AFR-001", "   ", UsageError, "body '   ' is empty"),
    ],
)
def test_comment_refusals(
    plan: Workspace, username: str, table: str, key: str, body: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=re.escape(message)), plan.transaction() as s:
        editing.add_comment(s, access.actor(s, username), table, key, body)
    assert _audit_count(plan) == 0
