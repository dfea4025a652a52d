"""KpiCards: the headline figures of a page (budget, actual, execution rate, warnings ...)
and the workspace's KPIs, measured or computed."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import traitlets

from itu_plan import NotFound, kpis
from itu_plan.headlines import BALANCES, HEADLINES
from widgets import format as fmt
from widgets.base import Composite

if TYPE_CHECKING:
    from itu_plan.catalog import VersionInfo
    from widgets.app import App
    from widgets.filter_bar import FilterBar


#: The figure that stands for one card per computed KPI of the workspace.
COMPUTED_KPIS = "computed_kpis"
#: The prefix of a figure that shows one KPI: ``kpi:KPI-EXEC``.
KPI_PREFIX = "kpi:"


def kpi_value(reading: kpis.Reading) -> str:
    """A KPI's value as people read it: ``93.68 %``, ``212.7``, ``n/a``."""
    if reading.value is None:
        return "n/a"
    shown = f"{reading.value:,.2f}".rstrip("0").rstrip(".")
    return f"{shown} %" if reading.measure == "percentage" else shown


#: computed KPIs that count a stock at a date (staff in service), not a flow over the year
AT_A_DATE = {"women_share": "staff in service on"}


def kpi_when(reading: kpis.Reading) -> str:
    """The year and the date a computed KPI's value is valued at: ``2006, full year,
    on 2006-12-31``; ``2007 to 2007-06-30 · 49.6 % of 2007 elapsed`` (an execution
    rate is read against the share of its year elapsed); ``2006, staff in service on
    2006-12-31``."""
    if reading.date is None or reading.year is None:
        return f"no value {'in ' + str(reading.year) if reading.year else 'yet'}"
    if reading.formula in AT_A_DATE:
        return f"{reading.year}, {AT_A_DATE[reading.formula]} {reading.date}"
    if reading.year_ended:
        return f"{reading.year}, full year, on {reading.date}"
    text = f"{reading.year} to {reading.date}"
    elapsed = reading.elapsed
    if reading.read_against_time and elapsed is not None:
        text += f" · {fmt.percent(fmt.share(elapsed))} of {reading.year} elapsed"
    return text


def kpi_note(reading: kpis.Reading) -> str:
    """Where a KPI's value comes from and when: ``computed from the budget-vs-actual
    report of 2006-2007 approved · 2006, full year, on 2006-12-31 · as of 2007-06-30
    · target 95``; ``measured on 2007-06-30 · as of 2007-06-30 · year-end target 90``."""
    source = reading.source + (f" of {reading.version}" if reading.version else "")
    parts = [source if reading.formula is not None else ""]
    if reading.date is None:
        parts.append(kpi_when(reading))
    elif reading.formula is None:
        parts[0] = f"measured on {reading.date}"
    else:
        parts.append(kpi_when(reading))
    parts.append(f"as of {reading.as_of}")
    if reading.target is not None:
        parts.append(f"{'target' if reading.year_ended else 'year-end target'} {reading.target:g}")
    return " · ".join(p for p in parts if p)


