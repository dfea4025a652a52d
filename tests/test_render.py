"""`itu-plan render`: a self-contained, offline, reproducible static site."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from itu_plan import Workspace
from itu_plan.cli import main
from itu_plan.render import TIMESTAMP_MARK, notebook_names, render_site

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = REPO / "notebooks"


@pytest.fixture(scope="module")
def site(demo_sqlite: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    result = render_site(f"sqlite:///{demo_sqlite}", folder, user="auditor", progress=False)
    assert not result.failures, result.failures
    return folder


def pages(site: Path) -> list[Path]:
    return sorted(site.glob("*.html"))


def test_every_notebook_has_a_page(site: Path) -> None:
    names = {p.stem for p in pages(site)}
    assert names == set(notebook_names(NOTEBOOKS))
    assert (site / "plotly.min.js").stat().st_size > 1_000_000
    assert (site / "site.css").exists()


def test_front_page_says_what_and_when(site: Path, demo_sqlite: str) -> None:
    front = (site / "index.html").read_text()
    with Workspace.open(f"sqlite:///{demo_sqlite}") as ws:
        checksum = ws.checksum()
        trail = ws.verify_audit()
    assert checksum in front
    # the audit trail's head, published: an anchor that a rewritten history no longer reaches
    assert (
        f'the newest, event {trail.newest}, has hash <code class="itu-audit-head">{trail.newest_hash}</code>' in front
    )
    assert "2006-2007 approved" in front and "2007-06-30" in front and "by auditor" in front
    assert 'href="data/datapackage.json"' in front
    for name in notebook_names(NOTEBOOKS):
        if name != "index":
            assert f'href="{name}.html"' in front
    statement = html.unescape(re.search(r'<dd class="itu-statement">(.*?)</dd>', front).group(1))  # type: ignore[union-attr]
    assert "plan version 2006-2007 approved, for its period 2006-2007" in statement
    listed = statement.partition(" not tied to the version")[0].rsplit(". ", 1)[-1]  # "Cost recovery, ... are"
    for title in ("Cost recovery", "Human resources", "Agreements"):  # reports of every year to as-of
        assert title in listed, statement
    for title in ("Report to the Council", "Financial plan", "Budget monitoring", "Funding"):  # reports of the version
        assert title not in listed, statement


def test_front_page_states_the_version_its_period_and_the_as_of_date(demo_sqlite: str, tmp_path: Path) -> None:
    folder = tmp_path / "notebooks"  # one small page: the front matter is what is looked at
    folder.mkdir()
    about = nbformat.v4.new_notebook()
    about.cells = [
        nbformat.v4.new_markdown_cell("# About"),
        nbformat.v4.new_code_cell("db_url = None", metadata={"tags": ["parameters"]}),
    ]
    nbformat.write(about, folder / "about.ipynb")
    result = render_site(f"sqlite:///{demo_sqlite}", tmp_path / "site", user="auditor", version="2004-2005 approved",
                         notebooks=folder, progress=False)  # fmt: skip
    assert not result.failures, result.failures
    front = (tmp_path / "site" / "index.html").read_text()
    assert '<dt>Plan version</dt><dd class="itu-version">2004-2005 approved</dd>' in front
    assert '<dt>Period</dt><dd class="itu-period">2004-2005 (2 years)</dd>' in front
    assert '<dt>Data as of</dt><dd class="itu-as-of">2007-06-30</dd>' in front
    statement = html.unescape(re.search(r'<dd class="itu-statement">(.*?)</dd>', front).group(1))  # type: ignore[union-attr]
    assert (
        "Plan figures (budgets, cost lines, the financial plan's plan column) are those of plan version "
        "2004-2005 approved, for its period 2004-2005; execution data"
    ) in statement
    assert "are as they stood at the end of 2007-06-30: nothing dated later is counted." in statement
    assert "Cost recovery, Human resources, Agreements are not tied to the version" in statement
    assert "Every page reads plan version" not in front


def test_pages_reference_nothing_online(site: Path) -> None:
    for path in pages(site):
        text = path.read_text()
        assert not re.search(r'(?:src|href)\s*=\s*["\'](?:https?:)?//', text), path.name
        assert "cdn." not in text and "unpkg.com" not in text and "require.js" not in text, path.name
        assert "application/vnd.jupyter.widget" not in text, path.name


def test_public_data_package_has_no_personal_data(site: Path) -> None:
    data = site / "data"
    assert not (data / "staff.csv").exists() and not (data / "users.csv").exists()
    package = json.loads((data / "datapackage.json").read_text())
    paths = {r["path"] for r in package["resources"]}
    assert "staff.csv" not in paths and "users.csv" not in paths
    assert {"actuals.csv", "budget.csv", "representation.csv", "recruitment.csv"} <= paths
    assert all((data / p).exists() for p in paths)


def test_two_renders_differ_only_in_the_timestamp(demo_sqlite: str, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    render_site(f"sqlite:///{demo_sqlite}", first, user="auditor", progress=False,
                now=lambda: dt.datetime(2007, 7, 1, 9, 0, tzinfo=dt.UTC))  # fmt: skip
    render_site(f"sqlite:///{demo_sqlite}", second, user="auditor", progress=False,
                now=lambda: dt.datetime(2007, 7, 2, 17, 30, tzinfo=dt.UTC))  # fmt: skip
    stamp = re.compile(rf'<span class="{TIMESTAMP_MARK}">[^<]*</span>')
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    differing = []
    for relative in files:
        a, b = (first / relative).read_bytes(), (second / relative).read_bytes()
        if a == b:
            continue
        assert relative.suffix == ".html", relative
        assert stamp.sub("", a.decode()) == stamp.sub("", b.decode()), relative
        differing.append(relative)
    assert differing, "the timestamp should appear on the pages"


def test_a_failing_notebook_is_reported_and_the_rest_written(
    demo_sqlite: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, folder)
    broken = nbformat.v4.new_notebook()
    broken.cells = [
        nbformat.v4.new_markdown_cell("# Broken report"),
        nbformat.v4.new_code_cell("db_url = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("raise RuntimeError('the ledger is missing')"),
    ]
    nbformat.write(broken, folder / "broken.ipynb")
    out = tmp_path / "site"
    code = main(["--db", f"sqlite:///{demo_sqlite}", "--user", "admin", "render", str(out),
                 "--notebooks", str(folder), "--quiet"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert "broken: cell 3 raised RuntimeError: the ledger is missing" in err
    assert "Traceback" not in err
    assert (out / "index.html").exists() and (out / "broken.html").exists()
    assert "could not be produced" in (out / "broken.html").read_text()
    assert all((out / f"{name}.html").exists() for name in notebook_names(NOTEBOOKS) if name != "index")


def test_pages_work_offline_in_chromium(site: Path, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context()
    blocked: list[str] = []

    def guard(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    for path in pages(site):
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        assert errors == [], (path.name, errors)
        charts = page.locator(".js-plotly-plot")
        for i in range(charts.count()):
            assert charts.nth(i).locator("svg.main-svg").count() > 0, (path.name, i)
        tables = page.locator("main table")
        for i in range(tables.count()):
            assert tables.nth(i).locator("tbody tr, tr").count() > 1, (path.name, i)
        assert "Traceback" not in page.inner_text("body"), path.name
        page.close()
    assert blocked == []
    context.close()


def test_headline_figures_on_the_pages_equal_the_report_command(site: Path, demo_sqlite: str) -> None:
    import widgets
    from tests.widgets_support import headline_figures, recompute

    url = f"sqlite:///{demo_sqlite}"
    catalog = widgets.App.open(url, user="auditor").catalog
    checked = 0
    for path in pages(site):
        for figure in headline_figures(path.read_text()):
            assert recompute(url, figure, catalog) == figure["value"], (path.name, figure)
            checked += 1
    assert checked >= 10
