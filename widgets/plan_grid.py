"""PlanGrid: the cost lines of a plan version in a data grid, editable in a draft.

Every edit goes through :func:`itu_plan.editing.update_cost_line` with the
``row_version`` read with the line: the service checks the user's role and
units, validates the value, writes the audit event and refuses a stale edit
(someone else saved the line meanwhile) with who and when; the banner then
offers to reload. Rows are identified by their business key (the grid's
index), never by their position: sorting and filtering in the grid reorder rows.
"""

from __future__ import annotations

import html
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import traitlets

from itu_plan import ConflictError, UsageError, catalog, editing
from itu_plan.money import describe_chf
from widgets import format as fmt
from widgets.base import Composite

if TYPE_CHECKING:
    import pandas as pd

    from itu_plan.catalog import CostLineRow
    from widgets.app import App
    from widgets.filter_bar import FilterBar

INDEX = "Cost line"
AMOUNT = "Amount (CHF)"
WORK_MONTHS = "Work-months"
#: grid column -> the field of ``update_cost_line`` it edits
EDITABLE = {AMOUNT: "amount", WORK_MONTHS: "work_months"}


def _text(value: Any) -> str:
    """A value typed into the grid or the editor as the service reads it: exact
    decimal text; thousands separators (``,`` ``'`` and spaces) are dropped."""
    if isinstance(value, float):
        return repr(value)
    return str(value).replace(",", "").replace("'", "").replace("\u2019", "").replace(" ", "").strip()


def _same(text: str, value: Decimal | None) -> bool:
    """Whether ``text`` is the number ``value`` (``"1200.5"`` and ``Decimal("1200.50")``)."""
    try:
        return value is not None and Decimal(text) == value
    except ArithmeticError:
        return False


