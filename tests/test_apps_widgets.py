"""The apps in a real browser: `itu-plan serve` of a private copy of the demo workspace,
opened in headless Chromium.

Every app, and the list of apps, loads with no page error, no traceback, no error banner
and no request leaving the server (button icons still draw), and draws its charts; a
filter change redraws a chart; a planner's edit reaches the database and the
audit trail; a second planner's stale edit gets the conflict message; a reviewer sees
no editing control, and a widget message forged from the reviewer's page is refused
and audited. First-render times (navigation until the page and its charts are drawn)
are kept in the pytest cache: ``pytest --cache-show 'itu_plan/*'``.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import nbformat
import pytest

from itu_plan import Workspace, editing
from itu_plan.bundle import import_bundle
from itu_plan.editing import CostLineKey
from tests.widgets_support import demo_url, events, pg_demo_template, served  # noqa: F401

pytestmark = pytest.mark.browser

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
#: app -> how many charts it draws
APPS = {
    "index": 0, "operational_plan": 1, "financial_plan": 2, "budget_monitoring": 1, "cost_recovery": 1,
    "funding": 2, "human_resources": 2, "council_report": 2, "agreements": 0,
}  # fmt: skip
LINE = "BDT-AFR-001/2006/contractual//RB-MS"
KEY = CostLineKey("2006-2007 draft", "BDT-AFR-001", 2006, "contractual", None, "RB-MS")


def copy_of(demo_sqlite: str, folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(demo_sqlite, folder / "demo.db")
    return f"sqlite:///{folder / 'demo.db'}"


@pytest.fixture(scope="module")
def apps_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The notebooks, and a bare one-button notebook to compare first-render times with."""
    folder = tmp_path_factory.mktemp("notebooks")
    for path in NOTEBOOKS.glob("*.ipynb"):
        shutil.copyfile(path, folder / path.name)
    bare = nbformat.v4.new_notebook()
    bare.cells = [nbformat.v4.new_code_cell("import ipywidgets\nipywidgets.Button(description='Go')")]
    bare.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(bare, folder / "bare.ipynb")
    return folder


