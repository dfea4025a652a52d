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

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from widgets import format as fmt

if TYPE_CHECKING:
    import pandas as pd
    import plotly.graph_objects as go

PALETTE = ["#1d4f91", "#009edb", "#7fb800", "#f2a900", "#b3261e", "#6c4f9e", "#00897b", "#8d6e63"]
FONT = "Segoe UI, Helvetica Neue, Arial, sans-serif"
CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["select2d", "lasso2d"]}
CATEGORY_ORDER = ("staff", "travel", "meetings", "documents", "contractual", "equipment", "other")
GRADE_ORDER = ("G-1", "G-2", "G-3", "G-4", "G-5", "G-6", "G-7", "P-1", "P-2", "P-3", "P-4", "P-5",
               "D-1", "D-2", "ASG", "DSG", "SG")  # fmt: skip
GENDERS = {"F": "Women", "M": "Men", "X": "Other"}
REGIONS = {
    "A": "A Americas",
    "B": "B Western Europe",
    "C": "C Eastern Europe and Northern Asia",
    "D": "D Africa",
    "E": "E Asia and Australasia",
}
INCOME_LINES = (
    "assessed_contributions",
    "sector_member_contributions",
    "associate_contributions",
    "cost_recovery",
    "other_income",
)
MONEY_HOVER = "%{x}<br>%{fullData.name}: CHF %{y:,.2f}<extra></extra>"


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


LEGEND_TOP = {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1}
LEGEND_BELOW = {"orientation": "h", "yanchor": "top", "y": -0.16, "xanchor": "left", "x": 0}


def styled(
    fig: go.Figure, title: str, *, height: int = 380, money_axis: str | None = "y", legend: str = "below"
) -> go.Figure:
    """The house style: light template, ITU blues, horizontal legend, CHF axes."""
    fig.update_layout(
        template="none",
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 15, "color": "#1d4f91"}},
        height=height,
        margin={"l": 70, "r": 20, "t": 50, "b": 60},
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
        fig.update_yaxes(tickprefix="CHF ", tickformat="~s")
    elif money_axis == "x":
        fig.update_xaxes(tickprefix="CHF ", tickformat="~s")
    return fig


def empty(title: str, text: str = "No data for this selection") -> go.Figure:
    go = _go()
    fig = go.Figure()
    fig.add_annotation(text=text, showarrow=False, font={"size": 14, "color": "#5f6b7a"}, x=0.5, y=0.5,
                       xref="paper", yref="paper")  # fmt: skip
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return styled(fig, title, height=240, money_axis=None)


# -- the charts ------------------------------------------------------------------------------------


def budget_vs_actual(frame: pd.DataFrame, title: str = "Budget and actual expenditure") -> go.Figure:
    """Budget and actual side by side per unit (per objective when one unit is shown)."""
    if frame.empty:
        return empty(title)
    by = "unit_code" if frame["unit_code"].nunique() > 1 else "objective_code"
    sums = _sums(frame, by, ("budget", "actual"))
    names = [str(k) if k is not None else "(none)" for k in sums]
    go = _go()
    fig = go.Figure(
        [
            go.Bar(name="Budget", x=names, y=[_float(v["budget"]) for v in sums.values()],
                   marker_color=PALETTE[1], hovertemplate=MONEY_HOVER),
            go.Bar(name="Actual", x=names, y=[_float(v["actual"]) for v in sums.values()],
                   marker_color=PALETTE[0], hovertemplate=MONEY_HOVER),
        ]
    )  # fmt: skip
    fig.update_layout(barmode="group")
    fig.update_xaxes(tickangle=-45 if len(names) > 8 else 0)
    return styled(fig, f"{title} by {'unit' if by == 'unit_code' else 'objective'}", legend="top")


def cost_by_objective(frame: pd.DataFrame, title: str = "Planned cost by objective and category") -> go.Figure:
    """The version's cost lines per objective, stacked by category."""
    if frame.empty:
        return empty(title)
    objectives = sorted(set(frame["objective_code"]))
    go = _go()
    bars = []
    for i, category in enumerate(c for c in CATEGORY_ORDER if c in set(frame["category"])):
        part = frame[frame["category"] == category]
        sums = _sums(part, "objective_code", ("amount",))
        bars.append(
            go.Bar(
                name=category.capitalize(),
                y=objectives,
                x=[_float(sums.get(o, {}).get("amount")) for o in objectives],
                orientation="h",
                marker_color=PALETTE[i % len(PALETTE)],
                hovertemplate="%{y}<br>%{fullData.name}: CHF %{x:,.2f}<extra></extra>",
            )
        )
    fig = go.Figure(bars)
    fig.update_layout(barmode="stack", legend_traceorder="normal")
    fig.update_yaxes(autorange="reversed", type="category")
    return styled(fig, title, height=max(320, 60 + 22 * len(objectives)), money_axis="x")