class PlanGrid(Composite):
    """The cost lines of the filter bar's version, unit, objective and year.

    Public state: ``selected`` (the selected line's key without the version,
    e.g. ``"BDT-AFR-001/2006/travel//RB-MS"``), ``record`` (its full business
    key, for comments) and ``read_only`` (a reviewer, or a version that is not a
    draft). Planners select a line by clicking it or typing its key, change its
    amount (or work-months) in the grid or in the line editor, and save.
    """

    selected = traitlets.Unicode("")
    record = traitlets.Unicode("")
    read_only = traitlets.Bool(True)
    saved = traitlets.Int(0)

    def __init__(self, app: App, filters: FilterBar, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        from ipydatagrid import DataGrid, TextRenderer

        self.filters = filters
        self._rows: dict[str, CostLineRow] = {}
        self._quiet = False
        self.status = w.HTML()
        self.grid = DataGrid(
            self._frame(),
            selection_mode="row",
            editable=False,
            base_column_size=110,
            base_row_header_size=300,
            column_widths={"Activity": 280, AMOUNT: 130},
            renderers={
                AMOUNT: TextRenderer(format=",.2f", horizontal_alignment="right"),
                WORK_MONTHS: TextRenderer(horizontal_alignment="right"),
            },
            layout=w.Layout(height="380px"),
        )
        self.line_select = w.Combobox(
            placeholder="type or pick a cost line",
            description="Cost line",
            ensure_option=True,
            layout=w.Layout(width="420px"),
            style={"description_width": "initial"},
        )
        self.amount = w.Text(description="Amount (CHF)", layout=w.Layout(width="240px"),
                             style={"description_width": "initial"})  # fmt: skip
        self.work_months = w.Text(description="Work-months", layout=w.Layout(width="180px"),
                                  style={"description_width": "initial"})  # fmt: skip
        self.save = w.Button(description="Save", button_style="primary", icon="check")
        self.reload = w.Button(description="Reload", icon="refresh", tooltip="read the lines again")
        self.editor_status = w.HTML()
        self.editor = w.VBox(
            [
                w.HBox([self.line_select, self.amount, self.work_months, self.save, self.reload],
                       layout=w.Layout(flex_flow="row wrap", align_items="center")),
                self.editor_status,
            ]
        )  # fmt: skip
        for widget, name in (
            (self.line_select, "line"),
            (self.amount, "amount"),
            (self.work_months, "work-months"),
            (self.save, "save"),
            (self.reload, "reload"),
            (self.grid, "grid"),
        ):
            widget.add_class(f"itu-plan-grid-{name}")  # fmt: skip
        self.grid.on_cell_change(self.guard(self._on_cell_change, clear=False))
        self.grid.on_cell_click(self.guard(self._on_cell_click))
        self.line_select.observe(self.guard(self._on_line_select), names="value")
        self.save.on_click(self.guard(self._on_save))
        self.reload.on_click(self.guard(self._on_reload))
        self.observe(self.guard(self._on_selected), names="selected")
        filters.on_change(self.guard(self._on_filters))
        app.observe(self.guard(lambda _change: self._load()), names="versions_revision")  # submitted: read only
        self.children = [self.banner, self.status, self.grid]
        self.guard(self._on_filters)()

    # -- reading ---------------------------------------------------------------------------

    def _frame(self) -> pd.DataFrame:
        import pandas as pd

        rows = list(self._rows.values())
        frame = pd.DataFrame(
            {
                "Activity": [r.activity_title for r in rows],
                "Unit": [r.unit for r in rows],
                "Objective": [r.objective for r in rows],
                WORK_MONTHS: ["" if r.work_months is None else str(r.work_months) for r in rows],
                AMOUNT: [float(r.amount) for r in rows],
            },
            index=pd.Index([r.line for r in rows], name=INDEX, dtype=object),
        )
        return frame

    def _load(self) -> None:
        """Read the lines of the filters again (one query) and show them."""
        cat = self.app.catalog
        version = cat.version(self.filters.version) if self.filters.version else None
        if version is None:
            self._rows = {}
        else:
            rows = catalog.cost_lines(
                self.app.workspace,
                version.name,
                units=cat.units_below(self.filters.unit) if self.filters.unit else None,
                objectives=cat.objectives_below(self.filters.objective) if self.filters.objective else None,
                year=self.filters.year,
            )
            self._rows = {r.line: r for r in rows}
        user = self.app.user
        if user.read_only_workspace:
            reason = "read only: the workspace is read-only for you"
        elif not user.can_write:
            reason = f"read only: {html.escape(user.username)} is a {html.escape(user.role)} and reviewers only read"
        elif version is None or not version.is_draft:
            name = html.escape(version.name if version else "no version")
            status = html.escape(version.status if version else "missing")
            reason = f"read only: {name} is {status}; only draft versions can be edited"
        else:
            reason = ""
        self.read_only = bool(reason)
        total = sum((r.amount for r in self._rows.values()), Decimal(0))
        lines = f"{len(self._rows):,} cost lines, CHF {fmt.chf(total)}"
        self.status.value = (
            f'<div class="itu-readonly">{lines}; {reason}.</div>'
            if reason
            else f'<div class="itu-note">{lines}. Select a line (click it or type its key), change its amount '
            "or work-months and press Save; or edit the amount in the grid.</div>"
        )
        self._quiet = True
        try:
            self.grid.data = self._frame()
            self.grid.editable = not self.read_only
        finally:
            self._quiet = False
        self.line_select.options = tuple(self._rows)
        self.children = [self.banner, self.status, self.grid] + ([] if self.read_only else [self.editor])
        if self.selected not in self._rows:
            self.selected = ""
        self._on_selected()

    def table(self) -> pd.DataFrame:
        """The lines shown, exactly (Decimal CHF), by business key."""
        import pandas as pd

        rows = list(self._rows.values())
        return pd.DataFrame(
            {
                "version": [r.key.version for r in rows],
                "activity_code": [r.key.activity for r in rows],
                "year": [r.key.year for r in rows],
                "category": [r.key.category for r in rows],
                "grade": [r.key.grade for r in rows],
                "funding_source_code": [r.key.funding_source for r in rows],
                "title": [r.activity_title for r in rows],
                "unit_code": [r.unit for r in rows],
                "objective_code": [r.objective for r in rows],
                "work_months": [r.work_months for r in rows],
                "amount": [r.amount for r in rows],
            }
        )

    def line(self, key: str) -> CostLineRow:
        """The line ``key`` (without the version) as last read."""
        if key not in self._rows:
            raise UsageError(f"the cost line {key!r} is not among the lines shown; nothing was saved")
        return self._rows[key]

    # -- handlers ------------------------------------------------------------------------------

    def _on_filters(self) -> None:
        self._load()

    def _on_reload(self, _button: Any = None) -> None:
        with self.busy(self.save, self.reload):
            self._load()
        if self.selected:
            self.editor_status.value = '<span class="itu-note">Reloaded: the line shows what is saved now.</span>'

    def _on_cell_click(self, cell: dict[str, Any]) -> None:
        key = cell.get("primary_key_row")
        if isinstance(key, list):
            key = key[0] if key else None
        if cell.get("region") == "body" and isinstance(key, str) and key in self._rows:
            self.selected = key

    def _on_line_select(self, change: dict[str, Any]) -> None:
        if change["new"] in self._rows:
            self.selected = change["new"]

    def _on_selected(self, _change: Any = None) -> None:
        row = self._rows.get(self.selected)
        self.record = str(row.key) if row else ""
        self.line_select.value = self.selected if row else ""
        self.amount.value = str(row.amount) if row else ""
        staff = row is not None and row.key.category == "staff"
        self.work_months.value = str(row.work_months) if row and row.work_months is not None else ""
        self.work_months.disabled = not staff
        self.save.disabled = row is None
        cat = self.app.catalog
        self.editor_status.value = (
            f'<span class="itu-note">{html.escape(row.activity_title)} · '
            f"{html.escape(cat.named('unit_code', row.unit))} · "
            f"{html.escape(cat.named('objective_code', row.objective))} · now CHF {fmt.chf(row.amount)}</span>"
            if row
            else ""
        )

    def _on_save(self, _button: Any = None) -> None:
        row = self.line(self.selected)
        changes: dict[str, object] = {}
        amount = _text(self.amount.value)
        if amount != str(row.amount):
            changes["amount"] = amount
        months = _text(self.work_months.value)
        if row.key.category == "staff" and months != ("" if row.work_months is None else str(row.work_months)):
            changes["work_months"] = months or None
        if not changes:
            self.editor_status.value = '<span class="itu-note">Nothing to save: the line is unchanged.</span>'
            return
        with self.busy(self.save, self.reload):
            self._save(row.line, changes)

    def _on_cell_change(self, cell: dict[str, Any]) -> None:
        """An amount typed into the grid (or any cell-changed message: it is checked
        like everything the browser sends)."""
        if self._quiet:
            return
        key = self._key_at(cell.get("row"))
        if key is not None and cell.get("column") in EDITABLE:
            row = self._rows[key]
            field, text = EDITABLE[str(cell.get("column"))], _text(cell.get("value"))
            current = row.amount if field == "amount" else row.work_months
            if _same(text, current) or (field == "work_months" and not text and current is None):
                return  # the grid echoing a value we showed: nothing to save, keep any message up
        self.banner.clear()
        column = cell.get("column")
        if key is None:
            self._reset_grid()
            raise UsageError("that cell is not a cost line of this grid; nothing was saved")
        if column not in EDITABLE:
            self._reset_grid()
            raise UsageError(f"{column} cannot be changed here; only the amount and the work-months of a line")
        field, text = EDITABLE[str(column)], _text(cell.get("value"))
        self.selected = key
        if not self._save(key, {field: text}):
            self._show_cell(key)

    # -- writing ---------------------------------------------------------------------------

    def _save(self, key: str, changes: dict[str, object]) -> bool:
        """Save ``changes`` to the line ``key`` with the row version read with it.

        Returns whether it was saved; a conflict is shown with a Reload action,
        any other refusal is raised for the banner (the grid shows the saved value).
        """
        row = self.line(key)

        def update(session: Any, who: Any) -> tuple[int, int | None, int]:
            line = editing.update_cost_line(session, who, row.key, row.row_version, changes)
            return line.amount_centimes, line.work_months_e2, line.row_version

        try:
            amount, months, version = self.app.write("cost_lines", str(row.key), update)
        except ConflictError as exc:
            self.banner.show(exc, action=("Reload", self._on_reload))
            return False
        except Exception:
            self._show_cell(key)
            raise
        before = row.amount
        self._rows[key] = catalog.CostLineRow(
            row.key,
            row.activity_title,
            row.unit,
            row.objective,
            None if months is None else Decimal(months).scaleb(-2),
            Decimal(amount).scaleb(-2),
            version,
        )
        self._show_cell(key)
        self._on_selected()
        self.editor_status.value = (
            f'<span class="itu-note">Saved {html.escape(key)}: {describe_chf(amount)} '
            f"(was CHF {fmt.chf(before)}).</span>"
        )
        self.saved += 1
        self.app.changed()
        return True

    def _key_at(self, row: Any) -> str | None:
        """The business key of the grid's data row ``row`` (the grid reports edits by
        the row of its data, whatever the view's sorting), or None."""
        if isinstance(row, bool) or not isinstance(row, int):
            return None
        try:
            key = self.grid.get_cell_value_by_index(INDEX, row)
        except (KeyError, IndexError, ValueError):
            return None
        return key if isinstance(key, str) and key in self._rows else None

    def _show_cell(self, key: str) -> None:
        """Show the saved values of ``key`` in the grid (after a save or a refusal)."""
        row = self._rows[key]
        self._quiet = True
        try:
            self.grid.set_cell_value(AMOUNT, key, float(row.amount))
            self.grid.set_cell_value(WORK_MONTHS, key, "" if row.work_months is None else str(row.work_months))
        finally:
            self._quiet = False

    def _reset_grid(self) -> None:
        self._quiet = True
        try:
            self.grid.data = self._frame()
        finally:
            self._quiet = False

    def _named(self, column: str) -> Any:
        """The cell of a unit or objective code: the code with its name beside it."""
        cat = self.app.catalog
        return lambda code: html.escape(cat.named(column, code))

    def static_html(self) -> str:
        frame = self.table()
        return (
            self.banner.static_html()
            + self.status.value
            + fmt.table_html(
                frame,
                totals=["amount"],
                cell_html={column: self._named(column) for column in ("unit_code", "objective_code")},
                attrs={"data-report": "cost-lines", "data-rows": str(len(frame))},
            )
        )
