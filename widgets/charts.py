"""Plain plotly figures of the reports, and how to show them live and in static pages.

Each builder takes a report table (as ``Workspace.report`` returns it, already
filtered) and returns a ``plotly.graph_objects.Figure``; none queries anything.

Live (Voilà, JupyterLab), the kernel draws a figure as HTML and SVG in an
``ipywidgets.HTML`` (:mod:`widgets.svg_chart`): the page needs no plotly.js, whose
4.6 MB once took about 1.3 s of an app's first render (``benchmarks/bench_first_render.py``).
Static pages get :func:`figure_html`: a div and a ``Plotly.newPlot`` call, with
plotly.js provided once by the page, so a reviewer can hover and zoom.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from itu_plan.model import CATEGORIES, GENDER_NAMES, GRADES, REGION_NAMES
from widgets import format as fmt
from widgets import svg_chart

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

PALETTE = ["#1d4f91", "#009edb", "#7fb800", "#f2a900", "#b3261e", "#6c4f9e", "#00897b", "#8d6e63"]
FONT = "Segoe UI, Helvetica Neue, Arial, sans-serif"
CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
#: Regions as the charts label them: ``"A Americas"`` (names from :data:`itu_plan.model.REGION_NAMES`).
REGION_LABELS = {code: f"{code} {name}" for code, name in REGION_NAMES.items()}
INCOME_LINES = (
    "assessed_contributions",
    "sector_member_contributions",
    "associate_contributions",
    "cost_recovery",
    "other_income",
)
MONEY_HOVER = "%{x}<br>%{fullData.name}: CHF %{y:,.2f}<extra></extra>"
#: Hover text of a bar whose category is a code: the code's name (``customdata``) under it.
NAMED_HOVER = "%{x}<br>%{customdata}<br>%{fullData.name}: CHF %{y:,.2f}<extra></extra>"
#: The money axes' title.
CHF = "CHF"

#: ``names(column, code)``: the name of a unit, objective or product code (``Catalog.name_of``).
Names = Callable[[str, str], "str | None"]


def _go() -> Any:
    import plotly.graph_objects as go

    return go


def _float(value: Decimal | int | None) -> float:
    return 0.0 if value is None else float(value)


def _sums(frame: pd.DataFrame, by: str, columns: Iterable[str]) -> dict[Any, dict[str, Decimal]]:
    """Exact sums of ``columns`` per value of ``by``, in sorted key order."""
    totals: dict[Any, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    columns = list(columns)
    for row in frame[[by, *columns]].itertuples(index=False, name=None):
        for column, value in zip(columns, row[1:], strict=True):
            totals[row[0]][column] += value or 0
    return {key: dict(totals[key]) for key in sorted(totals, key=lambda k: (k is None, str(k)))}


def _span(years: list[Any]) -> str:
    """The years a chart shows: ``"2006–2007"``, or ``"2007"``."""
    return f"{years[0]}–{years[-1]}" if len(years) > 1 else str(years[0])


# -- what a chart shows: its period, version and as-of date -----------------------------------------


def _years_of(frame: pd.DataFrame) -> list[int]:
    return sorted({int(y) for y in frame["year"]}) if "year" in frame.columns and not frame.empty else []


def _as_of(frame: pd.DataFrame) -> dt.date | None:
    text = str(frame.attrs.get("as_of") or "")
    return dt.date.fromisoformat(text) if text else None


def part_year(as_of: dt.date | None, years: Iterable[int]) -> int | None:
    """The year of ``years`` that the as-of date cuts short (2007 at 2007-06-30), or None."""
    if as_of is None or (as_of.month, as_of.day) == (12, 31):
        return None
    return as_of.year if as_of.year in set(years) else None


def part_year_words(as_of: dt.date) -> str:
    """``"2007 to 30 June"``: a year cut short by the as-of date."""
    return f"{as_of.year} to {as_of.day} {as_of:%B}"


def plan_words(frame: pd.DataFrame, years: Sequence[int] = ()) -> str:
    """``"version 2006-2007 approved (2006-2007)"``, with the year shown when it is one
    year of the period: ``"version 2006-2007 approved (2006-2007), 2007"``."""
    version, period = frame.attrs.get("version"), frame.attrs.get("period")
    if not version:
        return _span(list(years)) if years else ""
    said = f"version {version}" + (f" ({period})" if period else "")
    shown = _span(list(years)) if years else ""
    return said if not shown or shown == period or shown.replace("–", "-") == period else f"{said}, {shown}"


def execution_words(frame: pd.DataFrame, years: Sequence[int] = ()) -> str:
    """``"2006–2007 to 2007-06-30 (2007 to 30 June)"``: the years of execution data a chart
    sums, to the as-of date, naming the year the date cuts short."""
    as_of = _as_of(frame)
    said = _span(list(years)) if years else ""
    if as_of is None:
        return said
    said = f"{said} to {as_of.isoformat()}".strip()
    partial = part_year(as_of, years)
    return f"{said} ({part_year_words(as_of)})" if partial is not None and len(years) > 1 else said


def _key(names: Names | None, column: str, codes: Iterable[Any]) -> list[list[str]]:
    """``[[code, name], ...]`` for the codes that have a name (a chart's key)."""
    if names is None:
        return []
    return [[str(c), name] for c in codes if c is not None and (name := names(column, str(c)))]


def _hover_names(key: list[list[str]], codes: Iterable[str]) -> list[str]:
    named = dict((c, n) for c, n in key)
    return [named.get(c, "") for c in codes]


LEGEND_TOP = {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1}
LEGEND_BELOW = {"orientation": "h", "yanchor": "top", "y": -0.16, "xanchor": "left", "x": 0}


def styled(
    fig: go.Figure,
    title: str,
    *,
    subtitle: str = "",
    key: Sequence[Sequence[str]] = (),
    key_title: str = "",
    height: int = 380,
    money_axis: str | None = "y",
    legend: str = "below",
) -> go.Figure:
    """The house style: light template, ITU blues, horizontal legend, CHF axes.

    ``subtitle`` says what the chart shows (version and period, years to the as-of
    date); ``key`` lists ``[code, name]`` of the codes along an axis (kept in
    ``layout.meta``): both renderings show them, from the figure alone."""
    fig.update_layout(
        template="none",
        title={
            "text": title,
            "x": 0,
            "xanchor": "left",
            "font": {"size": 15, "color": "#1d4f91"},
            "subtitle": {"text": subtitle, "font": {"size": 12, "color": "#5f6b7a"}},
        },
        meta={"key": [list(k) for k in key], "key_title": key_title},
        height=height,
        margin={"l": 70, "r": 20, "t": 70 if subtitle else 50, "b": 60},
        font={"family": FONT, "size": 12, "color": "#1f2933"},
        colorway=PALETTE,
        paper_bgcolor="#ffffff",
        plot_bgcolor="#ffffff",
        legend=LEGEND_TOP if legend == "top" else LEGEND_BELOW,
        hoverlabel={"font": {"family": FONT}},
    )
    grid = {"gridcolor": "#e5e9ef", "zerolinecolor": "#9aa5b1", "automargin": True}
    fig.update_xaxes(**grid)
    fig.update_yaxes(**grid)
    if money_axis == "y":
        fig.update_yaxes(tickprefix="CHF ", tickformat="~s", title_text=CHF)
    elif money_axis == "x":
        fig.update_xaxes(tickprefix="CHF ", tickformat="~s", title_text=CHF)
    return fig


def empty(title: str, text: str = "No data for this selection", subtitle: str = "") -> go.Figure:
    go = _go()
    fig = go.Figure()
    fig.add_annotation(text=text, showarrow=False, font={"size": 14, "color": "#5f6b7a"}, x=0.5, y=0.5,
                       xref="paper", yref="paper")  # fmt: skip
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return styled(fig, title, subtitle=subtitle, height=240, money_axis=None)


# -- the charts ------------------------------------------------------------------------------------


def budget_vs_actual(
    frame: pd.DataFrame, title: str = "Budget and actual expenditure", names: Names | None = None
) -> go.Figure:
    """Budget and actual side by side per unit (per objective when one unit is shown);
    the codes' names in the hover text and the key."""
    years = _years_of(frame)
    subtitle = f"Budget of {plan_words(frame, years)}; actual expenditure {execution_words(frame, years)}"
    if frame.empty:
        return empty(title, subtitle=subtitle)
    by = "unit_code" if frame["unit_code"].nunique() > 1 else "objective_code"
    sums = _sums(frame, by, ("budget", "actual"))
    codes = [str(k) if k is not None else "(none)" for k in sums]
    key = _key(names, by, codes)
    named = _hover_names(key, codes)
    hovertemplate = NAMED_HOVER if key else MONEY_HOVER
    go = _go()
    fig = go.Figure(
        [
            go.Bar(name="Budget", x=codes, y=[_float(v["budget"]) for v in sums.values()], customdata=named,
                   marker_color=PALETTE[1], hovertemplate=hovertemplate),
            go.Bar(name=f"Actual to {frame.attrs['as_of']}" if frame.attrs.get("as_of") else "Actual", x=codes,
                   y=[_float(v["actual"]) for v in sums.values()], customdata=named, marker_color=PALETTE[0],
                   hovertemplate=hovertemplate),
        ]
    )  # fmt: skip
    fig.update_layout(barmode="group")
    fig.update_xaxes(tickangle=-45 if len(codes) > 8 else 0)
    what = "unit" if by == "unit_code" else "objective"
    return styled(fig, f"{title} by {what}", subtitle=subtitle, key=key, key_title=f"{what.capitalize()}s",
                  legend="top")  # fmt: skip


def cost_by_objective(
    frame: pd.DataFrame, title: str = "Planned cost by objective and category", names: Names | None = None
) -> go.Figure:
    """The version's cost lines per objective, stacked by category."""
    subtitle = f"Cost lines of {plan_words(frame, _years_of(frame))}"
    if frame.empty:
        return empty(title, subtitle=subtitle)
    objectives = sorted(set(frame["objective_code"]))
    key = _key(names, "objective_code", objectives)
    named = _hover_names(key, objectives)
    go = _go()
    bars = []
    for i, category in enumerate(c for c in CATEGORIES if c in set(frame["category"])):
        part = frame[frame["category"] == category]
        sums = _sums(part, "objective_code", ("amount",))
        bars.append(
            go.Bar(
                name=category.capitalize(),
                y=objectives,
                x=[_float(sums.get(o, {}).get("amount")) for o in objectives],
                orientation="h",
                marker_color=PALETTE[i % len(PALETTE)],
                customdata=named,
                hovertemplate="%{y}<br>%{customdata}<br>%{fullData.name}: CHF %{x:,.2f}<extra></extra>",
            )
        )
    fig = go.Figure(bars)
    fig.update_layout(barmode="stack", legend_traceorder="normal")
    fig.update_yaxes(autorange="reversed", type="category")
    return styled(fig, title, subtitle=subtitle, key=key, key_title="Objectives",
                  height=max(320, 80 + 22 * len(objectives)), money_axis="x")  # fmt: skip


def _actual_line(
    name: str, years: list[int], values: dict[int, float], as_of: dt.date | None, style: dict[str, Any]
) -> list[Any]:
    """The actual figures of ``years`` as a line (``style["mode"]``): full years as they are
    (``"<name> to 2007-06-30"``); a year the as-of date cuts short as its own trace, dotted
    (its mark open), named ``"<name>, 2007 to 30 June (part year)"``, so that the fall to a
    part year is not read as a fall."""
    go = _go()
    partial = part_year(as_of, years)
    full = [y for y in years if y != partial]
    traces = []
    if full:
        whole = f"{name} to {as_of.isoformat()}" if as_of is not None and partial is None else name
        traces.append(go.Scatter(name=whole, x=[str(y) for y in full], y=[values[y] for y in full],
                                 hovertemplate=MONEY_HOVER, **style))  # fmt: skip
    if partial is not None and as_of is not None:
        part = part_year_words(as_of)
        shown = [y for y in full[-1:] if style["mode"] != "markers"] + [partial]
        line = {**style.get("line", {}), "dash": "dot"}
        marker = {**style.get("marker", {}), "symbol": f"{style.get('marker', {}).get('symbol', 'circle')}-open"}
        traces.append(
            go.Scatter(name=f"{name}, {part} (part year)", x=[str(y) for y in shown], y=[values[y] for y in shown],
                       customdata=[f"{name} {y}" if y != partial else f"{name} {part} (part year)" for y in shown],
                       hovertemplate="%{customdata}: CHF %{y:,.2f}<extra></extra>",
                       **{**style, "line": line, "marker": marker})
        )  # fmt: skip
    return traces


def income_by_source(frame: pd.DataFrame, title: str = "Planned income by source, and expenditure") -> go.Figure:
    """The financial plan per year of the version's period: planned income stacked by
    source; planned and actual expenditure and income received as lines (actual only
    for the years begun by the as-of date, so a year to come does not drop to zero; a
    year the as-of date cuts short dotted and named as a part year)."""
    years = sorted(int(y) for y in set(frame["year"])) if not frame.empty else []
    as_of = _as_of(frame)
    begun = [y for y in years if as_of is None or y <= as_of.year]
    subtitle = (
        f"Plan of {plan_words(frame, years)}; actual expenditure and income received {execution_words(frame, begun)}"
    )
    if frame.empty:
        return empty(title, subtitle=subtitle)
    plan = {(int(y), line): a for y, line, a in frame[["year", "line", "plan"]].itertuples(index=False, name=None)}
    actual = {(int(y), line): a for y, line, a in frame[["year", "line", "actual"]].itertuples(index=False, name=None)}
    go = _go()
    x = [str(y) for y in years]
    traces: list[Any] = [
        go.Bar(name=fmt.LINE_LABELS[line], x=x, y=[_float(plan.get((y, line))) for y in years],
               marker_color=PALETTE[i], hovertemplate=MONEY_HOVER)
        for i, line in enumerate(INCOME_LINES)
    ]  # fmt: skip
    traces.append(
        go.Scatter(name="Planned expenditure", x=x, y=[_float(plan.get((y, "expenditure"))) for y in years],
                   mode="lines+markers", line={"color": PALETTE[4], "width": 3}, hovertemplate=MONEY_HOVER)
    )  # fmt: skip
    spent = {y: _float(actual.get((y, "expenditure"))) for y in begun}
    traces += _actual_line("Actual expenditure", begun, spent, as_of,
                           {"mode": "lines+markers", "line": {"color": PALETTE[5], "width": 3},
                            "marker": {"color": PALETTE[5], "symbol": "circle", "size": 8}})  # fmt: skip
    income = {y: _float(actual.get((y, "total_income"))) for y in begun}
    traces += _actual_line("Income received", begun, income, as_of,
                           {"mode": "markers", "marker": {"color": PALETTE[6], "size": 11, "symbol": "diamond"},
                            "line": {"color": PALETTE[6]}})  # fmt: skip
    fig = go.Figure(traces)
    fig.update_layout(barmode="stack")
    fig.update_xaxes(type="category")
    return styled(fig, f"{title}, {_span(years)}", subtitle=subtitle, height=460)


def income_plan_actual(frame: pd.DataFrame, title: str = "Income planned and received, by source") -> go.Figure:
    """Each income line of the financial plan, planned against received to the as-of
    date, over the years shown: contributions in arrears show as a shortfall."""
    years = _years_of(frame)
    as_of = _as_of(frame)
    begun = [y for y in years if as_of is None or y <= as_of.year]
    subtitle = f"Plan of {plan_words(frame, years)}; received {execution_words(frame, begun)}"
    if frame.empty:
        return empty(title, subtitle=subtitle)
    sums = _sums(frame[frame["line"].isin(INCOME_LINES)], "line", ("plan", "actual"))
    lines = [line for line in INCOME_LINES if line in sums]
    names = [fmt.LINE_LABELS[line] for line in lines]
    go = _go()
    fig = go.Figure(
        [
            go.Bar(name="Planned", x=names, y=[_float(sums[line]["plan"]) for line in lines],
                   marker_color=PALETTE[1], hovertemplate=MONEY_HOVER),
            go.Bar(name=f"Received to {as_of.isoformat()}" if as_of else "Received", x=names,
                   y=[_float(sums[line]["actual"]) for line in lines], marker_color=PALETTE[0],
                   hovertemplate=MONEY_HOVER),
        ]
    )  # fmt: skip
    fig.update_layout(barmode="group")
    return styled(fig, f"{title}, {_span(years)}", subtitle=subtitle, legend="top")


def recruitment_days(
    frame: pd.DataFrame, target_days: int = 120, title: str = "Days from vacancy notice to entry on duty"
) -> go.Figure:
    """Mean recruitment time per grade (weighted by completed recruitments), against the target."""
    years = _years_of(frame)
    together = ", all years together" if len(years) > 1 else ""
    subtitle = (
        f"Mean of the recruitments completed (entry on duty) in {execution_words(frame, years)}{together}; "
        f"target {target_days} days"
    )
    if frame.empty:
        return empty(title, subtitle=subtitle)
    days: dict[str, Decimal] = defaultdict(Decimal)
    counts: dict[str, int] = defaultdict(int)
    for grade, completed, mean in frame[["grade", "completed", "mean_days"]].itertuples(index=False, name=None):
        days[grade] += Decimal(mean) * completed
        counts[grade] += int(completed)
    grades = [g for g in GRADES if g in counts] + sorted(g for g in counts if g not in GRADES)
    go = _go()
    means = [round(float(days[g] / counts[g]), 1) for g in grades]
    colors = [PALETTE[4] if m > target_days else PALETTE[0] for m in means]
    fig = go.Figure(
        go.Bar(name="Mean days", x=grades, y=means, marker_color=colors, customdata=[counts[g] for g in grades],
               hovertemplate="%{x}: %{y:.1f} days (%{customdata} recruitments)<extra></extra>")
    )  # fmt: skip
    fig.add_hline(y=target_days, line_dash="dash", line_color=PALETTE[3],
                  annotation_text=f"target {target_days} days", annotation_position="top left")  # fmt: skip
    fig.update_layout(xaxis_title="Grade of the post", yaxis_title="days", showlegend=False)
    fig.update_xaxes(type="category")
    return styled(fig, title, subtitle=subtitle, money_axis=None)


def representation(frame: pd.DataFrame, title: str = "Professional staff by gender and region") -> go.Figure:
    """Two donuts: gender and geographical region of staff at P-1 and above."""
    as_of = _as_of(frame)
    subtitle = f"Staff at grade P-1 and above in service on {as_of.isoformat()}" if as_of else ""
    if frame.empty:
        return empty(title, subtitle=subtitle)
    from plotly.subplots import make_subplots

    go = _go()
    fig = make_subplots(rows=1, cols=2, specs=[[{"type": "domain"}, {"type": "domain"}]],
                        subplot_titles=("Gender", "Region"))  # fmt: skip
    colors = {"gender": PALETTE[:3], "region": [PALETTE[2], PALETTE[3], PALETTE[4], PALETTE[5], PALETTE[6]]}
    for col, (dimension, names) in enumerate((("gender", GENDER_NAMES), ("region", REGION_LABELS)), start=1):
        part = frame[frame["dimension"] == dimension]
        fig.add_trace(
            go.Pie(labels=[names.get(c, c) for c in part["category"]], values=[int(n) for n in part["count"]],
                   hole=0.45, sort=False, direction="clockwise", marker={"colors": colors[dimension]},
                   hovertemplate="%{label}: %{value} staff (%{percent})<extra></extra>", name=dimension),
            row=1, col=col,
        )  # fmt: skip
    styled(fig, title, subtitle=subtitle, money_axis=None)
    fig.update_layout(
        legend={"orientation": "v", "x": 1.0, "y": 0.5, "xanchor": "left", "yanchor": "middle"},
        margin={"l": 20, "r": 20, "t": 100, "b": 20},
    )
    fig.update_annotations(yshift=8)
    return fig


def cost_recovery(
    frame: pd.DataFrame, title: str = "Cost-recovered products: income against full cost", names: Names | None = None
) -> go.Figure:
    """Income and full cost per product (Resolution 91: recover the cost, no more), summed
    over the years shown; the products' names in the hover text and the key."""
    years = _years_of(frame)
    summed = "summed over " if len(years) > 1 else ""
    subtitle = f"Income and full cost (direct + indirect) {summed}{execution_words(frame, years)}"
    if frame.empty:
        return empty(title, subtitle=subtitle)
    sums = _sums(frame, "product_code", ("income", "full_cost"))
    go = _go()
    codes = [str(k) for k in sums]
    key = _key(names, "product_code", codes)
    named = _hover_names(key, codes)
    hovertemplate = NAMED_HOVER if key else MONEY_HOVER
    fig = go.Figure(
        [
            go.Bar(name="Income", x=codes, y=[_float(v["income"]) for v in sums.values()], marker_color=PALETTE[2],
                   customdata=named, hovertemplate=hovertemplate),
            go.Bar(name="Full cost", x=codes, y=[_float(v["full_cost"]) for v in sums.values()],
                   marker_color=PALETTE[0], customdata=named, hovertemplate=hovertemplate),
        ]
    )  # fmt: skip
    fig.update_layout(barmode="group")
    return styled(fig, title, subtitle=subtitle, key=key, key_title="Products", legend="top")


def contributions_by_region(frame: pd.DataFrame, title: str = "Assessed contributions by region") -> go.Figure:
    """Member States' contributions per administrative region (from ``catalog.contributions``:
    contributory units x the unit value of each year of the version's period)."""
    states = frame[frame["member_type"] == "member_state"] if not frame.empty else frame
    years = _years_of(states)
    subtitle = f"Planned: contributory units × unit value, {plan_words(frame, years)}"
    if states.empty:
        return empty(title, subtitle=subtitle)
    go = _go()
    bars = []
    for i, year in enumerate(years):
        sums = _sums(states[states["year"] == year], "region", ("amount",))
        bars.append(
            go.Bar(name=str(year), x=[REGION_LABELS.get(r, r) for r in sums],
                   y=[_float(v["amount"]) for v in sums.values()],
                   marker_color=PALETTE[i % len(PALETTE)], hovertemplate=MONEY_HOVER)
        )  # fmt: skip
    fig = go.Figure(bars)
    fig.update_layout(barmode="group")
    return styled(fig, title, subtitle=subtitle, legend="top")


def balance_scenario(base: pd.DataFrame, scenario: pd.DataFrame, title: str = "Planned balance per year") -> go.Figure:
    """The financial plan's planned balance per year, as planned and under a scenario
    (plan figures of the version: no actuals)."""
    go = _go()
    traces = []
    for name, frame, color, dash in (("Plan", base, PALETTE[0], "solid"), ("Scenario", scenario, PALETTE[3], "dash")):
        rows = frame[frame["line"] == "balance"]
        traces.append(
            go.Scatter(name=name, x=[str(y) for y in rows["year"]], y=[_float(a) for a in rows["plan"]],
                       mode="lines+markers", line={"color": color, "width": 3, "dash": dash},
                       hovertemplate=MONEY_HOVER)
        )  # fmt: skip
    fig = go.Figure(traces)
    fig.add_hline(y=0, line_color="#9aa5b1")
    fig.update_xaxes(type="category")
    subtitle = f"Plan of {plan_words(base, _years_of(base))}, as planned and under the scenario; no actuals"
    return styled(fig, title, subtitle=subtitle, height=360)


# -- showing a figure ------------------------------------------------------------------------------


def figure_html(fig: go.Figure, div_id: str) -> str:
    """The figure for a static page: a div with id ``div_id`` and a ``Plotly.newPlot``
    call (the page provides plotly.js; nothing is fetched from the network)."""
    height = fig.layout.height or 380
    body: str = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        default_height=f"{height}px",
        config=CONFIG,
        validate=False,
    )
    return f'<div class="itu-chart" data-chart="{div_id}">{body}{svg_chart.key_html(fig)}</div>'


