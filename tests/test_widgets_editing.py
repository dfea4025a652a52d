"""Headless tests of the composites that write: the plan grid, comments, approvals, and the
scenario panel (which must not write). Edits go through the editing service: they
change the database and the audit trail; refusals land in the banner, and a refusal
for lack of permission (a forged widget message) is audited as ``denied``.
SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from typing import Any

import widgets
from itu_plan import PermissionDenied, Workspace, access, editing, users
from itu_plan.editing import BudgetLineKey, CostLineKey
from tests.widgets_support import demo_url, events, pg_demo_template  # noqa: F401
from widgets.plan_grid import AMOUNT

LINE = "BDT-AFR-001/2006/contractual//RB-MS"
KEY = CostLineKey("2006-2007 draft", "BDT-AFR-001", 2006, "contractual", None, "RB-MS")
STAFF = "BDT-AFR-001/2006/staff/P-3/RB-MS"


def grid_for(url: str, user: str, **filters: Any) -> widgets.PlanGrid:
    app = widgets.App.open(url, user=user)
    bar = widgets.FilterBar(app, **({"unit": "BDT", "year": 2006, "prefer_draft": True} | filters))
    return widgets.PlanGrid(app, bar)


def amount(url: str, key: CostLineKey = KEY) -> Decimal:
    with Workspace.open(url, user="admin") as ws, ws.reading() as session:
        return Decimal(editing.find_cost_line(session, key).amount_centimes).scaleb(-2)


def browser_edit(grid: widgets.PlanGrid, row: Any, column: str, value: Any) -> None:
    """The comm message the data grid's front end sends when a cell is edited (or a forged one)."""
    columns = list(grid._frame().columns)
    column_index = columns.index(column) if column in columns else 99
    content = {"event_type": "cell-changed", "row": row, "column_index": column_index, "value": value}
    grid.grid._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def row_of(grid: widgets.PlanGrid, line: str) -> int:
    """The row of ``line`` in the grid's data (what its front end names in an edit)."""
    return list(grid.grid._data["data"]["Cost line"]).index(line)


def shown(grid: widgets.PlanGrid, line: str, column: str) -> Any:
    (value,) = grid.grid.get_cell_value(column, line)
    return value


# -- the plan grid ------------------------------------------------------------------------------------


def test_a_planner_edits_a_line_in_the_editor(demo_url: str) -> None:
    grid = grid_for(demo_url, "planner.bdt")
    assert not grid.read_only and grid.editor in grid.children and grid.grid.editable
    assert shown(grid, LINE, AMOUNT) == 35698.0
    grid.line_select.value = LINE
    assert (grid.selected, grid.record, grid.amount.value) == (LINE, str(KEY), "35698.00")
    grid.amount.value = "120,000.50"  # thousands separators are fine
    grid.save.click()
    assert grid.banner.message == "" and "Saved " + LINE in grid.editor_status.value
    assert amount(demo_url) == Decimal("120000.50")
    assert shown(grid, LINE, AMOUNT) == 120000.5 and grid.line(LINE).row_version == 2
    assert not grid.save.disabled  # re-enabled after the save
    (event,) = events(demo_url, "cost_lines", str(KEY))
    assert event[:2] == ("planner.bdt", "update") and event[3]["amount"] == "120000.50"
    grid.save.click()  # nothing changed since
    assert "Nothing to save" in grid.editor_status.value and len(events(demo_url, "cost_lines")) == 1


def test_a_planner_edits_a_cell_in_the_grid_found_by_key_not_position(demo_url: str) -> None:
    grid = grid_for(demo_url, "planner.bdt")
    browser_edit(grid, row_of(grid, LINE), AMOUNT, 130000.25)
    assert grid.banner.message == "" and amount(demo_url) == Decimal("130000.25")
    assert grid.selected == LINE
    # the grid reorders its view when sorted: its edits still name the data row, and the
    # widget finds the line by the business key in that row
    grid.grid.transform([{"type": "sort", "column": AMOUNT, "desc": True}])
    browser_edit(grid, row_of(grid, STAFF), "Work-months", "12")
    staff = CostLineKey("2006-2007 draft", "BDT-AFR-001", 2006, "staff", "P-3", "RB-MS")
    assert grid.banner.message == ""
    with Workspace.open(demo_url, user="admin") as ws, ws.reading() as session:
        assert editing.find_cost_line(session, staff).work_months_e2 == 1200  # repriced from the standard cost
    browser_edit(grid, row_of(grid, LINE), AMOUNT, 130000.25)  # the grid echoing the saved value
    assert len(events(demo_url, "cost_lines")) == 2