def income_by_source(frame: pd.DataFrame, title: str = "Planned income by source, and expenditure") -> go.Figure:
    """The financial plan per year of the version's period: planned income stacked by
    source; planned and actual expenditure and income received as lines (actual only
    for the years begun by the as-of date, so a year to come does not drop to zero)."""
    if frame.empty:
        return empty(title)
    years = sorted(set(frame["year"]))
    plan = {(y, line): a for y, line, a in frame[["year", "line", "plan"]].itertuples(index=False, name=None)}
    actual = {(y, line): a for y, line, a in frame[["year", "line", "actual"]].itertuples(index=False, name=None)}
    as_of = str(frame.attrs.get("as_of", ""))
    begun = [y for y in years if not as_of or int(y) <= int(as_of[:4])]
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
    received = f" to {as_of}" if as_of else ""
    traces.append(
        go.Scatter(name=f"Actual expenditure{received}", x=[str(y) for y in begun],
                   y=[_float(actual.get((y, "expenditure"))) for y in begun], mode="lines+markers",
                   line={"color": PALETTE[5], "width": 3, "dash": "dash"}, hovertemplate=MONEY_HOVER)
    )  # fmt: skip
    traces.append(
        go.Scatter(name=f"Income received{received}", x=[str(y) for y in begun],
                   y=[_float(actual.get((y, "total_income"))) for y in begun], mode="markers",
                   marker={"color": PALETTE[6], "size": 11, "symbol": "diamond"}, hovertemplate=MONEY_HOVER)
    )  # fmt: skip
    fig = go.Figure(traces)
    fig.update_layout(barmode="stack")
    fig.update_xaxes(type="category")
    return styled(fig, f"{title}, {_span(years)}", height=440)


def income_plan_actual(frame: pd.DataFrame, title: str = "Income planned and received, by source") -> go.Figure:
    """Each income line of the financial plan, planned against received to the as-of
    date, over the years shown: contributions in arrears show as a shortfall."""
    if frame.empty:
        return empty(title)
    sums = _sums(frame[frame["line"].isin(INCOME_LINES)], "line", ("plan", "actual"))
    lines = [line for line in INCOME_LINES if line in sums]
    names = [fmt.LINE_LABELS[line] for line in lines]
    as_of = frame.attrs.get("as_of")
    go = _go()
    fig = go.Figure(
        [
            go.Bar(name="Planned", x=names, y=[_float(sums[line]["plan"]) for line in lines],
                   marker_color=PALETTE[1], hovertemplate=MONEY_HOVER),
            go.Bar(name=f"Received to {as_of}" if as_of else "Received", x=names,
                   y=[_float(sums[line]["actual"]) for line in lines], marker_color=PALETTE[0],
                   hovertemplate=MONEY_HOVER),
        ]
    )  # fmt: skip
    fig.update_layout(barmode="group")
    return styled(fig, f"{title}, {_span(sorted(set(frame['year'])))}", legend="top")


def recruitment_days(
    frame: pd.DataFrame, target_days: int = 120, title: str = "Days from vacancy notice to entry on duty"
) -> go.Figure:
    """Mean recruitment time per grade (weighted by completed recruitments), against the target."""
    if frame.empty:
        return empty(title)
    days: dict[str, Decimal] = defaultdict(Decimal)
    counts: dict[str, int] = defaultdict(int)
    for grade, completed, mean in frame[["grade", "completed", "mean_days"]].itertuples(index=False, name=None):
        days[grade] += Decimal(mean) * completed
        counts[grade] += int(completed)
    grades = [g for g in GRADE_ORDER if g in counts] + sorted(g for g in counts if g not in GRADE_ORDER)
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
    return styled(fig, title, money_axis=None)


