"""ReportHeading: a section heading that names what a report's figures cover."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import traitlets

from widgets.base import Composite

if TYPE_CHECKING:
    from widgets.app import App
    from widgets.filter_bar import FilterBar


class ReportHeading(Composite):
    """A heading filled from the notes of report ``report`` as the filter bar reads it,
    so that a page never labels a biennium's figures with other years::

        widgets.ReportHeading(app, filters, "financial-plan",
                              "Income and expenditure {period}: plan and actual to {as_of}")

    ``{version}``, ``{as_of}`` and ``{period}`` come from the report (the version's
    period, or the year chosen in the bar, "2007 (of 2006-2007)"); ``text`` holds
    the heading shown.
    """

    text = traitlets.Unicode()

    def __init__(self, app: App, filters: FilterBar, report: str, template: str, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.filters = filters
        self.report = report
        self.template = template
        self.heading = w.HTML()
        self.children = [self.banner, self.heading]
        self.follow(filters)

    def _on_filters(self) -> None:
        notes = self.filters.report(self.report).attrs
        period = str(notes.get("period", ""))
        if self.filters.year is not None and period and str(self.filters.year) != period:
            period = f"{self.filters.year} (of {period})"
        self.text = self.template.format(version=notes.get("version", ""), period=period, as_of=notes.get("as_of", ""))
        self.heading.value = (
            f'<h2 class="itu-heading" data-report="{html.escape(self.report)}">{html.escape(self.text)}</h2>'
        )

    def static_html(self) -> str:
        return self.banner.static_html() + self.heading.value