def test_bad_values_are_refused_in_plain_words_and_the_grid_shows_the_saved_value(demo_url: str) -> None:
    grid = grid_for(demo_url, "planner.bdt")
    browser_edit(grid, row_of(grid, LINE), AMOUNT, -5.0)
    assert "amount '-5.0' is negative" in grid.banner.message
    assert shown(grid, LINE, AMOUNT) == 35698.0
    grid.line_select.value = LINE
    grid.amount.value = "12.345"
    grid.save.click()
    assert "is not a number with at most 2 decimals" in grid.banner.message
    browser_edit(grid, row_of(grid, LINE), "Unit", "BR")
    assert "Unit cannot be changed here" in grid.banner.message and shown(grid, LINE, "Unit") == "BDT-AFR"
    browser_edit(grid, 99_999, AMOUNT, 1.0)
    assert "not a cost line of this grid" in grid.banner.message
    assert len(grid.grid._data["data"]) == len(grid._rows)
    assert amount(demo_url) == Decimal("35698.00") and events(demo_url, "cost_lines") == []


def test_a_stale_edit_says_who_changed_the_line_and_offers_reload(demo_url: str) -> None:
    grid = grid_for(demo_url, "planner.bdt")
    grid.line_select.value = LINE
    with Workspace.open(demo_url, user="manager.bdt") as ws, ws.transaction() as session:
        editing.update_cost_line(session, access.actor(session, "manager.bdt"), KEY, 1, {"amount": "1.00"})
    grid.amount.value = "5.00"
    grid.save.click()
    assert f"cost line {KEY} was changed by manager.bdt at " in grid.banner.message
    assert grid.banner.action == "Reload" and amount(demo_url) == Decimal("1.00")
    grid.banner._act.click()  # Reload
    assert grid.amount.value == "1.00" and grid.banner.message == "" and grid.line(LINE).row_version == 2
    grid.amount.value = "5.00"
    grid.save.click()
    assert grid.banner.message == "" and amount(demo_url) == Decimal("5.00")


def test_a_reviewer_gets_no_editing_and_forged_edits_are_refused_and_audited(demo_url: str) -> None:
    grid = grid_for(demo_url, "reviewer")
    assert grid.read_only and grid.editor not in grid.children and not grid.grid.editable
    assert "reviewers only read" in grid.status.value
    browser_edit(grid, row_of(grid, LINE), AMOUNT, 1.0)  # a hand-made comm message
    assert "reviewer may not change cost line" in grid.banner.message
    grid.line_select.value = LINE  # the hidden editor's models exist: forge them too
    grid.amount.value = "2.00"
    grid.save.disabled = False
    grid.save.click()
    assert "reviewer may not change cost line" in grid.banner.message
    assert amount(demo_url) == Decimal("35698.00")
    assert [(u, a, k) for u, a, k, _after in events(demo_url, "cost_lines")] == [("reviewer", "denied", str(KEY))]
    grid.app.close()  # the repeat, counted in the app, is recorded when it closes
    assert [(u, a, k, after.get("repeated")) for u, a, k, after in events(demo_url, "cost_lines")] == [
        ("reviewer", "denied", str(KEY), None), ("reviewer", "denied", str(KEY), 1),
    ]  # fmt: skip


def test_two_thousand_forged_edits_leave_a_few_audit_events_with_the_exact_count(demo_url: str) -> None:
    """Issue 13, finding 10: a flood of forged widget messages from one page."""
    import time

    grid = grid_for(demo_url, "reviewer")
    other = CostLineKey("2006-2007 draft", "BDT-AFR-001", 2006, "staff", "P-3", "RB-MS")

    def change(key: CostLineKey) -> Any:
        def run(session: Any, actor: access.Actor) -> Any:
            line = editing.find_cost_line(session, key)
            return editing.update_cost_line(session, actor, key, line.row_version, {"amount": "1.00"})

        return run

    started = time.perf_counter()
    for number in range(2000):
        key = other if number in (1000, 1001) else KEY  # two of another kind in the middle
        with contextlib.suppress(PermissionDenied):
            grid.app.write("cost_lines", str(key), change(key))
    seconds = time.perf_counter() - started
    grid.app.close()
    found = [
        (k, after.get("repeated")) for _u, action, k, after in events(demo_url, "cost_lines") if action == "denied"
    ]
    assert found == [(str(KEY), None), (str(KEY), 999), (str(other), None), (str(other), 1), (str(KEY), None),
                     (str(KEY), 997)]  # fmt: skip
    assert sum(n or 1 for _k, n in found) == 2000  # a first refusal is one, a count is n
    assert amount(demo_url) == Decimal("35698.00")
    assert seconds < 20, seconds  # about 1 s on SQLite; each refused write still opens a transaction