class KpiCards(Composite):
    """A row of headline cards that follow a :class:`FilterBar`.

    ``figures`` names entries of :data:`HEADLINES`, or KPIs of the workspace:
    ``"kpi:CODE"`` for one, ``"computed_kpis"`` for every computed one. A KPI card
    shows the KPI's latest value known at the reports' as-of date (of the filters'
    year if one is chosen; else, where the bar offers a version, of the latest year
    of its period, an execution rate over that version), says whether it was
    measured or computed and from which report, and the year, the date it is
    valued at and the target. Where the bar offers a version, warnings are counted
    for the years of its period (and those about no year), as the warnings list
    shows them. ``values`` holds the exact figures shown
    (``{"budget": "346633152.74", "kpi:KPI-EXEC": "93.68", ...}``, as CSV prints them).
    """

    values = traitlets.Dict()

    def __init__(self, app: App, filters: FilterBar, figures: Iterable[str], **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.filters = filters
        self.figures = tuple(figures)
        unknown = [
            f for f in self.figures if f not in HEADLINES and f != COMPUTED_KPIS and not f.startswith(KPI_PREFIX)
        ]
        if unknown:
            raise ValueError(f"unknown headline figures: {', '.join(unknown)}; choose from {', '.join(HEADLINES)}")
        self.cards = w.HTML()
        self.children = [self.banner, self.cards]
        self._results: dict[str, Decimal | int | None] = {}
        self._years: dict[str, tuple[int, ...]] = {}
        self._kpis: dict[str, kpis.Reading] = {}
        self._shown: list[str] = []
        self.follow(filters)

    def _on_filters(self) -> None:
        self._results = {}
        self._kpis = self._readings()
        self._shown = []
        values = {}
        for name in self.figures:
            if name == COMPUTED_KPIS or name.startswith(KPI_PREFIX):
                shown = [KPI_PREFIX + r.code for r in self._kpis.values() if r.formula is not None]
                shown = shown if name == COMPUTED_KPIS else [name]
                for figure in shown:
                    reading = self._kpis[figure]
                    values[figure] = reading.exact
                self._shown += shown
                continue
            headline = HEADLINES[name]
            frame = self.filters.report(headline.report)
            period = self._period()
            if headline.report == "warnings" and period is not None:
                frame = self.app.catalog.restrict(frame, years=period.years)
            self._results[name] = headline.compute(frame)
            years = {y for y in frame["year"] if y is not None} if "year" in frame.columns else set()
            self._years[name] = tuple(sorted(years))  # a warning about no year has none
            values[name] = fmt.exact(self._results[name], headline.kind)
            self._shown.append(name)
        self.values = values
        self.cards.value = self._html()

    def _period(self) -> VersionInfo | None:
        """The version whose period the page is about: the one chosen, where the bar
        offers a choice (a page without one, cost recovery say, covers every year)."""
        return self.filters.version_info if "version" in self.filters.fields else None

    def _readings(self) -> dict[str, kpis.Reading]:
        """The KPIs the cards show, by figure name (``kpi:CODE``)."""
        codes = [f.removeprefix(KPI_PREFIX) for f in self.figures if f.startswith(KPI_PREFIX)]
        computed = COMPUTED_KPIS in self.figures
        if not codes and not computed:
            return {}
        period = self._period()
        found = kpis.read(
            self.app.workspace,
            codes=None if computed else codes,
            year=self.filters.year,
            version=period.name if period is not None else None,
        )
        missing = sorted(set(codes) - {r.code for r in found})
        if missing:
            raise NotFound("KPI", ", ".join(missing))
        return {KPI_PREFIX + r.code: r for r in found if r.formula is not None or r.code in codes}

    def _kpi_html(self, figure: str, state: Mapping[str, Any]) -> str:
        reading = self._kpis[figure]
        elapsed = reading.elapsed if reading.read_against_time else None
        tone = {True: " itu-tone-good", False: " itu-tone-warn", None: ""}[reading.on_track]
        attrs = {
            "data-figure": figure,
            "data-value": self.values.get(figure, ""),
            "data-kpi": reading.code,
            "data-source": reading.source,
            "data-report": kpis.SOURCES.get(reading.formula or "", ""),
            "data-formula": reading.formula or "",
            "data-kpi-version": reading.version or "",
            "data-kpi-year": "" if reading.year is None else str(reading.year),
            "data-date": "" if reading.date is None else reading.date.isoformat(),
            "data-as-of": reading.as_of.isoformat(),
            "data-target": "" if reading.target is None else f"{reading.target:g}",
            "data-elapsed": fmt.exact(fmt.share(elapsed), "ratio") if elapsed is not None else "",
            **{f"data-{k}": "" if v is None else str(v) for k, v in state.items()},
        }
        attributes = "".join(f' {k}="{html.escape(v)}"' for k, v in attrs.items())
        return (
            f'<div class="itu-kpi{tone}"{attributes}>'
            f'<div class="itu-kpi-label">{html.escape(reading.name)}</div>'
            f'<div class="itu-kpi-value">{html.escape(kpi_value(reading))}</div>'
            f'<div class="itu-kpi-note">{html.escape(kpi_note(reading))}</div></div>'
        )

    def _html(self) -> str:
        state = self.filters.state()
        as_of = self.app.as_of.isoformat()
        period = self._period()
        out = ['<div class="itu-kpis">']
        for name in self._shown:
            if name.startswith(KPI_PREFIX):
                out.append(self._kpi_html(name, state))
                continue
            headline = HEADLINES[name]
            value = self._results.get(name)
            shown = (
                fmt.chf_short(value)
                if headline.kind == "money"
                else fmt.percent(value if isinstance(value, Decimal) else None)
                if headline.kind == "ratio"
                else f"{value:,}"
                if isinstance(value, int)
                else "n/a"
            )
            tone = ""
            if headline.good == "low" and isinstance(value, int):
                tone = " itu-tone-good" if value == 0 else " itu-tone-warn"
            elif name in BALANCES and isinstance(value, Decimal):
                tone = " itu-tone-good" if value >= 0 else " itu-tone-bad"
            attrs = {
                "data-figure": name,
                "data-value": fmt.exact(value, headline.kind),
                "data-report": headline.report,
                "data-aggregate": headline.aggregate,
                "data-column": headline.column,
                "data-where": "&".join(f"{k}={v}" for k, v in headline.where.items()),
                **{f"data-{k}": "" if v is None else str(v) for k, v in state.items()},
            }
            counted_in = period if headline.report == "warnings" and period is not None else None
            if counted_in is not None:  # the years counted: the version's period (and no year)
                attrs["data-period"] = f"{counted_in.first_year}-{counted_in.last_year}"
            if headline.kind == "money" and value is not None:
                attrs["title"] = f"CHF {fmt.chf(value)}"
            attributes = "".join(f' {k}="{html.escape(v)}"' for k, v in attrs.items())
            years = self._years.get(name, ())
            note = headline.note.format(as_of=as_of)
            if len(years) > 1 and headline.aggregate != "count":
                note = f"{note} · {years[0]}–{years[-1]}" if note else f"{years[0]}–{years[-1]}"
            if counted_in is not None:
                about = f"about {self.filters.year if self.filters.year is not None else counted_in.period} or no year"
                note = f"{note} · {about}" if note else about
            elapsed = self.filters.elapsed_share() if headline.against_time or headline.to_date else None
            if elapsed is not None:
                version = self.filters.version_info
                span = str(self.filters.year) if self.filters.year is not None else version.period if version else ""
                share = fmt.share(elapsed)
                note = f"{note} · {fmt.percent(share)} of {span} elapsed at {as_of}"
                attributes += f' data-elapsed="{fmt.exact(share, "ratio")}"'
            out.append(
                f'<div class="itu-kpi{tone}"{attributes}>'
                f'<div class="itu-kpi-label">{html.escape(headline.label_at(as_of, elapsed))}</div>'
                f'<div class="itu-kpi-value">{html.escape(shown)}</div>'
                f'<div class="itu-kpi-note">{html.escape(note)}</div></div>'
            )
        out.append("</div>")
        return "".join(out)

    def static_html(self) -> str:
        return self.banner.static_html() + self.cards.value
