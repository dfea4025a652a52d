"""Headless tests of the composites that show figures: set values, click, assert what
they show and what lands in the error banner. The demo workspace on SQLite (and, for
the filters and headline figures, PostgreSQL)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import csv
import html
import io
import json
import re
import subprocess
import time
from decimal import Decimal
from typing import Any

import pytest

import widgets
from itu_plan import UsageError, Workspace, access, users
from tests.pg import PostgresServer
from tests.widgets_support import demo_url, pg_demo_template  # noqa: F401
from widgets import charts
from widgets import format as fmt
from widgets.app import UNREACHABLE
from widgets.error_banner import UNEXPECTED, ErrorBanner
from widgets.kpi_cards import HEADLINES


@pytest.fixture
def app(demo_copy: str) -> widgets.App:
    return widgets.App.open(demo_copy, user="manager.bdt")


def _sum(frame: Any, column: str) -> Decimal:
    return sum(frame[column], Decimal(0))


# -- the error banner -------------------------------------------------------------------------------


def test_error_banner_shows_plain_words_and_never_a_traceback() -> None:
    banner = ErrorBanner()
    assert banner.layout.display == "none"

    def refused() -> None:
        raise UsageError("cannot save cost line X: amount 'abc' is not a number")

    banner.guard(refused)()
    assert banner.message == "cannot save cost line X: amount 'abc' is not a number"
    assert banner.layout.display == "flex" and "is not a number" in banner._text.value

    def broken() -> None:
        raise KeyError("internal detail")

    banner.guard(broken)()
    assert banner.message == UNEXPECTED and "KeyError" not in banner._text.value and "Traceback" not in banner.message
    banner._dismiss.click()
    assert banner.message == "" and banner.layout.display == "none"

    called = []
    banner.show("the line changed", action=("Reload", lambda: called.append(1)))
    assert banner.action == "Reload" and banner._act.layout.display == "flex"
    banner._act.click()
    assert called == [1] and banner.message == "" and banner.action == ""
    assert banner.guard(lambda: 42)() == 42


# -- filters and headline figures ---------------------------------------------------------------------


def test_filter_bar_offers_the_catalog_and_checks_url_values(demo_url: str) -> None:
    app = widgets.App.open(demo_url, user="manager.bdt")
    bar = widgets.FilterBar(app, version=None, year="2006", unit="BDT")
    assert (bar.version, bar.year, bar.unit, bar.objective) == ("2006-2007 approved", 2006, "BDT", None)
    assert bar.banner.message == ""
    assert [v for _label, v in bar.selects["version"].options] == [v.name for v in app.catalog.versions]
    assert bar.selects["year"].options[0] == ("All years", "") and bar.selects["unit"].value == "BDT"
    bar.selects["unit"].value = "BR"
    bar.selects["year"].value = ""
    assert (bar.unit, bar.year) == ("BR", None)
    bar.objective = "ITU-R.1"
    assert bar.selects["objective"].value == "ITU-R.1"

    bad = widgets.FilterBar(app, version="2099 plan", year="1999", unit="<script>", objective="S-99")
    assert (bad.version, bad.year, bad.unit, bad.objective) == ("2006-2007 approved", None, None, None)
    assert "there is no plan version '2099 plan'" in bad.banner.message
    assert "there is no unit '<script>'" in bad.banner.message and "&lt;script&gt;" in bad.banner._text.value
    assert widgets.FilterBar(app, prefer_draft=True).version == "2006-2007 draft"
    assert "Unit: <b>all units</b>" in bad.static_html()


def test_kpi_cards_equal_the_reports_and_follow_the_filters(demo_url: str) -> None:
    app = widgets.App.open(demo_url, user="manager.bdt")
    bar = widgets.FilterBar(app)
    cards = widgets.KpiCards(app, bar, ["budget", "actual", "execution_rate", "warnings", "balance"])
    with Workspace.open(demo_url, user="admin") as ws:
        bva = ws.report("budget-vs-actual")
        plan = ws.report("financial-plan")
        # the page is about the version's period: the warnings about its years (or no year)
        warnings = [w for w in ws.warnings() if w.year is None or w.year in (2006, 2007)]
    budget, actual = _sum(bva, "budget"), _sum(bva, "actual")
    assert cards.values == {
        "budget": f"{budget}",
        "actual": f"{actual}",
        "execution_rate": f"{(actual / budget).quantize(Decimal('0.0001'))}",
        "warnings": str(len(warnings)),
        "balance": f"{_sum(plan[plan['line'] == 'balance'], 'plan')}",
    }
    assert f'data-figure="budget" data-value="{budget}"' in cards.static_html()
    bar.unit = "BDT"
    bar.year = 2006
    scoped = app.catalog.restrict(bva, unit="BDT", year=2006)
    assert cards.values["budget"] == f"{_sum(scoped, 'budget')}" != f"{budget}"
    assert 'data-unit="BDT" data-objective=""' in cards.static_html() and 'data-year="2006"' in cards.static_html()
    with pytest.raises(ValueError, match="unknown headline"):
        widgets.KpiCards(app, bar, ["nope"])
    assert all(h.aggregate in ("sum", "count", "ratio") for h in HEADLINES.values())


def test_every_headline_figure_computes_on_the_demo(app: widgets.App) -> None:
    cards = widgets.KpiCards(app, widgets.FilterBar(app), list(HEADLINES))
    assert cards.banner.message == ""
    assert cards.values["women_share"] == "0.3822" and cards.values["agreements"] == "12"
    assert cards.values["recovery_rate"] and cards.values["plan_cost"].endswith(".00")


# -- charts and tables ----------------------------------------------------------------------------------


def _drawn(chart: Any) -> tuple[list[str], int]:
    """The categories a live chart shows (its plot's ``data-x``) and how many marks it draws."""
    found = re.search(r'<svg class="itu-svgc-plot"[^>]* data-x="([^"]*)"', chart.view.value)
    categories = json.loads(html.unescape(found.group(1))) if found else []
    return categories, chart.view.value.count('class="itu-mark"')


def test_report_chart_draws_the_report_and_redraws_on_a_filter_change(app: widgets.App) -> None:
    bar = widgets.FilterBar(app)
    chart = widgets.ReportChart(app, bar, "budget-vs-actual")
    assert chart.figure is not None
    budget = next(t for t in chart.figure.data if t.name == "Budget")
    bva = app.report("budget-vs-actual", version=bar.version)
    assert sum(budget.y) == pytest.approx(float(_sum(bva, "budget")))
    assert "BR-SSD" in budget.x
    categories, marks = _drawn(chart)  # live, the kernel draws it: a bar per unit for budget and actual
    assert categories == list(budget.x) and marks == 2 * len(budget.x)
    assert "Budget and actual expenditure by unit" in chart.view.value and "<script" not in chart.view.value
    bar.unit = "BDT-AFR"  # one unit: the chart goes by objective
    categories, _marks = _drawn(chart)
    assert categories and all(x.startswith(("ITU-D", "S-")) for x in categories)
    bar.unit, bar.objective = "BR", "ITU-D.1"
    assert chart.figure.layout.annotations[0].text == "No data for this selection"
    assert "No data for this selection" in chart.view.value and _drawn(chart) == ([], 0)
    assert chart.banner.message == ""
    html = chart.static_html()
    assert f'id="{chart.div_id}"' in html and "Plotly.newPlot" in html and "http" not in html
    with pytest.raises(ValueError, match="unknown chart"):
        widgets.ReportChart(app, bar, "pie-in-the-sky")


@pytest.mark.parametrize("chart", sorted(charts.CHARTS))
def test_every_chart_builds_from_the_demo(app: widgets.App, chart: str) -> None:
    from itu_plan import catalog

    bar = widgets.FilterBar(app)
    source = (lambda: catalog.contributions(app.workspace)) if not charts.CHARTS[chart].report else None
    view = widgets.ReportChart(app, bar, chart, source=source)
    assert view.banner.message == ""
    assert view.figure is not None and view.figure.data, chart
    assert view.figure.layout.title.text
    categories, marks = _drawn(view)  # a mark per bar or slice of a non-zero value, per point of a line
    expected = 0
    for trace in view.figure.data:
        values = trace.values if trace.type == "pie" else trace.x if trace.orientation == "h" else trace.y
        expected += sum(1 for v in values if v is not None and (v or trace.type == "scatter"))
    assert categories and marks == expected, chart


def test_report_table_shows_the_filtered_rows_with_totals(app: widgets.App) -> None:
    bar = widgets.FilterBar(app, unit="TSB")
    table = widgets.ReportTable(app, bar, "budget-vs-actual", totals=["budget", "actual"])
    expected = app.catalog.restrict(app.report("budget-vs-actual", version=bar.version), unit="TSB")
    assert table.rows == len(expected) == table.body.value.count("<tr>") - 2  # header and total rows
    assert table.table()["budget"].tolist() == expected["budget"].tolist()
    total = f"{_sum(expected, 'budget'):,.2f}"
    assert f'<td class="itu-num">{total}</td>' in table.body.value
    bar.year = 2004
    assert table.rows == len(app.catalog.restrict(expected, year=2004))
    fin = widgets.ReportTable(app, bar, "financial-plan")
    assert fin.rows == 0, "2004 is outside the 2006-2007 version's period"
    bar.year = 2006
    assert fin.rows == 10 and "Assessed contributions (Member States)" in fin.body.value
    assert "Reserve drawing (below the line)" in fin.body.value and "Plan (CHF)" in fin.body.value
    with pytest.raises(ValueError):
        widgets.ReportTable(app, bar)


def test_warnings_list_drills_into_the_records_behind_a_warning(app: widgets.App) -> None:
    bar = widgets.FilterBar(app, unit="BDT", year=2006)
    view = widgets.WarningsList(app, bar)
    assert view.count == len(view.table()) > 0
    overspend = next(v for _label, v in view.drill_select.options if v and v.startswith("OVERSPEND BDT"))
    view.drill_select.value = overspend
    records = view.drilled_records()
    assert view.drilled == overspend and records is not None and len(records) > 0
    assert set(records.columns) >= {"reference", "date", "amount"}
    assert "records behind OVERSPEND" in view.records.value
    only = widgets.WarningsList(app, bar, rules=["RECRUITMENT_DELAY"], severities=["high"])
    assert set(only.table()["rule"]) == {"RECRUITMENT_DELAY"} and set(only.table()["severity"]) == {"high"}
    delay = only.drill_select.options[1][1]
    only.drill_select.value = delay
    assert only.drilled_records() is not None and only.drilled_records()["eod_date"].isna().all()  # type: ignore[index]
    bar.unit = "BR"  # the overspend in BDT is no longer listed: its drill-down closes
    assert view.drilled == "" and view.records.value == "" and view.drilled_records() is None
    assert only.drilled == delay  # a recruitment delay names no unit: it stays
    assert only.banner.message == "" and view.banner.message == ""


def test_warnings_list_shows_the_year_and_drills_down_by_the_warnings_fields(app: widgets.App) -> None:
    bar = widgets.FilterBar(app, year=2006)
    view = widgets.WarningsList(app, bar)
    assert list(view.table().columns) == ["severity", "rule", "subject", "year", "message"]
    assert "<th>Year</th>" in view.body.value and "<td>2006</td>" in view.body.value
    shown = view.warnings()
    assert [w.row for w in shown] == list(view.table().itertuples(index=False, name=None))
    assert {w.year for w in shown} <= {2006, None}  # a recruitment delay is about no year: it stays
    kpi = next(w for w in shown if w.rule == "KPI_OFF_TRACK")
    view.drill_select.value = f"{kpi.rule} {kpi.subject}"
    records = view.drilled_records()
    assert records is not None and set(records["kpi_code"]) == {kpi.kpi_code}
    assert {d.year for d in records["date"]} == {kpi.year}  # the values of the year it missed
    projected = widgets.WarningsList(app, widgets.FilterBar(app), rules=["PROJECTED_OVERSPEND"])
    first = projected.warnings()[0]
    projected.drill_select.value = f"{first.rule} {first.subject}"
    actuals = projected.drilled_records()
    assert actuals is not None and len(actuals) and {d.year for d in actuals["date"]} == {first.year}
    assert "itu-sev-" in projected.body.value and projected.banner.message == "" == view.banner.message


def test_export_button_downloads_what_is_shown(app: widgets.App) -> None:
    bar = widgets.FilterBar(app, unit="BDT", year=2006)
    table = widgets.ReportTable(app, bar, "budget-vs-actual")
    export = widgets.ExportButton(app, table, "budget-vs-actual")
    export.button.click()
    assert export.filename == "budget-vs-actual.csv"
    rows = list(csv.DictReader(io.StringIO(export.data.decode())))
    assert len(rows) == table.rows and rows[0]["budget"] == f"{table.table()['budget'][0]}"
    assert "data:text/csv;charset=utf-8;base64," in export.link.value
    href = export.link.value.split('href="', 1)[1].split('"', 1)[0]
    assert base64.b64decode(href.split(",", 1)[1]) == export.data
    export.choice.value = "xlsx"
    export.button.click()
    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(export.data)).active
    assert sheet is not None and sheet.max_row == table.rows + 1
    assert export.filename == "budget-vs-actual.xlsx" and export.banner.message == ""
    assert 'download="budget-vs-actual.csv"' in export.static_html()


