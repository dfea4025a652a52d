"""KPI cards of workspace KPIs (measured or computed) and the data-quality panel,
headless, on the demo (SQLite and PostgreSQL) and on a clean hand-made workspace."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select, update

import widgets
from itu_plan import Workspace
from itu_plan.bundle import import_bundle
from itu_plan.model import Kpi, KpiTarget
from tests.widgets_support import demo_url, headline_figures, pg_demo_template, recompute_kpi  # noqa: F401


def _computed(url: str) -> None:
    """Make the demo's execution-rate and recruitment KPIs computed (what the demo will do)."""
    with Workspace.open(url, user="admin") as ws, ws.transaction() as session:
        session.execute(update(Kpi).where(Kpi.code == "KPI-EXEC").values(formula="execution_rate"))
        session.execute(update(Kpi).where(Kpi.code == "KPI-RECRUIT").values(formula="recruitment_days"))


def _notes(cards: widgets.KpiCards) -> dict[str, str]:
    html = cards.static_html()
    return dict(re.findall(r'data-figure="([^"]+)".*?<div class="itu-kpi-note">([^<]*)</div>', html))


def test_a_computed_kpi_card_equals_the_report_and_says_where_it_comes_from(demo_url: str) -> None:
    _computed(demo_url)
    app = widgets.App.open(demo_url, user="manager.bdt")
    bar = widgets.FilterBar(app)
    cards = widgets.KpiCards(app, bar, ["execution_rate", "computed_kpis", "kpi:KPI-AAP"])
    assert cards.banner.message == ""
    shown = list(cards.values)  # the headline, every computed KPI in code order, then the one named
    assert shown[0] == "execution_rate" and shown[-1] == "kpi:KPI-AAP"
    assert {"kpi:KPI-EXEC", "kpi:KPI-RECRUIT"} <= set(shown[1:-1]) and shown[1:-1] == sorted(shown[1:-1])
    assert all(f["formula"] for f in headline_figures(cards.static_html()) if f["figure"] in shown[1:-1])
    as_of = str(app.workspace.as_of)
    notes = _notes(cards)
    assert notes["kpi:KPI-EXEC"].startswith(
        f"computed from the budget-vs-actual report of 2006-2007 approved · 2007 to {as_of}"
    )
    assert notes["kpi:KPI-AAP"].startswith(f"measured on {as_of}")
    assert "itu-tone" not in re.search(r'<div class="itu-kpi[^"]*" data-figure="kpi:KPI-EXEC"', cards.static_html())[0]
    bar.year = 2006
    # the 2006 execution rate of the approved version, as the headline (and the report) give it
    assert Decimal(cards.values["kpi:KPI-EXEC"]) == Decimal(cards.values["execution_rate"]) * 100
    with Workspace.open(demo_url, user="admin") as ws:
        recruitment = ws.report("recruitment", year=2006)
        with ws.reading() as session:
            target = session.scalars(
                select(KpiTarget.target)
                .join(Kpi, Kpi.id == KpiTarget.kpi_id)
                .where(Kpi.code == "KPI-EXEC", KpiTarget.year == 2006)
            ).one()
    assert _notes(cards)["kpi:KPI-EXEC"] == (
        f"computed from the budget-vs-actual report of 2006-2007 approved · 2006, full year, on 2006-12-31 · "
        f"as of {as_of} · "
        f"target {target:g}"
    )
    mean = sum(recruitment["mean_days"] * recruitment["completed"]) / sum(recruitment["completed"])
    assert cards.values["kpi:KPI-RECRUIT"] == f"{mean.quantize(Decimal('0.1'))}"
    assert 'data-source="computed from the recruitment report"' in cards.static_html()
    # every card, computed or measured, recomputed from the report or the measurements it names
    figures = [f for f in headline_figures(cards.static_html()) if f.get("kpi")]
    assert len(figures) == len(shown) - 1
    for figure in figures:
        assert recompute_kpi(demo_url, figure) == figure["value"], figure


