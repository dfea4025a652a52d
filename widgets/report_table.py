"""ReportTable: one report as a readable table (CHF with thousands separators) that
follows a FilterBar; what it shows is what its ExportButton exports."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import traitlets

from widgets import format as fmt
from widgets.base import Composite

if TYPE_CHECKING:
    import pandas as pd

    from itu_plan.catalog import VersionInfo
    from widgets.app import App
    from widgets.filter_bar import FilterBar


#: What the rows of a report are at the as-of date, said under its table ({as_of}: the
#: date; {version}: the version with its period). Reports read the workspace as it stood
#: at the end of that day (CONTRACT.md, "Periods and dates").
AS_OF_NOTES = {
    "budget-vs-actual": "Budget of {version}; actual expenditure booked on or before {as_of}. "
    "Read each execution rate against the share of its year elapsed at {as_of}.",
    "plan-costs": "Cost lines of {version}.",
    "budget-control": "Budget of {version} with the transfers approved, the commitments open and the "
    "expenditure booked on or before {as_of}.",
    "cost-recovery": "Income and direct costs booked on or before {as_of}.",
    "recruitment": "Recruitments completed (entry on duty) on or before {as_of}.",
    "representation": "Staff at grade P-1 and above in service on {as_of}.",
    "agreements": "Agreements signed on or before {as_of}, and those not yet signed.",
    "warnings": "Early warnings as of {as_of}.",
}
#: Column headers that name the as-of date, by report and column.
AS_OF_LABELS = {("representation", "count"): "In service on {as_of}"}
#: The column shown beside an execution rate: the share of the row's year elapsed at as-of.
ELAPSED = "year_elapsed"
#: Ratio columns whose total is the ratio of two totals: (numerator, denominator).
RATES = {"execution_rate": ("actual", "budget"), "recovery_rate": ("income", "full_cost")}


class ReportTable(Composite):
    """Report ``report`` (or the frame ``source()`` returns) as an HTML table.

    ``rows`` is the number of rows shown; :meth:`table` returns them as the
    report's exact DataFrame (what an export writes). Units, objectives, products and
    regions show their names beside their codes; an execution rate has the share of its
    year elapsed at the as-of date beside it, and the total row (with ``totals``) the
    rate of the totals beside the share of the chosen period or year elapsed; a note
    under the title says what the rows are at that date; a year outside the version's
    period is explained.
    """

    rows = traitlets.Int(0)

    def __init__(
        self,
        app: App,
        filters: FilterBar | None,
        report: str = "",
        *,
        source: Callable[[], pd.DataFrame] | None = None,
        title: str = "",
        totals: Iterable[str] = (),
        labels: Mapping[str, str] | None = None,
        where: Mapping[str, Iterable[str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(app, **kwargs)
        if not report and source is None:
            raise ValueError("a ReportTable needs a report name or a source")
        self.filters = filters
        self.report = report
        self.name = report or title.lower().replace(" ", "-")
        self._source = source
        self.title = title
        self.totals = tuple(totals)
        self.labels = dict(labels or {})
        self.where = {k: tuple(v) for k, v in (where or {}).items()}
        self._frame: pd.DataFrame | None = None
        self.heading = w.HTML(f'<div class="itu-section-title">{html.escape(title)}</div>' if title else "")
        self.note = w.HTML()
        self.body = w.HTML()
        self.children = [self.banner, self.heading, self.note, self.body]
        self.follow(filters)

    def table(self) -> pd.DataFrame:
        """The rows shown, exactly (Decimal money and ratios), in the report's columns."""
        if self._frame is None:
            self._on_filters()
        assert self._frame is not None
        return self._frame

    def _on_filters(self) -> None:
        if self._source is not None:
            frame = self._source()
            if self.filters is not None:
                frame = self.filters.restrict(frame)
        elif self.filters is not None:
            frame = self.filters.report(self.report)
        else:
            frame = self.app.report(self.report)
        for column, allowed in self.where.items():
            frame = frame[frame[column].isin(allowed)].reset_index(drop=True)
        self._frame = frame
        self.rows = len(frame)
        self.note.value = self._note()
        self.body.value = self._html(frame)

    def _version(self) -> VersionInfo | None:
        if self.filters is not None:
            return self.filters.version_info
        default = self.app.catalog.default_version
        return self.app.catalog.version(default) if default else None

    def _words(self, template: str) -> str:
        version = self._version()
        return template.format(as_of=self.app.as_of.isoformat(), version=version.label if version else "no version")

    def _note(self) -> str:
        template = AS_OF_NOTES.get(self.report)
        return f'<div class="itu-note">{html.escape(self._words(template))}</div>' if template else ""

    def _shown(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The frame as shown: with the share of each row's year elapsed at as-of beside
        its execution rate."""
        version = self._version()
        if frame.empty or version is None or not {"execution_rate", "year"} <= set(frame.columns):
            return frame
        shares = {year: fmt.share(version.elapsed_share(self.app.as_of, int(year))) for year in set(frame["year"])}
        shown = frame.copy()
        shown.insert(list(frame.columns).index("execution_rate") + 1, ELAPSED, frame["year"].map(shares))
        return shown

    def _named_regions(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The representation table with its regions named: ``"A — Americas"``."""
        if frame.empty or not {"dimension", "category"} <= set(frame.columns):
            return frame
        cat = self.app.catalog
        shown = frame.copy()
        regions = shown["dimension"] == "region"
        shown.loc[regions, "category"] = [cat.named("region", str(c)) for c in shown.loc[regions, "category"]]
        return shown

    def _total_cells(self, frame: pd.DataFrame) -> dict[str, str]:
        """The total row's rates of the totals (execution: sum of actual / sum of budget;
        recovery: sum of income / sum of full cost) and, beside the execution rate, the
        share of the chosen period (or year) elapsed at as-of."""
        if not self.totals:
            return {}
        cells = {
            rate: fmt.percent(fmt.rate_of_totals(frame[top], frame[bottom]))
            for rate, (top, bottom) in RATES.items()
            if {rate, top, bottom} <= set(frame.columns)
        }
        elapsed = self.filters.elapsed_share() if self.filters is not None else None
        if "execution_rate" in cells and elapsed is not None:
            cells[ELAPSED] = fmt.percent(fmt.share(elapsed))
        return cells

    def _html(self, frame: pd.DataFrame) -> str:
        cat = self.app.catalog
        cells: dict[str, Any] = {
            column: (lambda v, column=column: html.escape(cat.named(column, v) if isinstance(v, str) else ""))
            for column in ("unit_code", "objective_code", "product_code")
            if column in frame.columns
        }
        if "line" in frame.columns:
            cells["line"] = lambda v: html.escape(fmt.LINE_LABELS.get(v, str(v)))
        if "member_type" in frame.columns:
            cells["member_type"] = lambda v: html.escape(fmt.MEMBER_TYPES.get(v, str(v)))
        if "severity" in frame.columns:
            cells["severity"] = lambda v: f'<span class="itu-sev itu-sev-{html.escape(v)}">{html.escape(v)}</span>'
        labels = {
            ELAPSED: f"Year elapsed at {self.app.as_of.isoformat()}",
            **{column: self._words(text) for (report, column), text in AS_OF_LABELS.items() if report == self.report},
            **self.labels,
        }
        outside = self.filters.out_of_period() if self.filters is not None else None
        return fmt.table_html(
            self._named_regions(self._shown(frame)),
            labels=labels,
            cell_html=cells,
            totals=self.totals,
            total_cells=self._total_cells(frame),
            attrs={"data-report": self.name, "data-rows": str(len(frame)), "data-as-of": self.app.as_of.isoformat()},
            empty=outside or fmt.EMPTY,
        )

    def static_html(self) -> str:
        return self.banner.static_html() + self.heading.value + self.note.value + self.body.value