# -- page furniture ------------------------------------------------------------------------------------


def test_header_directory_and_row(app: widgets.App) -> None:
    header = widgets.AppHeader(app, "Budget monitoring")
    assert "Acting as manager.bdt, manager for BDT" in header.html.value and "<style>" in header.html.value
    assert "Acting as" not in header.static_html() and "2007-06-30" in header.static_html()
    entries = [("budget_monitoring", "Budget monitoring", "Budget against actual")]
    directory = widgets.AppDirectory(app, entries, parameters={"unit": "BDT", "year": 2006, "version": None})
    assert 'href="budget_monitoring.ipynb?unit=BDT&amp;year=2006"' in directory.html.value
    assert 'href="budget_monitoring.html"' in directory.static_html()
    row = widgets.Row(header, directory)
    assert row.static_html().startswith('<div class="itu-row"><div>') and "itu-directory" in row.static_html()


def test_the_header_warns_when_the_audit_trail_is_broken_or_unguarded(demo_copy: str) -> None:
    import sqlite3

    app = widgets.App.open(demo_copy, user="manager.bdt")
    assert 'role="alert"' not in widgets.AppHeader(app, "Budget monitoring").html.value
    with sqlite3.connect(demo_copy.removeprefix("sqlite:///")) as db:
        db.execute("DROP TRIGGER audit_events_no_update")
    unguarded = widgets.AppHeader(widgets.App.open(demo_copy, user="manager.bdt"), "Budget monitoring").html.value
    assert "the audit trail is not protected: its guards are missing or disabled: audit_events_no_update" in unguarded
    with sqlite3.connect(demo_copy.removeprefix("sqlite:///")) as db:
        db.execute("UPDATE audit_events SET username = 'nobody' WHERE id = 1")
    broken = widgets.AppHeader(widgets.App.open(demo_copy, user="manager.bdt"), "Budget monitoring").html.value
    assert 'role="alert">Warning: The audit trail is broken at event 1:' in broken


