"""ReportChart: a chart of one report that follows a FilterBar."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import traitlets

from widgets import charts, svg_chart
from widgets.base import Composite

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

    from widgets.app import App
    from widgets.filter_bar import FilterBar


class ReportChart(Composite):
    """One of :data:`widgets.charts.CHARTS` (``"budget-vs-actual"``, ``"cost-by-objective"``,
    ``"income-by-source"``, ``"recruitment-days"``, ``"representation"``,
    ``"cost-recovery"``, ``"contributions-by-region"``), redrawn when the filters or
    the data change. ``source`` gives the table for a chart that is not drawn
    from a report (``catalog.contributions`` for the contributions).

    ``figure`` is the plotly figure shown; live the kernel draws it as HTML and
    SVG in ``view`` (an ``HTML`` widget, :func:`widgets.svg_chart.render`: no
    plotly.js in the page), in static pages plotly draws it
    (:func:`widgets.charts.figure_html`, under the deterministic ``div_id``).
    """

    chart = traitlets.Unicode()

    def __init__(
        self,
        app: App,
        filters: FilterBar,
        chart: str,
        *,
        source: Callable[[], pd.DataFrame] | None = None,
        **kwargs: Any,
    ) -> None:
        if chart not in charts.CHARTS:
            raise ValueError(f"unknown chart {chart!r}; choose from {', '.join(charts.CHARTS)}")
        if not charts.CHARTS[chart].report and source is None:
            raise ValueError(f"the {chart} chart needs a source")
        super().__init__(app, **kwargs)
        self.chart = chart
        self.filters = filters
        self._source = source
        self.div_id = app.next_id("chart")
        self.figure: go.Figure | None = None
        self.view = w.HTML()
        self.children = [self.banner, self.view]
        self.follow(filters)

    def _on_filters(self) -> None:
        spec = charts.CHARTS[self.chart]
        frame = self._described(self.filters.restrict(self._source())) if self._source else None
        frame = frame if frame is not None else self.filters.report(spec.report)
        self.show_figure(spec.build(frame, self.app.catalog.name_of))

    def _described(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A source's table with the notes a report's carries (the chosen version with its
        period, the as-of date) where it has none, so that its chart can name them."""
        version = self.filters.version_info
        if version is not None:
            frame.attrs.setdefault("version", version.name)
            frame.attrs.setdefault("period", version.period)
        frame.attrs.setdefault("as_of", self.app.as_of.isoformat())
        return frame

    def show_figure(self, figure: go.Figure) -> None:
        self.figure = figure
        self.view.value = svg_chart.render(figure, self.chart)

    def static_html(self) -> str:
        if self.figure is None:
            return self.banner.static_html()
        return self.banner.static_html() + charts.figure_html(self.figure, self.div_id)