@dataclass(frozen=True)
class ChartSpec:
    """A chart of one report: ``build(frame, names)``, ``names`` as :data:`Names`."""

    report: str  # "" when the table comes from elsewhere (a ReportChart's source)
    build: Callable[[pd.DataFrame, Names | None], go.Figure]


#: The charts a ReportChart can show, by name.
CHARTS: dict[str, ChartSpec] = {
    "budget-vs-actual": ChartSpec("budget-vs-actual", lambda f, n: budget_vs_actual(f, names=n)),
    "cost-by-objective": ChartSpec("plan-costs", lambda f, n: cost_by_objective(f, names=n)),
    "income-by-source": ChartSpec("financial-plan", lambda f, _n: income_by_source(f)),
    "income-plan-actual": ChartSpec("financial-plan", lambda f, _n: income_plan_actual(f)),
    "recruitment-days": ChartSpec(
        "recruitment", lambda f, _n: recruitment_days(f, int(f.attrs.get("target_days", 120)))
    ),
    "representation": ChartSpec("representation", lambda f, _n: representation(f)),
    "cost-recovery": ChartSpec("cost-recovery", lambda f, n: cost_recovery(f, names=n)),
    "contributions-by-region": ChartSpec("", lambda f, _n: contributions_by_region(f)),
}