def test_an_unknown_kpi_is_said_in_the_banner(demo_url: str) -> None:
    app = widgets.App.open(demo_url, user="manager.bdt")
    cards = widgets.KpiCards(app, widgets.FilterBar(app), ["kpi:KPI-NOPE"])
    assert "KPI-NOPE" in cards.banner.message


def test_the_data_quality_panel_counts_the_findings(demo_url: str) -> None:
    app = widgets.App.open(demo_url, user="reviewer")
    bar = widgets.FilterBar(app)
    panel = widgets.DataQualityPanel(app, bar)
    with Workspace.open(demo_url, user="admin") as ws:
        everything, in_2006 = ws.report("data-quality"), ws.report("data-quality", year=2006)
    assert panel.count == len(everything) == len(panel.table())
    assert f'data-findings="{len(everything)}"' in panel.static_html()
    bar.year = 2006
    assert panel.count == len(in_2006)


def test_the_data_quality_panel_says_no_findings(workspace: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "clean"
    folder.mkdir()
    (folder / "units.csv").write_text("code,name,parent_code\nU1,Unit one,\n")
    (folder / "objectives.csv").write_text("code,title,parent_code\nO1,Objective one,\n")
    (folder / "versions.csv").write_text("name,status,based_on,first_year,last_year\nV1,approved,,2006,2007\n")
    import_bundle(workspace, folder)
    panel = widgets.DataQualityPanel(widgets.App.open(workspace.url, user="tester"))
    assert panel.count == 0 and "No findings" in panel.static_html() and "<table" not in panel.static_html()


def test_computed_kpi_cards_follow_the_chosen_version_and_say_the_date_they_are_valued_at(demo_url: str) -> None:
    app = widgets.App.open(demo_url, user="reviewer")
    bar = widgets.FilterBar(app)
    cards = widgets.KpiCards(app, bar, ["computed_kpis"])
    as_of = app.as_of  # 2007-06-30: the year in progress is 2007
    figures = {f["kpi"]: f for f in headline_figures(cards.static_html())}
    assert figures["KPI-EXEC"]["kpi-version"] == "2006-2007 approved" and figures["KPI-EXEC"]["kpi-year"] == "2007"
    # read against time: the share of 2007 elapsed at the value's date
    assert figures["KPI-EXEC"]["elapsed"] == "0.4959"
    assert f"2007 to {as_of} · 49.6 % of 2007 elapsed" in _notes(cards)["kpi:KPI-EXEC"]
    assert figures["KPI-RECRUIT"]["elapsed"] == ""  # a mean of days is not read against time
    assert f"2007, staff in service on {as_of}" in _notes(cards)["kpi:KPI-WOMEN-P"]

    bar.version = "2004-2005 approved"  # the previous biennium: its last year, over that version
    figures = {f["kpi"]: f for f in headline_figures(cards.static_html())}
    assert figures["KPI-EXEC"]["kpi-version"] == "2004-2005 approved"
    assert {f["kpi-year"] for f in figures.values()} == {"2005"}
    assert {f["date"] for f in figures.values()} == {"2005-12-31"}
    notes = _notes(cards)
    assert notes["kpi:KPI-EXEC"].startswith(
        "computed from the budget-vs-actual report of 2004-2005 approved · 2005, full year, on 2005-12-31 · "
        f"as of {as_of}"
    )
    assert "2005, staff in service on 2005-12-31" in notes["kpi:KPI-WOMEN-P"]
    for figure in figures.values():  # each value is the report's for that version, year and date
        assert recompute_kpi(demo_url, figure) == figure["value"], figure

    bar.year = 2004  # a year chosen: that year's value, dated at its last day
    figures = {f["kpi"]: f for f in headline_figures(cards.static_html())}
    assert figures["KPI-EXEC"]["kpi-year"] == "2004" and figures["KPI-EXEC"]["date"] == "2004-12-31"
    assert "2004, full year, on 2004-12-31" in _notes(cards)["kpi:KPI-EXEC"]
    assert recompute_kpi(demo_url, figures["KPI-EXEC"]) == figures["KPI-EXEC"]["value"]
    assert cards.banner.message == ""