def test_a_planner_outside_the_unit_is_refused_and_audited(demo_url: str) -> None:
    grid = grid_for(demo_url, "planner.tsb")
    assert not grid.read_only  # the service, not the widget, knows which lines are theirs
    browser_edit(grid, row_of(grid, LINE), AMOUNT, 1.0)
    assert "BDT-AFR is outside their units (TSB)" in grid.banner.message
    assert [e[:2] for e in events(demo_url, "cost_lines")] == [("planner.tsb", "denied")]


def test_an_approved_version_is_read_only(demo_url: str) -> None:
    grid = grid_for(demo_url, "admin", prefer_draft=False)
    assert grid.filters.version == "2006-2007 approved" and grid.read_only
    assert "only draft versions can be edited" in grid.status.value
    browser_edit(grid, 0, AMOUNT, 1.0)
    assert "only draft versions can be edited" in grid.banner.message
    grid.filters.version = "2006-2007 draft"
    assert not grid.read_only and grid.editor in grid.children
    assert events(demo_url, "cost_lines") == []


def test_static_form_of_the_grid_is_a_table_of_the_lines(demo_copy: str) -> None:
    grid = grid_for(demo_copy, "reviewer")
    html = grid.static_html()
    assert html.count("<tr>") == len(grid._rows) + 2 and LINE.split("/")[0] in html
    assert grid.table()["amount"].iloc[0] == Decimal("35698.00")


# -- comments ------------------------------------------------------------------------------------------


def test_comments_follow_the_selected_line(demo_url: str) -> None:
    grid = grid_for(demo_url, "planner.bdt")
    comments = widgets.CommentsPanel(grid.app, "cost_lines", follow=grid)
    assert comments.key == "" and comments.add.disabled
    grid.line_select.value = LINE
    assert comments.key == str(KEY) and comments.count == 0
    comments.body.value = "Travel moved to <2007>"
    comments.add.click()
    assert comments.banner.message == "" and comments.count == 1 and comments.body.value == ""
    assert "Travel moved to &lt;2007&gt;" in comments.listing.value and "planner.bdt" in comments.listing.value
    comments.resolve.click()
    assert "resolved by planner.bdt" in comments.listing.value and comments.resolve_select.value == ""
    comments.body.value = "   "
    comments.add.click()
    assert "is empty" in comments.banner.message


def test_a_reviewer_reads_comments_and_cannot_forge_one(demo_url: str) -> None:
    app = widgets.App.open(demo_url, user="reviewer")
    comments = widgets.CommentsPanel(app, "cost_lines", key=str(KEY))
    assert comments.editor not in comments.children
    comments.body.value = "forged"
    comments.add.click()
    assert "reviewer may not comment on cost_lines record" in comments.banner.message
    assert [e[:2] for e in events(demo_url, "cost_lines", str(KEY))] == [("reviewer", "denied")]


# -- approvals --------------------------------------------------------------------------------------------


def test_a_manager_submits_and_another_approves_within_the_envelope_and_limit(demo_url: str) -> None:
    # the demo draft raises BDT travel by CHF 25,000; lower a BDT staff budget line by as much: a transfer
    key = BudgetLineKey("2006-2007 draft", "BDT-AFR", "ITU-D.1", 2006, "staff")
    with Workspace.open(demo_url, user="admin") as ws, ws.transaction() as session:
        admin = access.actor(session, "admin")
        line = editing.find_budget_line(session, key)
        new = Decimal(line.amount_centimes).scaleb(-2) - Decimal("25000")
        editing.update_budget_line(session, admin, key, line.row_version, {"amount": new})
        users.add_user(session, admin, "manager.bdt2", "manager", ["BDT"], "500000")
    app = widgets.App.open(demo_url, user="manager.bdt")
    bar = widgets.FilterBar(app, prefer_draft=True)
    panel = widgets.ApprovalPanel(app, bar)
    assert panel.actions in panel.children and panel.status == "draft"
    assert "changes by CHF 75,000.00" in panel.facts.value and "up to CHF 500,000.00" in panel.facts.value
    assert "raises the approved total" not in panel.facts.value
    assert panel.approve.disabled and not panel.submit.disabled
    panel.submit.click()
    assert panel.banner.message == "" and panel.status == "submitted" and not panel.approve.disabled
    assert "Submitted by manager.bdt; approval takes a second person." in panel.facts.value
    panel.approve.click()
    assert "manager.bdt submitted it, and approval takes a second person" in panel.banner.message
    assert panel.status == "submitted"
    other = widgets.App.open(demo_url, user="manager.bdt2")
    panel = widgets.ApprovalPanel(other, widgets.FilterBar(other, version="2006-2007 draft"))
    panel.approve.click()
    assert panel.banner.message == "" and panel.status == "approved"
    assert "supersedes 2006-2007 approved" in panel.result.value
    assert [v.status for v in other.catalog.versions if v.name.startswith("2006-2007")] == [
        "superseded", "superseded", "approved",
    ]  # fmt: skip


