"""WarningsList: the early warnings, with a drill-down into the records behind each."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import traitlets

from itu_plan import catalog
from widgets import format as fmt
from widgets.base import Composite

if TYPE_CHECKING:
    import pandas as pd

    from itu_plan.reports.warnings import EarlyWarning
    from widgets.app import App
    from widgets.filter_bar import FilterBar

SEVERITIES = ("high", "medium", "low")


def _severity(value: str) -> str:
    return f'<span class="itu-sev itu-sev-{html.escape(value)}">{html.escape(value)}</span>'


class WarningsList(Composite):
    """The warnings of the filters' version, unit and year (optionally only ``rules``
    and ``severities``), high severity first, each with the year it is about and the
    names of the unit, objective, product or KPI beside their codes. Where the bar
    offers a version, only the warnings about a year of its period are listed (and
    those about no year, a recruitment delay); the note above the list says so.
    Choosing one in ``drill_select`` shows the records behind it, found from the
    warning's structured fields (:func:`itu_plan.catalog.records_behind_warning`:
    the actuals behind an overspend, the product-year, the financial-plan year, the
    KPI's values in the year it missed, or the recruitment).

    Public state: ``count`` (warnings shown) and ``drilled`` (``"RULE subject"``
    of the warning whose records are shown, or ``""``).
    """

    count = traitlets.Int(0)
    drilled = traitlets.Unicode("")

    def __init__(
        self,
        app: App,
        filters: FilterBar,
        *,
        rules: Iterable[str] | None = None,
        severities: Iterable[str] | None = None,
        title: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(app, **kwargs)
        self.filters = filters
        self.rules = tuple(rules) if rules is not None else None
        self.severities = tuple(severities) if severities is not None else None
        self.title = title
        self._frame: pd.DataFrame | None = None
        self._warnings: dict[str, EarlyWarning] = {}
        self._records: pd.DataFrame | None = None
        self.summary = w.HTML()
        self.body = w.HTML()
        self.drill_select = w.Dropdown(
            description="Records behind",
            options=[("choose a warning", "")],
            value="",
            layout=w.Layout(width="auto", min_width="420px"),
            style={"description_width": "initial"},
        )
        self.records = w.HTML()
        self.drill_select.observe(self.guard(self._on_drill), names="value")
        self.children = [self.banner, self.summary, self.body, self.drill_select, self.records]
        self.follow(filters)

    def table(self) -> pd.DataFrame:
        """The warnings shown (severity, rule, subject, year, message)."""
        if self._frame is None:
            self._on_filters()
        assert self._frame is not None
        return self._frame

    def warnings(self) -> list[EarlyWarning]:
        """The warnings shown, as structured records, in the table's order."""
        self.table()
        return list(self._warnings.values())

    def drilled_records(self) -> pd.DataFrame | None:
        """The records behind the warning chosen, or None."""
        return self._records

    def _on_filters(self) -> None:
        frame = self.filters.report("warnings")
        period = self.filters.version_info if "version" in self.filters.fields else None
        if period is not None:  # a page about a version shows the warnings of its period
            frame = self.app.catalog.restrict(frame, years=period.years)
        if self.rules is not None:
            frame = frame[frame["rule"].isin(self.rules)].reset_index(drop=True)
        if self.severities is not None:
            frame = frame[frame["severity"].isin(self.severities)].reset_index(drop=True)
        self._frame = frame
        self.count = len(frame)
        counts = Counter(frame["severity"])
        parts = [f"{_severity(s)} {counts[s]}" for s in SEVERITIES if counts[s]]
        as_of = frame.attrs.get("as_of", "")
        heading = f'<div class="itu-section-title">{html.escape(self.title)}</div>' if self.title else ""
        if self.filters.year is not None:
            about = f"about {self.filters.year} or no year"
        elif period is not None:
            about = f"about {period.period} (the period of {period.name}) or no year"
        else:
            about = "about any year"
        self.summary.value = (
            f'{heading}<div class="itu-note" data-about="{html.escape(about)}">{len(frame)} warnings '
            f"{html.escape(about)}, as of {html.escape(str(as_of))}"
            f"{': ' + ' '.join(parts) if parts else ''}</div>"
        )
        records = catalog.warning_records(frame)
        cat = self.app.catalog
        names = {x.subject: catalog.warning_names(cat, x) for x in records}

        def subject(value: str) -> str:
            named = names.get(value) or []
            said = "".join(f'<div class="itu-note">{html.escape(n)}</div>' for n in named)
            return f"{html.escape(value)}{said}"

        self.body.value = fmt.table_html(
            frame,
            cell_html={"severity": _severity, "subject": subject},
            attrs={"data-report": "warnings", "data-rows": str(len(frame))},
            empty="No early warning for this selection.",
        )
        self._warnings = {f"{x.rule} {x.subject}": x for x in records}
        options: list[tuple[str, Any]] = [("choose a warning", "")]
        options += [
            (" · ".join([x.severity, x.rule, x.subject, *names[x.subject]]), choice)
            for choice, x in self._warnings.items()
        ]
        keep = self.drill_select.value if any(v == self.drill_select.value for _, v in options) else ""
        self.drill_select.options = options
        self.drill_select.value = keep
        self._show_records(keep or None)  # the records of the warning as it now stands

    def _on_drill(self, change: dict[str, Any]) -> None:
        self._show_records(change["new"])

    def _show_records(self, choice: str | None) -> None:
        warning = self._warnings.get(choice) if choice else None
        if warning is None or not choice:
            self.drilled = ""
            self._records = None
            self.records.value = ""
            return
        self.drilled = choice
        with self.busy(self.drill_select):
            records = catalog.records_behind_warning(
                self.app.workspace, warning, version=self.filters.version, as_of=self.app.catalog.as_of
            )
        self._records = records
        self.records.value = (
            f'<div class="itu-note">{len(records)} records behind {html.escape(choice)}</div>'
            + fmt.table_html(records, totals=[c for c in ("amount",) if c in records.columns])
        )

    def static_html(self) -> str:
        return self.banner.static_html() + self.summary.value + self.body.value
