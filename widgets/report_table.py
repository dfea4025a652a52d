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

    from widgets.app import App
    from widgets.filter_bar import FilterBar


class ReportTable(Composite):
    """Report ``report`` (or the frame ``source()`` returns) as an HTML table.

    ``rows`` is the number of rows shown; :meth:`table` returns them as the
    report's exact DataFrame (what an export writes).
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
        self.body = w.HTML()
        self.children = [self.banner, self.heading, self.body]
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
        self.body.value = self._html(frame)

    def _html(self, frame: pd.DataFrame) -> str:
        cells: dict[str, Any] = {}
        if "line" in frame.columns:
            cells["line"] = lambda v: html.escape(fmt.LINE_LABELS.get(v, str(v)))
        if "member_type" in frame.columns:
            cells["member_type"] = lambda v: html.escape(fmt.MEMBER_TYPES.get(v, str(v)))
        if "severity" in frame.columns:
            cells["severity"] = lambda v: f'<span class="itu-sev itu-sev-{html.escape(v)}">{html.escape(v)}</span>'
        return fmt.table_html(
            frame,
            labels=self.labels,
            cell_html=cells,
            totals=self.totals,
            attrs={"data-report": self.name, "data-rows": str(len(frame))},
        )

    def static_html(self) -> str:
        return self.banner.static_html() + self.heading.value + self.body.value