def test_a_refused_approval_explains_the_delegation_rule_and_is_audited(demo_url: str) -> None:
    key = BudgetLineKey("2006-2007 draft", "BDT-AFR", "ITU-D.1", 2006, "travel")
    with Workspace.open(demo_url, user="admin") as ws, ws.transaction() as session:
        line = editing.find_budget_line(session, key)
        new = Decimal(line.amount_centimes).scaleb(-2) + Decimal("600000")
        editing.update_budget_line(session, access.actor(session, "admin"), key, line.row_version, {"amount": new})
        from itu_plan import versions

        versions.submit(session, access.actor(session, "admin"), "2006-2007 draft")
    app = widgets.App.open(demo_url, user="manager.bdt")
    panel = widgets.ApprovalPanel(app, widgets.FilterBar(app, version="2006-2007 draft"))
    assert panel.status == "submitted"
    panel.approve.click()
    message = panel.banner.message
    assert message.startswith(
        "manager.bdt may not approve 2006-2007 draft: it raises the budget total by CHF 625,000.00 above "
        "2006-2007 approved's (a manager approves only transfers within the approved envelope), and its "
        "change is more than their delegation limit; it needs an admin"
    )
    assert "change against 2006-2007 approved CHF 650,000.00" in message
    assert message.endswith("delegation limit CHF 500,000.00)")
    assert panel.status == "submitted"
    assert [e[:2] for e in events(demo_url, "plan_versions", "2006-2007 draft")][-1] == ("manager.bdt", "denied")


def test_planners_and_reviewers_get_no_approval_buttons(demo_copy: str) -> None:
    for user in ("planner.bdt", "reviewer"):
        app = widgets.App.open(demo_copy, user=user)
        panel = widgets.ApprovalPanel(app, widgets.FilterBar(app))
        assert panel.actions not in panel.children and "2006-2007 approved" in panel.static_html()


# -- scenarios -------------------------------------------------------------------------------------------


def test_scenario_panel_recomputes_the_financial_plan_and_writes_nothing(demo_url: str) -> None:
    app = widgets.App.open(demo_url, user="reviewer")
    with Workspace.open(demo_url, user="admin") as ws:
        before = ws.checksum()
    panel = widgets.ScenarioPanel(app, widgets.FilterBar(app))
    assert panel.unit_value == 318000 and panel.scenario == {}
    table = panel.table()
    assert (table["plan"] == table["scenario"]).all()
    panel.inflation_slider.value = 2.5
    panel.vacancy_slider.value = 10
    assert panel.scenario == {"inflation": "0.025", "vacancy_rate": "0.1"}
    with Workspace.open(demo_url, user="admin") as ws:
        expected = ws.report("financial-plan", scenario={"inflation": "0.025", "vacancy_rate": "0.1"})
    table = panel.table()
    row = table[(table["year"] == 2007) & (table["line"] == "expenditure")].iloc[0]
    assert row["scenario"] == expected[(expected["year"] == 2007) & (expected["line"] == "expenditure")]["plan"].iloc[0]
    assert row["difference"] == row["scenario"] - row["plan"] < 0
    panel.unit_value_slider.value = 330000
    assert panel.scenario["member_state_unit_value"] == "330000"
    assert "Scenario drivers: member state unit value 330000" in panel.result.value
    assert panel.figure is not None and len(panel.figure.data) == 2
    panel.reset.click()
    assert panel.scenario == {} and panel.banner.message == ""
    with Workspace.open(demo_url, user="admin") as ws:
        assert ws.checksum() == before


def test_a_submitted_draft_turns_the_grid_read_only_and_the_labels_change(demo_copy: str) -> None:
    app = widgets.App.open(demo_copy, user="manager.bdt")
    bar = widgets.FilterBar(app, unit="BDT", year=2006, prefer_draft=True)
    grid = widgets.PlanGrid(app, bar)
    panel = widgets.ApprovalPanel(app, bar)
    assert not grid.read_only
    panel.submit.click()
    assert grid.read_only and "2006-2007 draft is submitted" in grid.status.value
    assert ("2006-2007 draft (2006-2007, submitted)", "2006-2007 draft") in bar.selects["version"].options
    assert bar.version == "2006-2007 draft" and grid.editor not in grid.children