def test_parameters_come_from_the_query_string_under_voila(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = {"db_url": None, "version": None, "year": None, "unit": None}
    assert widgets.parameters(defaults) == defaults  # not under Voilà: the notebook's values
    got = widgets.parameters(defaults, query="unit=BDT&year=2006&db_url=sqlite:///evil.db&x=1&version=")
    assert got == {"db_url": None, "version": None, "year": "2006", "unit": "BDT"}
    monkeypatch.setenv("VOILA_PREHEAT", "False")  # what Voilà sets in the kernels it starts
    monkeypatch.setenv("QUERY_STRING", "year=2005&unit=TSB")
    assert widgets.parameters(defaults) == {"db_url": None, "version": None, "year": "2005", "unit": "TSB"}


def _preheated(monkeypatch: pytest.MonkeyPatch, query: str) -> list[str]:
    """A preheated Voilà kernel (as far as widgets can tell) whose page is asked for with
    ``query``; returns the queries it waited for."""
    from widgets import notebook_parameters

    waited: list[str] = []

    def request() -> str:
        time.sleep(0.2)  # the visitor comes after the notebook ran
        waited.append(query)
        return query

    monkeypatch.setenv("VOILA_PREHEAT", "True")
    monkeypatch.setattr(notebook_parameters, "query_string", request)
    monkeypatch.setattr(notebook_parameters._Request, "current", None)
    return waited


def test_a_preheated_page_is_computed_before_the_request_and_follows_it(
    app: widgets.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A preheated kernel computes the page with the notebook's values before anyone asks
    for it; the filters the request names arrive later, on the kernel's loop, and the page
    follows them (an unknown one is explained)."""
    waited = _preheated(monkeypatch, "unit=BDT&year=2006&objective=ITU-D.1&version=nope")
    defaults = {"version": None, "year": None, "unit": None}

    async def notebook() -> tuple[Any, ...]:
        p = widgets.parameters(defaults)
        assert p == defaults and waited == []  # not waiting for the visitor
        bar = widgets.FilterBar(app, version=p["version"], year=p["year"], unit=p["unit"])
        cards = widgets.KpiCards(app, bar, ["budget"])
        chart = widgets.ReportChart(app, bar, "budget-vs-actual")
        entries = [("budget_monitoring", "Budget monitoring", "Budget against actual")]
        directory = widgets.AppDirectory(app, entries, parameters=p)
        assert bar.unit is None and "BR-SSD" in _drawn(chart)[0] and "?" not in directory.query
        for _ in range(100):  # the kernel is idle: the request comes
            await asyncio.sleep(0.02)
            if bar.unit is not None:
                break
        return bar, cards, chart, directory

    bar, cards, chart, directory = asyncio.run(notebook())
    assert waited == ["unit=BDT&year=2006&objective=ITU-D.1&version=nope"]
    assert (bar.unit, bar.year, bar.version) == ("BDT", 2006, bar.default_version)
    assert bar.objective is None  # the notebook does not take an objective from its page
    assert "there is no plan version 'nope'" in bar.banner.message
    assert 'data-unit="BDT"' in cards.cards.value and 'data-year="2006"' in cards.cards.value
    assert all(u.startswith("BDT") for u in _drawn(chart)[0])
    assert directory.query == "version=nope&year=2006&unit=BDT"  # passed on as asked, like the notebook's own


def test_a_preheated_page_asked_for_as_computed_changes_nothing(
    app: widgets.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    waited = _preheated(monkeypatch, "unit=&x=1")
    changes: list[Any] = []

    async def notebook() -> Any:
        p = widgets.parameters({"version": None, "year": None, "unit": None})
        bar = widgets.FilterBar(app, version=p["version"], year=p["year"], unit=p["unit"])
        bar.on_change(lambda: changes.append(1))
        for _ in range(50):
            await asyncio.sleep(0.02)
            if waited:
                break
        await asyncio.sleep(0.05)
        return bar

    bar = asyncio.run(notebook())
    assert waited and changes == [] and bar.unit is None and bar.banner.message == ""


# -- what others save --------------------------------------------------------------------------------

ONE_ACTUAL = (
    "reference,date,unit_code,activity_code,objective_code,category,amount,funding_source_code\n"
    "ELSEWHERE-1,2006-08-30,GS-SPM,GS-SPM-002,,other,1000000.00,RB-MS\n"
)


def _someone_else_adds_an_actual(url: str, folder: Any) -> None:
    from itu_plan.bundle import import_bundle

    path = folder / "actuals.csv"
    path.write_text(ONE_ACTUAL)
    with Workspace.open(url, user="admin") as ws:
        import_bundle(ws, path)


def test_the_figures_redraw_when_someone_else_saves(demo_url: str, tmp_path: Any) -> None:
    app = widgets.App.open(demo_url, user="manager.bdt")
    cards = widgets.KpiCards(app, widgets.FilterBar(app), ["actual"])
    before = Decimal(cards.values["actual"])
    assert app.poll() is False  # nothing new
    _someone_else_adds_an_actual(demo_url, tmp_path)
    assert app.poll() is True
    assert Decimal(cards.values["actual"]) == before + 1_000_000
    assert app.poll() is False  # seen
    app.changed()  # what the app itself saves is not news either
    assert app.poll() is False


def test_an_open_app_looks_for_changes_on_the_kernel_event_loop(demo_url: str, tmp_path: Any) -> None:
    """In a kernel (here: a running event loop) the app looks by itself: on SQLite every
    few seconds (here 0.05), on PostgreSQL within a second of the save, told by the
    database (the interval, 60 s, is not what brings the change)."""
    postgresql = demo_url.startswith("postgresql")

    async def notebook() -> tuple[Decimal, Decimal, float]:
        app = widgets.App.open(demo_url, user="manager.bdt")
        app.watch(60 if postgresql else 0.05)
        cards = widgets.KpiCards(app, widgets.FilterBar(app), ["actual"])
        before = Decimal(cards.values["actual"])
        await asyncio.sleep(0.3)  # the watcher has connected
        start = time.monotonic()
        _someone_else_adds_an_actual(demo_url, tmp_path)
        saved = time.monotonic()
        while Decimal(cards.values["actual"]) == before and time.monotonic() < start + 10:
            await asyncio.sleep(0.01)
        print(f"import {saved - start:.3f} s, then the cards redrawn {time.monotonic() - saved:.3f} s later")
        app.unwatch()
        return before, Decimal(cards.values["actual"]), time.monotonic() - saved

    before, after, seconds = asyncio.run(notebook())
    assert after == before + 1_000_000
    if postgresql:
        assert seconds < 1.0


def test_an_open_app_says_so_while_postgresql_is_away_and_catches_up(tmp_path: Any) -> None:
    """PostgreSQL stops under an open app: the header says the figures may be out of date,
    nothing raises; when it is back the app listens again, reads what it missed and
    takes the next save within a second."""
    server = PostgresServer()
    try:
        server.start()
    except (subprocess.CalledProcessError, OSError) as exc:
        pytest.skip(f"could not start PostgreSQL: {exc}")
    try:
        url = server.new_database()
        with Workspace.open(url, user="tester", create=True) as ws:
            ws.init()
        _save(url, "tester")  # the first user, an admin

        async def notebook() -> None:
            app = widgets.App.open(url, user="tester")
            app.watch(0.2)
            header = widgets.AppHeader(app, "Live")
            revision = app.revision
            await asyncio.sleep(0.3)

            async def until(condition: Any, what: str, seconds: float = 15) -> float:
                start = time.monotonic()
                while not condition():
                    assert time.monotonic() < start + seconds, what
                    await asyncio.sleep(0.02)
                return time.monotonic() - start

            server.halt()
            await until(lambda: app.unreachable == UNREACHABLE, "the app says the database is away")
            assert "cannot be reached" in header.status.value and header.banner.message == ""
            server.resume()
            _save(url, "while.away")  # what the app missed while it could not listen
            await until(lambda: app.unreachable == "" and app.revision > revision, "the app catches up")
            assert header.status.value == ""
            revision = app.revision
            await asyncio.sleep(0.3)
            _save(url, "back.again")
            assert await until(lambda: app.revision > revision, "the next save arrives") < 1.0
            app.unwatch()

        asyncio.run(notebook())
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            server.stop()


def _save(url: str, name: str) -> None:
    with Workspace.open(url, user="tester") as ws, ws.transaction() as session:
        users.add_user(session, access.actor(session, "tester"), name, "admin" if name == "tester" else "reviewer")


# -- periods, dates and names ---------------------------------------------------------------------------


def _cells(table_html: str) -> tuple[list[str], list[list[str]]]:
    """(headers, rows of cell texts) of the first table in ``table_html``."""
    headers = [html.unescape(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", table_html)]
    body = table_html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = [[html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)] for row in body.split("<tr>")[1:]]
    return headers, rows


def test_the_header_names_the_version_with_its_period_and_the_as_of_date(app: widgets.App) -> None:
    bar = widgets.FilterBar(app)
    header = widgets.AppHeader(app, filters=bar)
    assert "Plan version 2006-2007 approved (2006-2007) · Execution data as of 2007-06-30" in header.html.value
    assert "2006-2007 approved (2006-2007)" in header.static_html() and "Acting as" not in header.static_html()
    bar.version = "2004-2005 approved"  # the header follows the choice
    assert "Plan version 2004-2005 approved (2004-2005)" in header.html.value
    labels = dict((name, label) for label, name in bar.selects["version"].options)
    assert labels["2006-2007 approved"] == "2006-2007 approved (2006-2007)"
    assert labels["2006-2007 proposed"] == "2006-2007 proposed (2006-2007, superseded)"
    assert "Plan version: <b>2004-2005 approved (2004-2005)</b>" in bar.static_html()
    unversioned = widgets.AppHeader(app, filters=widgets.FilterBar(app, fields=["year"]))  # cost recovery, HR
    assert "Plan version" not in unversioned.static_html() and "as of 2007-06-30" in unversioned.static_html()


def test_the_share_of_time_elapsed_stands_beside_every_execution_rate(app: widgets.App) -> None:
    bar = widgets.FilterBar(app)
    cards = widgets.KpiCards(app, bar, ["execution_rate"])
    note = widgets.ElapsedShare(app, bar)
    assert note.elapsed == "0.7479"  # 546 of the 730 days of 2006-2007 had passed at the end of 2007-06-30
    assert note.execution_rate == cards.values["execution_rate"] != ""
    assert "with <b>74.8 %</b> of 2006-2007 elapsed at 2007-06-30" in note.text.value
    table = widgets.ReportTable(app, bar, "budget-vs-actual")
    headers, rows = _cells(table.body.value)
    at = headers.index("Year elapsed at 2007-06-30")
    assert headers[at - 1] == "Execution"
    assert {(r[0], r[at]) for r in rows} == {("2006", "100.0 %"), ("2007", "49.6 %")}
    assert "year_elapsed" not in table.table().columns  # shown, not exported: the report's columns
    bar.year = 2007  # one year: the share of that year
    assert note.elapsed == "0.4959" and "with <b>49.6 %</b> of 2007 elapsed at 2007-06-30" in note.text.value
    assert {r[at] for r in _cells(table.body.value)[1]} == {"49.6 %"}
    assert note.banner.message == table.banner.message == ""
    # the execution-rate card says it too (the Council report and the home page show only the card)
    assert 'data-elapsed="0.4959"' in cards.cards.value
    assert "49.6 % of 2007 elapsed at 2007-06-30" in cards.cards.value
    bar.year = None
    assert 'data-elapsed="0.7479"' in cards.cards.value
    assert "74.8 % of 2006-2007 elapsed at 2007-06-30" in cards.cards.value


def test_units_and_objectives_are_named_beside_their_codes(app: widgets.App) -> None:
    cat = app.catalog
    bar = widgets.FilterBar(app, unit="BDT-AFR")
    table = widgets.ReportTable(app, bar, "budget-vs-actual")
    headers, rows = _cells(table.body.value)
    unit, objective = headers.index("Unit"), headers.index("Objective")
    assert rows and {r[unit] for r in rows} == {f"BDT-AFR — {cat.unit('BDT-AFR').name}"}
    for row in rows:
        code, name = row[objective].split(" — ", 1)
        assert name == cat.objective(code).name
    grid = widgets.PlanGrid(app, widgets.FilterBar(app, unit="BDT-AFR", year=2006, prefer_draft=True))
    line = next(iter(grid._rows.values()))
    grid.selected = line.line  # the drill-down of a cost line
    assert f"BDT-AFR — {cat.unit('BDT-AFR').name}" in html.unescape(grid.editor_status.value)
    assert f"{line.objective} — {cat.objective(line.objective).name}" in html.unescape(grid.editor_status.value)
    assert f"<td>BDT-AFR — {html.escape(cat.unit('BDT-AFR').name)}</td>" in grid.static_html()


def test_a_year_outside_the_versions_period_is_explained_not_shown_as_zeros(app: widgets.App) -> None:
    bar = widgets.FilterBar(app, year=2004)  # the default version is 2006-2007 approved
    table = widgets.ReportTable(app, bar, "budget-vs-actual")
    note = widgets.ElapsedShare(app, bar)
    said = "2004 is outside the period of 2006-2007 approved (2006-2007)"
    assert bar.out_of_period() is not None and bar.out_of_period().startswith(said)  # type: ignore[union-attr]
    assert "2004-2005 approved (2004-2005) covers 2004" in bar.out_of_period()  # type: ignore[operator]
    assert said in html.unescape(bar.notice.value) and said in html.unescape(bar.static_html())
    assert table.rows == 0 and said in html.unescape(table.body.value) and "Nothing to show" not in table.body.value
    assert note.elapsed == "" and said in html.unescape(note.text.value)
    bar.version = "2004-2005 approved"  # a version of 2004: its figures, and nothing to explain
    assert bar.out_of_period() is None and bar.notice.value == "" and table.rows > 0
    assert note.elapsed == "1.0000"
    bar.year = 2007
    assert "2007 is outside the period of 2004-2005 approved (2004-2005)" in html.unescape(bar.notice.value)
    assert widgets.FilterBar(app, year=2004, fields=["year"]).out_of_period() is None  # no version chosen there


def test_staff_recruitments_and_agreements_say_the_date_they_are_counted_at(app: widgets.App) -> None:
    bar = widgets.FilterBar(app, fields=["year", "unit"])
    assert app.as_of.isoformat() == "2007-06-30"
    representation = widgets.ReportTable(app, bar, "representation")
    assert "In service on 2007-06-30" in _cells(representation.body.value)[0]
    assert "Staff at grade P-1 and above in service on 2007-06-30." in representation.note.value
    recruitment = widgets.ReportTable(app, bar, "recruitment")
    assert "completed (entry on duty) on or before 2007-06-30" in recruitment.static_html()
    agreements = widgets.ReportTable(app, widgets.FilterBar(app, fields=[]), "agreements")
    assert "Agreements signed on or before 2007-06-30, and those not yet signed." in agreements.static_html()
    assert app.report("representation") is app.report("representation", as_of=app.as_of)  # one date for all


def _cards(cards: widgets.KpiCards) -> dict[str, tuple[str, str]]:
    """figure -> (label, note) of each headline card."""
    found = re.findall(
        r'data-figure="([^"]+)".*?<div class="itu-kpi-label">([^<]*)</div>.*?<div class="itu-kpi-note">([^<]*)</div>',
        cards.cards.value,
    )
    return {figure: (html.unescape(label), html.unescape(note)) for figure, label, note in found}


def test_actual_cards_say_they_run_to_the_as_of_date_and_how_much_of_the_period_has_passed(app: widgets.App) -> None:
    from tests.widgets_support import headline_figures, recompute

    bar = widgets.FilterBar(app, fields=["version", "year"])  # the Council report's bar
    actuals = ["actual", "income_received", "expenditure_actual", "balance_actual", "assessed_received"]
    cards = widgets.KpiCards(app, bar, ["balance", *actuals])
    shown = _cards(cards)
    assert shown["balance"][0] == "Planned balance" and "elapsed" not in shown["balance"][1]
    assert shown["balance_actual"][0] == "Actual balance to 2007-06-30"
    for name in actuals:  # half of 2007 against the whole 2006-2007 plan: said on every actual card
        label, note = shown[name]
        assert label.endswith(" to 2007-06-30") and "74.8 % of 2006-2007 elapsed at 2007-06-30" in note, name
    figures = {f["figure"]: f for f in headline_figures(cards.cards.value)}
    assert {figures[name]["elapsed"] for name in actuals} == {"0.7479"} and "elapsed" not in figures["balance"]
    for figure in figures.values():  # still what `itu-plan report --format csv` gives
        assert recompute(str(app.workspace.url), figure, app.catalog) == figure["value"], figure
    bar.year = 2007
    assert "49.6 % of 2007 elapsed at 2007-06-30" in _cards(cards)["balance_actual"][1]
    bar.year = None
    bar.version = "2004-2005 approved"  # a period that has ended: its actuals are the full period's
    label, note = _cards(cards)["balance_actual"]
    assert label == "Actual balance" and "100.0 % of 2004-2005 elapsed at 2007-06-30" in note
    assert cards.banner.message == ""


def test_warnings_on_a_version_page_keep_to_its_period_and_agree_with_the_card(app: widgets.App) -> None:
    from tests.widgets_support import headline_figures, recompute

    bar = widgets.FilterBar(app, fields=["version", "year"])  # the Council report's bar
    high = widgets.WarningsList(app, bar, severities=["high"])
    everything = widgets.WarningsList(app, bar)
    card = widgets.KpiCards(app, bar, ["high_warnings", "warnings"])
    with Workspace.open(str(app.workspace.url), user="admin") as ws:
        reported = {w.year for w in ws.warnings(version="2006-2007 approved")}
    assert reported - {2006, 2007, None}  # the report itself names earlier years (the contract's behaviour)
    for version, years in (("2006-2007 approved", {2006, 2007}), ("2004-2005 approved", {2004, 2005})):
        bar.version = version
        shown = {w.year for w in everything.warnings()}
        assert shown <= years | {None} and shown & years, version
        assert None in shown  # a recruitment delay is about no year: it stays
        period = app.catalog.version(version).period
        assert f"about {period} (the period of {version}) or no year" in html.unescape(everything.summary.value)
        assert card.values["high_warnings"] == str(high.count)  # the home page's card and the Council page agree
        assert card.values["warnings"] == str(everything.count)
        for figure in headline_figures(card.cards.value):
            assert figure["period"] == period
            assert recompute(str(app.workspace.url), figure, app.catalog) == figure["value"], figure
    # a page with no version to choose (cost recovery) lists every year's
    unversioned = widgets.WarningsList(app, widgets.FilterBar(app, fields=["year"]))
    assert {w.year for w in unversioned.warnings()} == reported
    assert "about any year" in unversioned.summary.value
    assert high.banner.message == everything.banner.message == card.banner.message == ""


def test_warnings_name_the_unit_objective_product_and_kpi_beside_their_codes(app: widgets.App) -> None:
    cat = app.catalog
    view = widgets.WarningsList(app, widgets.FilterBar(app, fields=["year"]))
    shown = view.warnings()
    body = html.unescape(view.body.value)
    options = [label for label, _value in view.drill_select.options]
    said = 0
    for warning in shown:
        for column in ("unit_code", "objective_code", "product_code", "kpi_code"):
            code = warning.parts.get(column)
            if code is None:
                continue
            name = cat.name_of(column, str(code))
            assert name, (column, code)  # the catalog knows every unit, objective, product and KPI
            assert f"{code} — {name}" in body
            assert any(f"{warning.subject} · " in o and f"{code} — {name}" in o for o in options)
            said += 1
    rules = {w.rule for w in shown}
    assert said and {"OVERSPEND", "KPI_OFF_TRACK", "COST_RECOVERY_DEFICIT"} <= rules


def test_hr_cards_say_the_date_they_count_at(app: widgets.App) -> None:
    bar = widgets.FilterBar(app, fields=["year", "unit"])  # the human resources page's bar
    cards = _cards(widgets.KpiCards(app, bar, ["recruitments", "recruitment_delays", "women_share"]))
    assert "open at 2007-06-30" in cards["recruitment_delays"][1]
    assert "in service on 2007-06-30" in cards["women_share"][1]
    assert "on or before 2007-06-30" in cards["recruitments"][1]


def test_an_approved_version_is_described_as_approved_not_as_pending(app: widgets.App) -> None:
    bar = widgets.FilterBar(app)
    panel = widgets.ApprovalPanel(app, bar)  # manager.bdt, who may approve within a delegation
    for version in ("2006-2007 approved", "2004-2005 approved"):
        bar.version = version
        text = html.unescape(re.sub(r"<[^>]+>", "", panel.facts.value))
        assert panel.status == "approved" and f"{version} is approved" in text
        assert "no decision is pending" in text
        assert "needs an admin" not in text and "you may approve" not in text, text
        assert panel.approve.disabled and panel.submit.disabled
    bar.version = "2006-2007 draft"  # a draft: what approving it would take is still said
    text = html.unescape(re.sub(r"<[^>]+>", "", panel.facts.value))
    assert "is a draft" in text and "you may approve" in text
    assert panel.banner.message == ""


# -- what each chart shows, and the names of its codes -----------------------------------------------

#: What the subtitle of each chart must name on the demo: the version (plan data), the
#: as-of date (execution data), the years summed.
SAID = {
    "budget-vs-actual": (
        "Budget of version 2006-2007 approved (2006-2007)",
        "actual expenditure 2006–2007 to 2007-06-30",
    ),
    "cost-by-objective": ("Cost lines of version 2006-2007 approved (2006-2007)",),
    "income-by-source": ("Plan of version 2006-2007 approved (2006-2007)", "2006–2007 to 2007-06-30 (2007 to 30 June)"),
    "income-plan-actual": ("Plan of version 2006-2007 approved (2006-2007)", "received 2006–2007 to 2007-06-30"),
    "recruitment-days": ("to 2007-06-30", "all years together"),
    "representation": ("in service on 2007-06-30",),
    "cost-recovery": ("summed over 2004–2007 to 2007-06-30",),
    "contributions-by-region": ("version 2006-2007 approved (2006-2007)",),
}
MONEY_CHARTS = {"budget-vs-actual": "y", "cost-by-objective": "x", "income-by-source": "y",
                "income-plan-actual": "y", "cost-recovery": "y", "contributions-by-region": "y"}  # fmt: skip


@pytest.mark.parametrize("chart", sorted(charts.CHARTS))
def test_every_chart_says_its_version_period_and_as_of_live_and_static(app: widgets.App, chart: str) -> None:
    from itu_plan import catalog
    from widgets import svg_chart

    assert set(SAID) == set(charts.CHARTS)
    bar = widgets.FilterBar(app)
    source = (lambda: catalog.contributions(app.workspace, bar.version)) if not charts.CHARTS[chart].report else None
    view = widgets.ReportChart(app, bar, chart, source=source)
    said = svg_chart.subtitle(view.figure)
    for words in SAID[chart]:
        assert words in said, (chart, said)
    assert f'<div class="itu-note itu-svgc-sub">{html.escape(said)}</div>' in view.view.value  # live
    static = view.static_html()  # static: plotly draws the same figure, subtitle and all
    assert json.dumps(said) in static or json.dumps(said, ensure_ascii=False) in static
    if chart in MONEY_CHARTS:
        axis = MONEY_CHARTS[chart]
        assert getattr(view.figure.layout, f"{axis}axis").title.text == "CHF"
        assert ">CHF</" in view.view.value  # the axis title, drawn live
    bar.year = 2006  # one year of the period: the chart says so
    said = svg_chart.subtitle(view.figure)
    if chart in ("budget-vs-actual", "cost-by-objective"):
        assert "2006-2007), 2006" in said and "2006–2007" not in said


def test_the_part_year_to_as_of_is_drawn_as_a_part_year(app: widgets.App) -> None:
    bar = widgets.FilterBar(app)
    view = widgets.ReportChart(app, bar, "income-by-source")
    by_name = {t.name: t for t in view.figure.data}
    full, part = by_name["Actual expenditure"], by_name["Actual expenditure, 2007 to 30 June (part year)"]
    assert list(full.x) == ["2006"] and list(part.x) == ["2006", "2007"]  # the segment into 2007 is its own
    assert part.line.dash == "dot" and full.line.dash in (None, "solid")
    assert "Income received, 2007 to 30 June (part year)" in by_name
    live = html.unescape(view.view.value)
    assert 'stroke-dasharray="2 4"' in live and "Actual expenditure, 2007 to 30 June (part year)" in live
    assert "Actual expenditure 2007 to 30 June (part year): CHF" in live  # the point's hover text
    static = view.static_html()
    assert "2007 to 30 June (part year)" in static and '"dash":"dot"' in static.replace(" ", "")
    bar.year = 2006  # a full year: nothing partial to say
    assert not any("part year" in (t.name or "") for t in view.figure.data)
    assert "(2007 to 30 June)" not in view.figure.layout.title.subtitle.text


def test_chart_codes_are_named_in_the_hover_text_and_a_key(app: widgets.App) -> None:
    cat = app.catalog
    bar = widgets.FilterBar(app)
    chart = widgets.ReportChart(app, bar, "budget-vs-actual")
    unit = cat.unit("BR-SSD").name
    assert ["BR-SSD", unit] in chart.figure.layout.meta["key"]
    live = html.unescape(chart.view.value)
    assert "Units: " in live and f"BR-SSD {unit}" in re.sub(r"</?b>", "", live)
    assert f"BR-SSD\n{unit}\nBudget: CHF" in live  # the bar's hover text
    assert f"<b>BR-SSD</b> {html.escape(unit)}" in chart.static_html()  # the same key under the plotly chart
    objectives = widgets.ReportChart(app, bar, "cost-by-objective")
    code = objectives.figure.data[0].y[0]
    assert [code, cat.objective(code).name] in objectives.figure.layout.meta["key"]
    products = widgets.ReportChart(app, widgets.FilterBar(app, fields=["year"]), "cost-recovery")
    code = products.figure.data[0].x[0]
    name = cat.name_of("product_code", code)
    assert name and [code, name] in products.figure.layout.meta["key"]
    assert f"{code}\n{name}\nIncome: CHF" in html.unescape(products.view.value)


def test_product_and_region_tables_name_their_codes(app: widgets.App) -> None:
    cat = app.catalog
    bar = widgets.FilterBar(app, fields=["year"])
    statement = widgets.ReportTable(app, bar, "cost-recovery")
    headers, rows = _cells(statement.body.value)
    product = headers.index("Product")
    for row in rows:
        code, name = row[product].split(" — ", 1)
        assert name == cat.name_of("product_code", code) and name
    assert list(statement.table()["product_code"]) == [r[product].split(" — ")[0] for r in rows]  # export: codes
    representation = widgets.ReportTable(app, widgets.FilterBar(app, fields=["year", "unit"]), "representation")
    headers, rows = _cells(representation.body.value)
    regions = [r[1] for r in rows if r[0] == "region"]
    assert "A — Americas" in regions and "C — Eastern Europe and Northern Asia" in regions
    assert all(" — " in r for r in regions) and {r[1] for r in rows if r[0] == "gender"} <= {"F", "M", "X"}
    assert set(representation.table()["category"]) >= {"A", "B", "C", "D", "E"}  # export: codes


def test_the_total_row_has_the_rate_of_the_totals_and_the_share_elapsed(app: widgets.App) -> None:
    from itu_plan.money import ratio

    bar = widgets.FilterBar(app)
    table = widgets.ReportTable(app, bar, "budget-vs-actual", totals=["budget", "actual", "variance"])

    def total_row() -> dict[str, str]:
        headers = [html.unescape(h) for h in re.findall(r"<th(?:\s[^>]*)?>(.*?)</th>", table.body.value)]
        foot = table.body.value.split("<tfoot>", 1)[1]
        return dict(zip(headers, [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", foot)], strict=True))

    def rate(frame: Any) -> str:
        value = ratio(int(_sum(frame, "actual") * 100), int(_sum(frame, "budget") * 100))
        return fmt.percent(value)

    row = total_row()
    assert row["Year"] == "Total" and row["Execution"] == rate(table.table()) != ""
    assert row["Year elapsed at 2007-06-30"] == "74.8 %"  # of 2006-2007
    bar.year = 2007
    row = total_row()
    assert row["Execution"] == rate(table.table()) and row["Year elapsed at 2007-06-30"] == "49.6 %"
    bar.unit = "BDT"
    assert total_row()["Execution"] == rate(table.table())
    recovery = widgets.ReportTable(app, widgets.FilterBar(app, fields=["year"]), "cost-recovery", totals=["income"])
    frame = recovery.table()
    expected = ratio(int(_sum(frame, "income") * 100), int(_sum(frame, "full_cost") * 100))
    foot = recovery.body.value.split("<tfoot>", 1)[1]
    assert f'<td class="itu-num">{fmt.percent(expected)}</td></tr></tfoot>' in foot
