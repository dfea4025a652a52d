"""DataQualityPanel: the findings of ``report data-quality``, counted, or "no findings"."""

from __future__ import annotations

import html
from collections import Counter
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import traitlets

from widgets import format as fmt
from widgets.base import Composite

if TYPE_CHECKING:
    import pandas as pd

    from widgets.app import App
    from widgets.filter_bar import FilterBar

#: What each check of the report looks for, as the panel explains it.
CHECKS = {
    "ACTUALS_ON_CANCELLED_ACTIVITY": "actuals on cancelled activities",
    "ACTUALS_OUTSIDE_ACTIVITY_DATES": "actuals outside their activity's dates",
    "BUDGET_COST_MISMATCH": "versions whose budget and cost totals differ",
    "COST_LINES_ON_CANCELLED_ACTIVITY": "cost lines on cancelled activities",
    "MISSING_OVERHEAD_RATE": "products without an overhead rate",
}


class DataQualityPanel(Composite):
    """The data-quality findings of every plan version, of the filters' year when one
    is chosen (the version filter does not apply: a cancelled activity's cost lines
    matter in a draft too), with their count per check.

    Public state: ``count``, the number of findings shown.
    """

    count = traitlets.Int(0)

    def __init__(self, app: App, filters: FilterBar | None = None, *, title: str = "", **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.filters = filters
        self.title = title
        self._frame: pd.DataFrame | None = None
        self.summary = w.HTML()
        self.body = w.HTML()
        self.children = [self.banner, self.summary, self.body]
        self.follow(filters)

    def table(self) -> pd.DataFrame:
        """The findings shown (check, subject, year, detail)."""
        if self._frame is None:
            self._on_filters()
        assert self._frame is not None
        return self._frame

    def _on_filters(self) -> None:
        year = self.filters.year if self.filters is not None else None
        frame = self.app.report("data-quality", year=year)
        self._frame = frame
        self.count = len(frame)
        as_of = html.escape(str(frame.attrs.get("as_of", "")))
        heading = f'<div class="itu-section-title">{html.escape(self.title)}</div>' if self.title else ""
        if frame.empty:
            said = f"No findings as of {as_of}: the workspace passes every data-quality check."
        else:
            counts = Counter(frame["check"])
            parts = [f"{counts[c]} {html.escape(CHECKS.get(c, c))}" for c in sorted(counts)]
            noun = "finding" if len(frame) == 1 else "findings"
            said = f"{len(frame)} {noun} as of {as_of}: {'; '.join(parts)}."
        self.summary.value = f'{heading}<div class="itu-note" data-findings="{len(frame)}">{said}</div>'
        self.body.value = (
            ""
            if frame.empty
            else fmt.table_html(frame, attrs={"data-report": "data-quality", "data-rows": str(len(frame))})
        )

    def static_html(self) -> str:
        return self.banner.static_html() + self.summary.value + self.body.value