def representation(frame: pd.DataFrame, title: str = "Professional staff by gender and region") -> go.Figure:
    """Two donuts: gender and geographical region of staff at P-1 and above."""
    if frame.empty:
        return empty(title)
    from plotly.subplots import make_subplots

    go = _go()
    fig = make_subplots(rows=1, cols=2, specs=[[{"type": "domain"}, {"type": "domain"}]],
                        subplot_titles=("Gender", "Region"))  # fmt: skip
    colors = {"gender": PALETTE[:3], "region": [PALETTE[2], PALETTE[3], PALETTE[4], PALETTE[5], PALETTE[6]]}
    for col, (dimension, names) in enumerate((("gender", GENDERS), ("region", REGIONS)), start=1):
        part = frame[frame["dimension"] == dimension]
        fig.add_trace(
            go.Pie(labels=[names.get(c, c) for c in part["category"]], values=[int(n) for n in part["count"]],
                   hole=0.45, sort=False, direction="clockwise", marker={"colors": colors[dimension]},
                   hovertemplate="%{label}: %{value} staff (%{percent})<extra></extra>", name=dimension),
            row=1, col=col,
        )  # fmt: skip
    styled(fig, title, money_axis=None)
    fig.update_layout(
        legend={"orientation": "v", "x": 1.0, "y": 0.5, "xanchor": "left", "yanchor": "middle"},
        margin={"l": 20, "r": 20, "t": 80, "b": 20},
    )
    fig.update_annotations(yshift=8)
    return fig


def cost_recovery(frame: pd.DataFrame, title: str = "Cost-recovered products: income against full cost") -> go.Figure:
    """Income and full cost per product (Resolution 91: recover the cost, no more)."""
    if frame.empty:
        return empty(title)
    sums = _sums(frame, "product_code", ("income", "full_cost"))
    go = _go()
    names = list(sums)
    fig = go.Figure(
        [
            go.Bar(name="Income", x=names, y=[_float(v["income"]) for v in sums.values()], marker_color=PALETTE[2],
                   hovertemplate=MONEY_HOVER),
            go.Bar(name="Full cost", x=names, y=[_float(v["full_cost"]) for v in sums.values()],
                   marker_color=PALETTE[0], hovertemplate=MONEY_HOVER),
        ]
    )  # fmt: skip
    fig.update_layout(barmode="group")
    return styled(fig, title, legend="top")


def contributions_by_region(frame: pd.DataFrame, title: str = "Assessed contributions by region") -> go.Figure:
    """Member States' contributions per administrative region (from ``catalog.contributions``)."""
    states = frame[frame["member_type"] == "member_state"] if not frame.empty else frame
    if states.empty:
        return empty(title)
    go = _go()
    years = sorted(set(states["year"]))
    bars = []
    for i, year in enumerate(years):
        sums = _sums(states[states["year"] == year], "region", ("amount",))
        bars.append(
            go.Bar(name=str(year), x=[REGIONS.get(r, r) for r in sums], y=[_float(v["amount"]) for v in sums.values()],
                   marker_color=PALETTE[i % len(PALETTE)], hovertemplate=MONEY_HOVER)
        )  # fmt: skip
    fig = go.Figure(bars)
    fig.update_layout(barmode="group")
    return styled(fig, title, legend="top")


def balance_scenario(base: pd.DataFrame, scenario: pd.DataFrame, title: str = "Balance per year") -> go.Figure:
    """The financial plan's planned balance per year, as planned and under a scenario."""
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
    return styled(fig, title, height=340)


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
    return f'<div class="itu-chart" data-chart="{div_id}">{body}</div>'


@dataclass(frozen=True)
class ChartSpec:
    """A chart of one report."""

    report: str  # "" when the table comes from elsewhere (a ReportChart's source)
    build: Callable[[pd.DataFrame], go.Figure]


#: The charts a ReportChart can show, by name.
CHARTS: dict[str, ChartSpec] = {
    "budget-vs-actual": ChartSpec("budget-vs-actual", budget_vs_actual),
    "cost-by-objective": ChartSpec("plan-costs", cost_by_objective),
    "income-by-source": ChartSpec("financial-plan", income_by_source),
    "income-plan-actual": ChartSpec("financial-plan", income_plan_actual),
    "recruitment-days": ChartSpec("recruitment", lambda f: recruitment_days(f, int(f.attrs.get("target_days", 120)))),
    "representation": ChartSpec("representation", representation),
    "cost-recovery": ChartSpec("cost-recovery", cost_recovery),
    "contributions-by-region": ChartSpec("", contributions_by_region),
}
