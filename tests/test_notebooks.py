"""Every notebook runs top to bottom on the demo workspace without error output: live
(widgets, as a planner would open it) on SQLite and PostgreSQL, and in static mode
(ITU_PLAN_STATIC=1, as `itu-plan render` runs it for reviewers) with only static
HTML outputs whose headline figures equal `itu-plan report`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from tests.widgets_support import demo_url, headline_figures, pg_demo_template, recompute  # noqa: F401

FOLDER = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))
APPS = ("index", "operational_plan", "financial_plan", "budget_monitoring", "cost_recovery", "funding",
        "human_resources", "council_report", "agreements")  # fmt: skip
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def execute(path: Path, monkeypatch: pytest.MonkeyPatch, url: str, user: str, *, static: bool) -> Any:
    monkeypatch.setenv("ITU_PLAN_DB", url)
    monkeypatch.setenv("ITU_PLAN_USER", user)
    if static:
        monkeypatch.setenv("ITU_PLAN_STATIC", "1")
    else:
        monkeypatch.delenv("ITU_PLAN_STATIC", raising=False)
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    return notebook


def outputs(notebook: Any) -> list[Any]:
    return [output for cell in notebook.cells for output in cell.get("outputs", [])]


def problems(notebook: Any) -> list[str]:
    """Error outputs, anything on stderr, and any error banner that came up."""
    found = [
        f"{o.get('ename', 'stderr')}: {o.get('evalue', o.get('text', ''))}"
        for o in outputs(notebook)
        if o.output_type == "error" or o.get("name") == "stderr"
    ]
    text = json.dumps([o.get("data", {}) for o in outputs(notebook)]) + json.dumps(notebook.metadata.get("widgets", {}))
    found += re.findall(r"Problem:</b> ([^<\"]*)", text)
    return found


def test_the_contract_notebooks_exist_and_are_glue() -> None:
    assert {p.stem for p in NOTEBOOKS} >= set(APPS)
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# ")
        (parameters,) = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
        for name in ("db_url", "version", "year", "unit"):
            assert re.search(rf"^{name} = None", parameters.source, re.M), (path.name, name)
        code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
        assert not re.search(r"\bselect\(|\bSELECT\b|sqlalchemy|\.groupby\(|\.merge\(|import pandas", code), path.name
        assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code"), "outputs are not committed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_clean_live(path: Path, demo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = execute(path, monkeypatch, demo_url, "planner.bdt", static=False)
    assert problems(notebook) == []
    assert any(WIDGET_VIEW in o.get("data", {}) for o in outputs(notebook))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_clean_static(path: Path, demo_copy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    notebook = execute(path, monkeypatch, demo_copy, "reviewer", static=True)
    assert problems(notebook) == []
    assert "widgets" not in notebook.metadata, "no widget state in static mode"
    mimetypes = {m for o in outputs(notebook) for m in o.get("data", {})}
    assert mimetypes <= {"text/html", "text/plain"} and WIDGET_VIEW not in mimetypes
    html = "".join(o["data"].get("text/html", "") for o in outputs(notebook) if "data" in o)
    assert html and "http:" not in html and "https:" not in html and "//cdn" not in html
    if path.stem not in ("index", "agreements"):
        assert "Plotly.newPlot(" in html, "a chart"
    assert "<table" in html and "<td" in html
    import widgets

    catalog = widgets.App.open(demo_copy, user="reviewer").catalog
    for figure in headline_figures(html):
        assert recompute(demo_copy, figure, catalog) == figure["value"], (path.stem, figure)


def test_static_notebooks_honour_their_parameters(
    demo_copy: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = FOLDER / "budget_monitoring.ipynb"
    notebook = nbformat.read(path, as_version=4)
    index = next(i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", []))
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell('year = 2006\nunit = "BDT"'))  # as papermill does
    nbformat.write(notebook, tmp := tmp_path / path.name)
    executed = execute(tmp, monkeypatch, demo_copy, "reviewer", static=True)
    html = "".join(o["data"].get("text/html", "") for o in outputs(executed) if "data" in o)
    figures = headline_figures(html)
    assert figures and all(f["year"] == "2006" and f["unit"] == "BDT" for f in figures)
    assert "Unit: <b>BDT — " in html


def _sections(notebook: Any) -> dict[str, str]:
    """The HTML each markdown section heading (``## Title``) of an executed notebook is followed by."""
    found: dict[str, str] = {}
    title = ""
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            title = cell.source.splitlines()[0].removeprefix("## ")
        for output in cell.get("outputs", []):
            found[title] = found.get(title, "") + output.get("data", {}).get("text/html", "")
    return found


def test_the_cost_recovery_page_says_when_an_overhead_rate_is_missing(
    demo_copy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    executed = execute(FOLDER / "cost_recovery.ipynb", monkeypatch, demo_copy, "reviewer", static=True)
    assert problems(executed) == []
    sections = _sections(executed)
    # under the statement, and among the products out of balance: its indirect cost of 0.00 is not true
    statement = sections["The statement"]
    assert statement.index("MISSING_OVERHEAD_RATE") > statement.index('data-report="cost-recovery"')
    assert "MISSING_OVERHEAD_RATE" in sections["Products out of balance"]
