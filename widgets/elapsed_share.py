"""ElapsedShare: the execution rate read against time, the share of the period (or of
the chosen year) that had passed at the as-of date."""

from __future__ import annotations

import html
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import traitlets

from itu_plan.headlines import HEADLINES
from widgets import format as fmt
from widgets.base import Composite

if TYPE_CHECKING:
    from widgets.app import App
    from widgets.filter_bar import FilterBar


class ElapsedShare(Composite):
    """One sentence beside the headline figures, e.g. "Execution rate 93.7 % with
    74.8 % of 2006-2007 elapsed at 2007-06-30", so that 60 % spent at 75 % of the
    year reads as under-spending. It follows the filter bar: for one year, the share
    of that year; for a year outside the version's period, why there is nothing.

    ``elapsed`` and ``execution_rate`` hold the exact figures shown, with four
    decimals as ``itu-plan report --format csv`` prints ratios ("" when undefined).
    """

    elapsed = traitlets.Unicode("")
    execution_rate = traitlets.Unicode("")

    def __init__(self, app: App, filters: FilterBar, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.filters = filters
        self.text = w.HTML()
        self.children = [self.banner, self.text]
        self.follow(filters)

    def _on_filters(self) -> None:
        version = self.filters.version_info
        share = self.filters.elapsed_share()
        outside = self.filters.out_of_period()
        if version is None or share is None:
            self.elapsed = self.execution_rate = ""
            reason = outside or "No plan version: there is no execution rate to read."
            self.text.value = f'<div class="itu-elapsed itu-note">{html.escape(reason)}</div>'
            return
        headline = HEADLINES["execution_rate"]
        rate = headline.compute(self.filters.report(headline.report))
        elapsed = fmt.share(share)
        self.elapsed = fmt.exact(elapsed, "ratio")
        self.execution_rate = fmt.exact(rate, "ratio")
        span = str(self.filters.year) if self.filters.year is not None else version.period
        as_of = self.app.as_of.isoformat()
        shown = fmt.percent(rate if isinstance(rate, Decimal) else None)
        self.text.value = (
            f'<div class="itu-elapsed" data-elapsed="{self.elapsed}" data-execution-rate="{self.execution_rate}" '
            f'data-span="{html.escape(span)}" data-as-of="{as_of}">'
            f"Execution rate <b>{html.escape(shown)}</b> of the budget, with <b>{fmt.percent(elapsed)}</b> "
            f"of {html.escape(span)} elapsed at {as_of}.</div>"
        )

    def static_html(self) -> str:
        return self.banner.static_html() + self.text.value
