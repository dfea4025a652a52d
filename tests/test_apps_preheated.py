"""`itu-plan serve` as users run it, with a preheated kernel per app (the default), in
headless Chromium.

A preheated kernel computes its page before anyone asks for it (widgets.notebook_parameters):
the page then comes with every widget drawn, and follows the query string that the request
brings only later (the filters it names, or a word on one it does not know).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.widgets_support import served

pytestmark = pytest.mark.browser

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
#: every part of the budget monitoring page drawn and visible, as the first-render benchmark has it
DRAWN = """() => {
  const seen = (e) => e.checkVisibility() && e.getBoundingClientRect().width > 0;
  const all = (s) => [...document.querySelectorAll(s)];
  return all('.itu-filter-bar select').filter(seen).length === 4
    && all('.itu-kpi-cards .itu-kpi[data-figure]').filter(seen).length === 5
    && all('.itu-report-chart .itu-mark').some(seen)
    && all('.itu-warnings-list table, .itu-warnings-list p.itu-note').some(seen)
    && all('.itu-report-table tbody tr').some(seen);
}"""
CHART_UNITS = "() => JSON.parse(document.querySelector('.itu-report-chart svg.itu-svgc-plot').dataset.x)"


@pytest.fixture(scope="module")
def site(demo_sqlite: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Two apps of a demo copy served as the reviewer with the default preheating."""
    folder = tmp_path_factory.mktemp("preheated")
    global SERVE_LOG
    SERVE_LOG = folder / "serve.log"
    for name in ("index", "budget_monitoring"):
        shutil.copyfile(NOTEBOOKS / f"{name}.ipynb", folder / f"{name}.ipynb")
    shutil.copyfile(demo_sqlite, folder / "demo.db")
    with served(
        f"sqlite:///{folder / 'demo.db'}", "reviewer", folder / "serve.log", "--notebooks", str(folder)
    ) as base:
        yield base


SERVE_LOG: Path | None = None


def _open(browser: Any, url: str, ready: str = DRAWN) -> tuple[Any, list[str]]:
    """The page at ``url`` once ``ready`` holds. The first visit after the server starts
    may wait for the preheated kernels (two notebooks on two cores, beside the rest of a
    CI machine): it gets three minutes, and a page that never gets ready fails with what
    it shows and the end of the server's log."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url, wait_until="commit", timeout=180_000)
    try:
        page.wait_for_function(ready, timeout=180_000)
    except Exception as exc:
        shown = page.inner_text("body")[-2000:] if page.url else ""
        log = SERVE_LOG.read_text(errors="replace")[-4000:] if SERVE_LOG and SERVE_LOG.exists() else ""
        raise AssertionError(
            f"{url} not ready ({exc}); page shows:\n{shown}\nserve log:\n{log}\nerrors: {errors}"
        ) from exc
    return page, errors


def test_a_preheated_page_comes_with_every_widget_drawn(site: str, browser: Any) -> None:
    page, errors = _open(browser, f"{site}/voila/render/budget_monitoring.ipynb")
    body = page.inner_text("body")
    assert "Error displaying widget" not in body and "Traceback" not in body and errors == []
    assert "BR-SSD" in page.evaluate(CHART_UNITS)
    assert page.locator(".itu-kpi[data-figure='budget']").get_attribute("data-unit") == ""
    page.close(run_before_unload=True)


def test_a_preheated_page_follows_its_query_string(site: str, browser: Any) -> None:
    page, errors = _open(browser, f"{site}/voila/render/budget_monitoring.ipynb?unit=BDT&year=2006")
    budget = page.locator(".itu-kpi[data-figure='budget']")
    assert (budget.get_attribute("data-unit"), budget.get_attribute("data-year")) == ("BDT", "2006")
    assert all(unit.startswith("BDT") for unit in page.evaluate(CHART_UNITS))
    chosen = "() => [...document.querySelectorAll('.itu-filter-bar select')].map(s => s.options[s.selectedIndex].text)"
    version, year, unit, _objective = page.evaluate(chosen)
    assert year == "2006" and unit.split()[0] == "BDT", (version, year, unit)
    assert "Error displaying widget" not in page.inner_text("body") and errors == []
    page.close(run_before_unload=True)
    page, errors = _open(
        browser, f"{site}/voila/render/index.ipynb?unit=BDT", "() => !!document.querySelector('.itu-directory a')"
    )
    links = page.evaluate("() => [...document.querySelectorAll('.itu-directory a')].map(a => a.getAttribute('href'))")
    assert links and all(link.endswith(".ipynb?unit=BDT") for link in links), links
    page.close(run_before_unload=True)


def test_a_preheated_page_explains_an_unknown_filter(site: str, browser: Any) -> None:
    page, errors = _open(browser, f"{site}/voila/render/budget_monitoring.ipynb?unit=XYZ&year=2006")
    banners = [t for t in page.locator(".itu-banner-text").all_inner_texts() if t.strip()]
    assert any("there is no unit 'XYZ'" in b for b in banners), banners
    assert page.locator(".itu-kpi[data-figure='budget']").get_attribute("data-year") == "2006"
    assert errors == []
    page.close(run_before_unload=True)