@pytest.fixture(scope="module")
def reviewer_site(
    demo_sqlite: str, apps_folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """(base URL, workspace URL): the apps of a demo copy served as the reviewer."""
    folder = tmp_path_factory.mktemp("reviewer")
    url = copy_of(demo_sqlite, folder)
    # eleven apps opened one after the other: room for kernels still shutting down
    extra = ("--notebooks", str(apps_folder), "--preheat", "0", "--max-kernels", "16")
    with served(url, "reviewer", folder / "serve.log", *extra) as base:
        yield base, url


@pytest.fixture(scope="module")
def planner_site(demo_sqlite: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("planner")
    url = copy_of(demo_sqlite, folder)
    with served(url, "planner.bdt", folder / "serve.log", "--preheat", "0") as base:
        yield base, url


#: how many charts on the page have drawn marks (bars, points, pie slices) that can be seen (the kernel
#: draws them as SVG, widgets.svg_chart: no plotly.js in the apps)
DRAWN = """() => [...document.querySelectorAll('.itu-svgc')]
  .filter(c => [...c.querySelectorAll('.itu-mark')].some(m => m.getBoundingClientRect().width > 0)).length"""


def remember(request: pytest.FixtureRequest, key: str, value: Any) -> None:
    """Keep a measurement in the pytest cache (``pytest --cache-show 'itu_plan/*'``), if there is one."""
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        cache.set(f"itu_plan/{key}", value)


class Visit:
    """A page with its page errors and the requests that tried to leave the server."""

    def __init__(self, browser: Any, base: str) -> None:
        self.page = browser.new_page(viewport={"width": 1280, "height": 1000})
        self.errors: list[str] = []
        self.external: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

        def route(request_route: Any) -> None:
            url = request_route.request.url
            if url.startswith(base) or url.startswith("data:"):
                request_route.continue_()
            else:
                self.external.append(url)
                request_route.abort()

        self.page.route("**/*", route)

    def open(self, url: str, charts: int = 0, ready: str = ".itu-app") -> float:
        """Navigate; wait until the page is rendered (``ready`` is visible) and ``charts``
        charts are drawn. Returns the seconds it took."""
        start = time.monotonic()
        self.page.goto(url, wait_until="commit", timeout=120_000)
        self.page.wait_for_selector("#rendered_cells", state="visible", timeout=120_000)
        self.page.wait_for_selector(ready, timeout=60_000)
        self.page.wait_for_function(f"() => ({DRAWN})() >= {charts}", timeout=60_000)
        return time.monotonic() - start

    def body(self) -> str:
        return str(self.page.inner_text("body"))

    def banners(self) -> list[str]:
        return [t for t in self.page.locator(".itu-banner-text").all_inner_texts() if t.strip()]

    def close(self) -> None:
        """Close the tab as a person does: the page says goodbye and its kernel shuts down
        (a tab closed without it keeps its kernel until the cull, and counts against
        ``serve --max-kernels``)."""
        self.page.close(run_before_unload=True)

    def check_clean(self) -> None:
        body = self.body()
        assert self.errors == [], self.errors
        assert "Traceback" not in body and "There was an error" not in body
        assert "Error displaying widget" not in body, "every widget's model reached the page"
        assert self.banners() == []
        assert self.external == [], "every request stays on the server"


#: the FontAwesome faces the page has loaded (Voilà's bundle carries them; nothing comes from a CDN)
ICON_FONTS = """
async () => {
  await document.fonts.ready;
  return [...document.fonts].filter(f => f.family.includes('Font Awesome') && f.status === 'loaded')
    .map(f => f.family + ' ' + f.weight);
}
"""


# -- every app --------------------------------------------------------------------------------------


def test_the_list_of_apps_fetches_nothing_from_outside(reviewer_site: tuple[str, str], browser: Any) -> None:
    base, _url = reviewer_site
    visit = Visit(browser, base)
    visit.page.goto(base + "/", timeout=60_000)
    visit.page.wait_for_selector("text=index.ipynb", timeout=30_000)
    visit.page.wait_for_load_state("networkidle")
    assert visit.external == [] and visit.errors == []
    visit.close()


def test_button_icons_are_drawn_with_the_bundled_fontawesome(reviewer_site: tuple[str, str], browser: Any) -> None:
    """The lab template linked FontAwesome from a CDN; the apps' template does not, and the
    icons still draw: the icon font comes from Voilà's own bundle."""
    base, _url = reviewer_site
    visit = Visit(browser, base)
    visit.open(f"{base}/voila/render/agreements.ipynb")
    icon = visit.page.locator(".itu-export i.fa-download").first
    assert "Font Awesome" in icon.evaluate("i => getComputedStyle(i).fontFamily")
    assert "Font Awesome 5 Free 900" in visit.page.evaluate(ICON_FONTS)
    visit.check_clean()
    visit.close()


def test_every_app_loads_clean_and_draws_its_charts(reviewer_site: tuple[str, str], browser: Any,
                                                    request: pytest.FixtureRequest) -> None:  # fmt: skip
    base, _url = reviewer_site
    timings: dict[str, float] = {}
    warm = Visit(browser, base)
    warm.open(f"{base}/voila/render/bare.ipynb", ready=".widget-button")  # the browser caches the front end
    warm.close()
    for name in ("bare", *APPS):
        visit = Visit(browser, base)
        ready = ".widget-button" if name == "bare" else ".itu-app"
        timings[name] = round(visit.open(f"{base}/voila/render/{name}.ipynb", APPS.get(name, 0), ready), 2)
        if name != "bare":
            visit.check_clean()
            assert visit.page.evaluate(DRAWN) == APPS[name], name
            assert visit.page.locator(".itu-header").count() == 1
            assert "import widgets" not in visit.body(), "sources are stripped"
        visit.close()
    remember(request, "first_render_seconds", timings)
    print(json.dumps(timings))


def test_a_filter_change_redraws_the_chart(reviewer_site: tuple[str, str], browser: Any,
                                           request: pytest.FixtureRequest) -> None:  # fmt: skip
    base, _url = reviewer_site
    visit = Visit(browser, base)
    visit.open(f"{base}/voila/render/budget_monitoring.ipynb", 1)
    units = "() => JSON.parse(document.querySelector('.itu-report-chart svg.itu-svgc-plot').dataset.x)"
    assert "BR-SSD" in visit.page.evaluate(units)
    start = time.monotonic()
    unit = visit.page.locator(".itu-filter-bar select").nth(2)
    labels = [label.split() for label in unit.evaluate("select => [...select.options].map(o => o.text)")]
    unit.select_option(index=next(i for i, label in enumerate(labels) if label[:2] == ["BDT", "—"]))
    visit.page.wait_for_function(f"() => ({units})().every(u => u.startsWith('BDT'))", timeout=30_000)
    remember(request, "filter_change_seconds", round(time.monotonic() - start, 3))
    cards = visit.page.locator(".itu-kpi[data-figure='budget']").get_attribute("data-unit")
    assert cards == "BDT"
    visit.check_clean()
    visit.close()


def test_an_open_dashboard_redraws_when_someone_else_saves(demo_url: str, browser: Any, tmp_path: Path) -> None:
    """On SQLite the app looks every second (``--refresh 1``); on PostgreSQL the database
    tells it, within a second of the save (the interval, 60 s, plays no part)."""
    postgresql = demo_url.startswith("postgresql")
    actuals = tmp_path / "more" / "actuals.csv"
    actuals.parent.mkdir()
    actuals.write_text(
        "reference,date,unit_code,activity_code,objective_code,category,amount,funding_source_code\n"
        "ELSEWHERE-1,2006-08-30,GS-SPM,GS-SPM-002,,other,1000000.00,RB-MS\n"
    )
    refresh = "60" if postgresql else "1"
    with served(demo_url, "reviewer", tmp_path / "serve.log", "--preheat", "0", "--refresh", refresh) as base:
        visit = Visit(browser, base)
        visit.open(f"{base}/voila/render/budget_monitoring.ipynb", 1)
        actual = "() => document.querySelector(\".itu-kpi[data-figure='actual']\").dataset.value"
        before = Decimal(visit.page.evaluate(actual))
        time.sleep(1)  # the kernel's watcher has connected
        with Workspace.open(demo_url, user="admin") as ws:
            import_bundle(ws, actuals)
        saved = time.monotonic()
        visit.page.wait_for_function(f"() => ({actual})() !== '{before}'", timeout=30_000)
        seconds = time.monotonic() - saved
        print(f"the page showed the save {seconds:.3f} s after it was committed")
        assert Decimal(visit.page.evaluate(actual)) == before + 1_000_000
        if postgresql:
            assert seconds < 1.0
        visit.check_clean()
        visit.close()


def test_a_bad_query_parameter_is_explained_not_a_traceback(reviewer_site: tuple[str, str], browser: Any) -> None:
    base, _url = reviewer_site
    visit = Visit(browser, base)
    visit.open(f"{base}/voila/render/human_resources.ipynb?unit=XYZ&year=2006", 2)
    assert any("there is no unit 'XYZ'" in b for b in visit.banners())
    assert visit.page.locator(".itu-kpi[data-figure='recruitments']").get_attribute("data-year") == "2006"
    assert visit.errors == [] and "Traceback" not in visit.body()
    visit.close()


# -- security: the reviewer -------------------------------------------------------------------------


def test_a_reviewer_sees_no_editing_controls(reviewer_site: tuple[str, str], browser: Any) -> None:
    base, _url = reviewer_site
    visit = Visit(browser, base)
    visit.open(f"{base}/voila/render/operational_plan.ipynb?unit=BDT&year=2006", 1)
    assert "read only: reviewer is a reviewer" in visit.body()
    for control in (".itu-plan-grid-save", ".itu-plan-grid-amount", ".itu-comment-add", ".itu-approval-approve",
                    ".itu-approval-submit"):  # fmt: skip
        assert visit.page.locator(control).count() == 0, control
    visit.check_clean()
    visit.close()


#: A hand-made widget message, sent through the page's own widget manager: the data grid
#: "reports" an edited cell although the reviewer's grid is read only.
FORGE = """
async ({value}) => {
  const app = window.jupyterapp;
  const manager = app.widgetManager || await app.widgetManagerPromise;
  for (const id of Object.keys(manager._models)) {
    const model = await manager._models[id];
    if (model.get('_model_name') === 'DataGridModel') {
      model.send({event_type: 'cell-changed', region: 'body', row: 0, column_index: 4, value});
      return id;
    }
  }
  return null;
}
"""


def test_a_forged_widget_message_from_a_reviewer_is_refused_and_audited(reviewer_site: tuple[str, str],
                                                                        browser: Any) -> None:  # fmt: skip
    base, url = reviewer_site
    visit = Visit(browser, base)
    visit.open(f"{base}/voila/render/operational_plan.ipynb?unit=BDT-AFR&year=2006", 1)
    before = events(url, "cost_lines")
    assert visit.page.evaluate(FORGE, {"value": 1.0})
    visit.page.wait_for_function("() => document.body.innerText.includes('reviewer may not change cost line')")
    denied = [e for e in events(url, "cost_lines") if e not in before]
    assert [(user, action) for user, action, _key, _after in denied] == [("reviewer", "denied")]
    key = CostLineKey.parse(denied[0][2])
    assert key.activity == "BDT-AFR-001" and key.year == 2006  # the first row of the reviewer's grid
    with Workspace.open(url, user="admin") as ws, ws.reading() as session:
        assert editing.find_cost_line(session, key).amount_centimes != 100  # unchanged
    assert visit.errors == []
    visit.close()


# -- the planner: edits and conflicts ------------------------------------------------------------------


def _grid_ready(visit: Visit) -> None:
    """Wait until the plan grid's line editor is drawn (its cell runs after the chart's);
    if it never is, say what the page shows instead."""
    field = visit.page.locator(".itu-plan-grid-line input")
    try:
        field.wait_for(timeout=180_000)
    except Exception as exc:
        text = visit.body()
        pytest.fail(
            f"the plan grid never appeared ({exc.__class__.__name__}); errors {visit.errors}; page:\n{text[-3000:]}"
        )


def _select(visit: Visit, line: str) -> None:
    _grid_ready(visit)
    field = visit.page.locator(".itu-plan-grid-line input")
    field.fill(line)
    field.press("Enter")
    visit.page.wait_for_function(
        "() => document.querySelector('.itu-plan-grid-amount input').value !== ''", timeout=30_000
    )


def test_planners_edit_a_line_and_a_stale_edit_gets_the_conflict(planner_site: tuple[str, str], browser: Any) -> None:
    base, url = planner_site
    page_url = f"{base}/voila/render/operational_plan.ipynb?unit=BDT&year=2006"
    first, second = Visit(browser, base), Visit(browser, base)
    first.open(page_url, 1)
    _grid_ready(first)  # one page at a time: two kernels starting at once starve a busy machine
    second.open(page_url, 1)
    _select(first, LINE)
    _select(second, LINE)
    assert first.page.locator(".itu-plan-grid-amount input").input_value() == "35698.00"

    first.page.locator(".itu-plan-grid-amount input").fill("120000.50")
    first.page.locator(".itu-plan-grid-save").click()
    first.page.wait_for_function("() => document.body.innerText.includes('Saved " + LINE + "')", timeout=30_000)
    with Workspace.open(url, user="admin") as ws, ws.reading() as session:
        assert editing.find_cost_line(session, KEY).amount_centimes == 12000050
    (event,) = events(url, "cost_lines", str(KEY))
    assert event[:2] == ("planner.bdt", "update") and event[3]["amount"] == "120000.50"

    second.page.locator(".itu-plan-grid-amount input").fill("99.00")
    second.page.locator(".itu-plan-grid-save").click()
    second.page.wait_for_function("() => document.body.innerText.includes('was changed by planner.bdt at')",
                                  timeout=30_000)  # fmt: skip
    reload = second.page.locator(".itu-plan-grid .itu-banner-action")
    assert reload.inner_text().strip() == "Reload"
    reload.click()
    second.page.wait_for_function(
        "() => document.querySelector('.itu-plan-grid-amount input').value === '120000.50'", timeout=30_000
    )
    with Workspace.open(url, user="admin") as ws, ws.reading() as session:
        assert editing.find_cost_line(session, KEY).amount_centimes == 12000050  # nothing overwritten
    assert first.errors == [] and second.errors == []
    first.close()
    second.close()
