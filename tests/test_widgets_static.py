"""Static mode, the contract with `itu-plan render`: with ITU_PLAN_STATIC=1 composites are
shown as deterministic HTML (tables, plotly divs, headline figures with their exact
values) that names no network URL, and no widget model is created."""

from __future__ import annotations

import re
from typing import Any

import pytest

import widgets
from itu_plan import catalog
from tests.widgets_support import headline_figures, recompute
from widgets import static


def _page(url: str, user: str = "reviewer") -> str:
    """Every composite of the library, in static form, as one page."""
    app = widgets.App.open(url, user=user)
    bar = widgets.FilterBar(app, year=2006, unit="BDT")
    everything = widgets.FilterBar(app)
    grid = widgets.PlanGrid(app, widgets.FilterBar(app, unit="BDT-AFR", year=2006, prefer_draft=True))
    table = widgets.ReportTable(app, bar, "budget-vs-actual", totals=["budget"])
    parts: list[Any] = [
        widgets.AppHeader(app, "All composites"),
        bar,
        widgets.KpiCards(app, bar, ["budget", "actual", "execution_rate", "warnings", "high_warnings"]),
        widgets.ElapsedShare(app, bar),
        widgets.KpiCards(
            app,
            everything,
            [
                "plan_cost",
                "total_income",
                "balance",
                "recovery_rate",
                "women_share",
                "recruitments",
                "agreements_in_force",
            ],
        ),
        widgets.Row(widgets.ReportChart(app, bar, "budget-vs-actual"), widgets.ReportChart(app, bar, "representation")),
        widgets.ReportChart(
            app, everything, "contributions-by-region", source=lambda: catalog.contributions(app.workspace)
        ),
        widgets.WarningsList(app, bar),
        table,
        widgets.ExportButton(app, table, "budget-vs-actual"),
        grid,
        widgets.CommentsPanel(app, "cost_lines", follow=grid),
        widgets.ApprovalPanel(app, everything),
        widgets.ScenarioPanel(app, everything),
        widgets.AppDirectory(app, [("budget_monitoring", "Budget monitoring", "Budget and actual")]),
    ]
    return "".join(static.wrap(p.static_html()) for p in parts)


def test_static_pages_are_deterministic_and_offline(demo_copy: str) -> None:
    first, second = _page(demo_copy), _page(demo_copy)
    assert first == second
    assert not re.search(r"https?://|//cdn|<link|src=\"[^d]", first), "no network URL of any kind"
    assert "widget-view" not in first and "application/vnd.jupyter" not in first
    ids = re.findall(r'<div id="([^"]+)" class="plotly-graph-div"', first)
    assert ids == ["itu-chart-1", "itu-chart-2", "itu-chart-3", "itu-chart-4"]
    assert first.count("Plotly.newPlot(") == 4
    assert re.search(
        r'<table class="itu-table" data-as-of="2007-06-30" data-report="budget-vs-actual" data-rows="\d+">', first
    )
    assert '<div class="itu-elapsed" data-elapsed="1.0000"' in first  # 2006 had ended at 2007-06-30
    assert 'href="budget_monitoring.html"' in first and 'download="budget-vs-actual.csv"' in first


def test_headline_figures_equal_the_report_command(demo_copy: str) -> None:
    page = _page(demo_copy)
    figures = headline_figures(page)
    assert [f["figure"] for f in figures] == [
        "budget", "actual", "execution_rate", "warnings", "high_warnings", "plan_cost", "total_income", "balance",
        "recovery_rate", "women_share", "recruitments", "agreements_in_force",
    ]  # fmt: skip
    cat = widgets.App.open(demo_copy, user="reviewer").catalog
    for figure in figures:
        assert figure["value"] and recompute(demo_copy, figure, cat) == figure["value"], figure


def test_show_displays_html_in_static_mode_and_widgets_otherwise(
    demo_copy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import IPython.display

    shown: list[Any] = []
    monkeypatch.setattr(IPython.display, "display", lambda *objects: shown.extend(objects))
    app = widgets.App.open(demo_copy, user="reviewer")
    header = widgets.AppHeader(app)
    widgets.show(header)
    assert shown == [header]
    shown.clear()
    monkeypatch.setenv("ITU_PLAN_STATIC", "1")
    assert widgets.is_static()
    widgets.show(header)
    (html,) = shown
    assert isinstance(html, IPython.display.HTML) and html.data == static.wrap(header.static_html())
    assert "International Telecommunication Union" in html.data and "<style>" not in html.data


def test_static_mode_opens_no_widget_comms(monkeypatch: pytest.MonkeyPatch) -> None:
    import comm
    from ipywidgets import comm as widget_comm

    monkeypatch.setattr(static, "_prepared", False)
    monkeypatch.setattr(widget_comm, "create_comm", lambda *a, **k: pytest.fail("a comm was opened"))
    monkeypatch.setenv("ITU_PLAN_STATIC", "1")
    banner = widgets.ErrorBanner()
    assert isinstance(banner.comm, comm.DummyComm)


def test_the_stylesheet_is_shipped_and_names_no_url() -> None:
    css = widgets.STATIC_CSS
    assert ".itu-kpi" in css and ".itu-table" in css and "url(" not in css and "@import" not in css
