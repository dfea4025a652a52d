"""Rendering the notebooks into a self-contained, offline, reproducible static site.

Every notebook is executed (in parallel, one process per notebook) with its
parameters injected after its ``parameters`` cell, papermill-style, and with
``ITU_PLAN_STATIC=1`` so that it emits plain HTML (tables, plotly figures that
need only ``plotly.min.js``) instead of live widgets. Pages are written without
input cells; every script and style sheet they need is written into the site
(plotly.js once, for every page); nothing is fetched from the network. The
front page says what was rendered, from which workspace (its content
checksum), as of when, by whom and when; the site also carries the public data
package (the export bundle without personal data) so reviewers can check every
figure.

Two renders of the same workspace differ only in the render timestamp.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from itu_plan import lifeline, store
from itu_plan.audit import ChainCheck
from itu_plan.errors import ItuPlanError

if TYPE_CHECKING:
    from itu_plan.reports.common import VersionRef

#: Notebooks in the order the front page lists them; others follow alphabetically.
ORDER = (
    "council_report",
    "operational_plan",
    "financial_plan",
    "budget_monitoring",
    "cost_recovery",
    "funding",
    "human_resources",
    "agreements",
)
#: Bundle files that describe people: never published (aggregates of them are).
PERSONAL = ("staff.csv", "users.csv")
TIMESTAMP_MARK = "itu-render-timestamp"
#: What a page shows when its figures are those of a plan version: its filter bar names
#: the version (``widgets.FilterBar.static_html``). A page without it is not a report of
#: a version (cost recovery, human resources, agreements).
VERSIONED_MARK = "Plan version: <b>"


@dataclass
class Page:
    name: str
    title: str
    ok: bool
    error: str | None = None


@dataclass
class RenderResult:
    folder: Path
    pages: list[Page] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failures(self) -> list[Page]:
        return [p for p in self.pages if not p.ok]


class RenderError(ItuPlanError):
    """Some notebooks failed; the rest of the site was written."""

    exit_code = 1

    def __init__(self, result: RenderResult) -> None:
        self.result = result
        lines = "; ".join(f"{p.name}: {p.error}" for p in result.failures)
        super().__init__(f"{len(result.failures)} notebook(s) failed, the other pages were written: {lines}")


# -- executing one notebook (in a worker process) ------------------------------------------------


def inject_parameters(notebook: Any, parameters: dict[str, Any]) -> None:
    """Insert a cell setting ``parameters`` right after the cell tagged ``parameters``."""
    import nbformat

    source = "# Parameters injected by itu-plan render\n" + "".join(
        f"{name} = {value!r}\n" for name, value in parameters.items()
    )
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
    cell.id = "injected-parameters"
    index = next((i for i, c in enumerate(notebook.cells) if "parameters" in c.get("metadata", {}).get("tags", [])), -1)
    notebook.cells.insert(index + 1, cell)


def execute_notebook(
    path: str, parameters: dict[str, Any], env: dict[str, str], timeout: int
) -> tuple[str, str | None]:
    """Run one notebook; returns (executed notebook JSON, error or None). Runs in a worker."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    os.environ.update(env)
    notebook = nbformat.read(path, as_version=4)
    inject_parameters(notebook, parameters)
    from itu_plan.kernels import LifelineKernelManager

    # IPC sockets in a private folder: no TCP port, no "unencrypted TCP" warning
    runtime = tempfile.mkdtemp(prefix="itu-render-")
    manager = LifelineKernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(runtime, "kernel"))
    client = NotebookClient(
        notebook, timeout=timeout, km=manager, resources={"metadata": {"path": str(Path(path).parent)}}
    )
    error = None
    try:
        client.execute(stderr=subprocess.DEVNULL)  # the kernel's own log lines are noise here
    except CellExecutionError as exc:
        error = _describe_failure(notebook, exc)
    except Exception as exc:  # the kernel died, a timeout ...
        error = f"{type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
    return nbformat.writes(notebook), error


def _describe_failure(notebook: Any, exc: Exception) -> str:
    original = [c for c in notebook.cells if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    for number, cell in enumerate(original, start=1):  # as the author counts them
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"cell {number} raised {output.get('ename')}: {output.get('evalue')}"
    return str(exc).strip().splitlines()[-1]


# -- turning an executed notebook into a page -----------------------------------------------------

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _clean(notebook: Any) -> None:
    """Drop what would make a page depend on the network: widget state and views."""
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data")
            if data and WIDGET_VIEW in data:
                data.pop(WIDGET_VIEW)
                if not data:
                    data["text/plain"] = ""


def body_html(notebook_json: str) -> str:
    """The page body: outputs and markdown, no input cells, no prompts."""
    import nbformat
    from nbconvert import HTMLExporter

    notebook = nbformat.reads(notebook_json, as_version=4)
    _clean(notebook)
    exporter = HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        anchor_link_text="",
    )
    body, _resources = exporter.from_notebook_node(notebook)
    body = re.sub(r'href="([A-Za-z0-9_]+)\.ipynb', r'href="\1.html', body)
    return body


def title_of(notebook_json: str, fallback: str) -> str:
    notebook = json.loads(notebook_json)
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "markdown":
            source = "".join(cell.get("source", ""))
            match = re.search(r"^#\s+(.+)$", source, re.MULTILINE)
            if match:
                return match.group(1).strip()
    return fallback


def page(title: str, body: str, nav: list[tuple[str, str]], footer: str) -> str:
    links = " ".join(f'<a href="{href}">{html.escape(label)}</a>' for href, label in nav)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="stylesheet" href="site.css">\n<script src="plotly.min.js"></script>\n'
        f'</head>\n<body>\n<nav class="itu-nav">{links}</nav>\n<main class="itu-page">\n{body}\n</main>\n'
        f'<footer class="itu-footer">{footer}</footer>\n</body>\n</html>\n'
    )


def error_body(name: str, error: str) -> str:
    return (
        f'<div class="itu-render-error"><h1>{html.escape(name)}</h1>'
        f"<p>This report could not be produced: {html.escape(error)}</p></div>"
    )


# -- the site ---------------------------------------------------------------------------------------


def _publish_data(url: str, folder: Path) -> list[str]:
    """The public data package: the bundle without personal files, plus aggregates."""
    from itu_plan.bundle import export_bundle
    from itu_plan.reports import make_options
    from itu_plan.reports.output import to_csv
    from itu_plan.workspace import Workspace

    data = folder / "data"
    if data.exists():
        shutil.rmtree(data)
    with Workspace.open(url) as workspace:
        export_bundle(workspace, data)
        for name in PERSONAL:
            (data / name).unlink(missing_ok=True)
        package = json.loads((data / "datapackage.json").read_text())
        package["resources"] = [r for r in package["resources"] if r["path"] not in PERSONAL]
        # staff appear only as aggregates
        for report in ("representation", "recruitment"):
            table = workspace.report_table(report, make_options())
            (data / f"{report}.csv").write_text(to_csv(table), encoding="utf-8")
            package["resources"].append(
                {"name": report, "path": f"{report}.csv", "format": "csv", "mediatype": "text/csv",
                 "description": f"the {report} report (aggregates of staff, no personal data)"}
            )  # fmt: skip
        package["title"] = "itu-plan public data package (no personal data)"
        (data / "datapackage.json").write_text(json.dumps(package, indent=2) + "\n", encoding="utf-8")
    return sorted(p.name for p in data.iterdir())


def _site_css() -> str:
    """The page chrome's styles, then the widgets' static styles when they are installed
    (found by location, not imported: the core never imports the UI)."""
    import importlib.util

    css = resources.files("itu_plan").joinpath("data/site.css").read_text("utf-8")
    spec = importlib.util.find_spec("widgets")
    if spec is not None and spec.origin is not None:
        widgets_css = Path(spec.origin).parent / "static.css"
        if widgets_css.exists():
            css += "\n/* widgets */\n" + widgets_css.read_text("utf-8")
    return css


def notebook_names(folder: Path) -> list[str]:
    names = sorted(p.stem for p in folder.glob("*.ipynb"))
    ordered = [n for n in ORDER if n in names] + [n for n in names if n not in ORDER and n != "index"]
    return (["index"] if "index" in names else []) + ordered


def render_site(
    url: str,
    out_dir: str | os.PathLike[str],
    *,
    user: str,
    version: str | None = None,
    year: int | None = None,
    unit: str | None = None,
    notebooks: str | os.PathLike[str] | None = None,
    jobs: int | None = None,
    timeout: int = 600,
    progress: bool = True,
    now: Callable[[], dt.datetime] | None = None,
) -> RenderResult:
    """Execute every notebook against the workspace at ``url`` and write the site into ``out_dir``."""
    import time

    from tqdm import tqdm

    from itu_plan.apps import notebooks_dir
    from itu_plan.reports.common import version_ref, workspace_as_of
    from itu_plan.workspace import Workspace

    started = time.perf_counter()
    url = store.absolute_url(store.resolve_url(url))
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    source = notebooks_dir(notebooks)
    with Workspace.open(url, user) as workspace:
        workspace.require_schema()
        with workspace.engine.connect() as connection:
            chosen = version_ref(connection, version)
            as_of = workspace_as_of(connection)
        version_name = chosen.name
        checksum = workspace.checksum()
        trail = workspace.verify_audit()
    parameters: dict[str, Any] = {"db_url": url, "version": version_name, "year": year, "unit": unit}
    env = {"ITU_PLAN_STATIC": "1", "ITU_PLAN_DB": url, "ITU_PLAN_USER": user, "PYTHONHASHSEED": "0"}
    names = notebook_names(source)
    executed: dict[str, tuple[str | None, str | None]] = {}
    workers = max(1, min(jobs or os.cpu_count() or 1, len(names)))
    with (
        # the workers, and the kernels they start, die with this process (see itu_plan.lifeline)
        ProcessPoolExecutor(max_workers=workers, initializer=lifeline.die_with_parent, initargs=(os.getpid(),)) as pool,
        tqdm(total=len(names), unit=" notebooks", desc="Rendering", disable=not progress, file=sys.stderr) as bar,
    ):
        futures = {
            pool.submit(execute_notebook, str(source / f"{name}.ipynb"), parameters, env, timeout): name
            for name in names
        }
        for future in as_completed(futures):
            name = futures[future]
            try:
                executed[name] = future.result()
            except Exception as exc:  # the worker itself died
                executed[name] = (None, f"{type(exc).__name__}: {exc}")
            bar.update(1)
    result = RenderResult(folder)
    titles = {}
    bodies = {}
    for name in names:
        notebook_json, error = executed[name]
        titles[name] = title_of(notebook_json, name.replace("_", " ").title()) if notebook_json else name
        if notebook_json is not None:
            bodies[name] = body_html(notebook_json)
        if error:
            bodies[name] = error_body(titles[name], error) + bodies.get(name, "")
        result.pages.append(Page(name, titles[name], error is None, error))
    published = _publish_data(url, folder)
    moment = (now or (lambda: dt.datetime.now(dt.UTC)))().astimezone(dt.UTC).replace(microsecond=0)
    stamp = f'<span class="{TIMESTAMP_MARK}">{moment.isoformat()}</span>'
    footer = (
        f"Rendered by {html.escape(user)} at {stamp} from plan version {html.escape(version_name)}, "
        f"data as of {as_of or 'not set'}; workspace checksum <code>{checksum[:16]}</code>."
    )
    nav = [("index.html", "Home")] + [(f"{n}.html", titles[n]) for n in names if n != "index"]
    unversioned = [p.title for p in result.pages if p.name != "index" and p.ok and VERSIONED_MARK not in bodies[p.name]]
    for name in names:
        body = bodies[name]
        if name == "index":
            body = _front_matter(result, chosen, as_of, checksum, trail, user, stamp, published, unversioned) + body
        target = "index.html" if name == "index" else f"{name}.html"
        (folder / target).write_text(page(titles[name], body, nav, footer), encoding="utf-8")
    if "index" not in names:
        body = _front_matter(result, chosen, as_of, checksum, trail, user, stamp, published, unversioned)
        (folder / "index.html").write_text(page("itu-plan reports", body, nav, footer), encoding="utf-8")
    shutil.copyfile(_plotly_js(), folder / "plotly.min.js")
    (folder / "site.css").write_text(_site_css(), encoding="utf-8")
    result.seconds = time.perf_counter() - started
    return result


def _front_matter(
    result: RenderResult,
    version: VersionRef,
    as_of: dt.date | None,
    checksum: str,
    trail: ChainCheck,
    user: str,
    stamp: str,
    published: list[str],
    unversioned: list[str],
) -> str:
    items = "".join(
        f'<li><a href="{p.name}.html">{html.escape(p.title)}</a>'
        + ("" if p.ok else ' <span class="itu-failed">(failed)</span>')
        + "</li>"
        for p in result.pages
        if p.name != "index"
    )
    return (
        '<section class="itu-front">\n'
        "<h2>About this publication</h2>\n<dl>"
        f'<dt>Plan version</dt><dd class="itu-version">{html.escape(version.name)}</dd>'
        f'<dt>Period</dt><dd class="itu-period">{version.period} ({_years(version)})</dd>'
        f'<dt>Data as of</dt><dd class="itu-as-of">{_as_of_text(as_of)}</dd>'
        f'<dd class="itu-statement">{html.escape(_statement(version, as_of, unversioned))}</dd>'
        f"<dt>Rendered</dt><dd>{stamp} by {html.escape(user)}</dd>"
        f'<dt>Workspace checksum</dt><dd><code class="itu-checksum">{checksum}</code></dd>'
        f'<dt>Audit trail</dt><dd class="itu-audit">{_trail_text(trail)}</dd>'
        '<dt>Data</dt><dd><a href="data/datapackage.json">the public data package</a> '
        f"({len(published) - 1} files, no personal data) to check every figure</dd></dl>\n"
        f"<h2>Reports</h2>\n<ul>{items}</ul>\n</section>\n"
    )


def _trail_text(trail: ChainCheck) -> str:
    """The audit trail as the publication states it: whole, with its newest event and hash
    (an anchor: a later ``audit verify`` that no longer reaches it shows history was
    rewritten), or broken, and where."""
    if not trail.whole:
        return f'<span class="itu-failed">broken at event {trail.broken_at}</span>: {html.escape(trail.reason)}'
    if trail.newest is None:
        return "empty"
    events = "event" if trail.checked == 1 else "events"
    return (
        f"{trail.checked:,} {events}, each chained to the one before; the newest, event {trail.newest}, "
        f'has hash <code class="itu-audit-head">{trail.newest_hash}</code>'
    )


def _years(version: VersionRef) -> str:
    count = len(version.years)
    return "one year" if count == 1 else f"{count} years"


def _as_of_text(as_of: dt.date | None) -> str:
    return as_of.isoformat() if as_of else "not set: the figures are as of the day they were rendered"


def _statement(version: VersionRef, as_of: dt.date | None, unversioned: list[str]) -> str:
    """What the figures of the site are: plan figures of the version for its period,
    execution data to the as-of date, and the pages that are no report of the version."""
    when = f"as they stood at the end of {as_of.isoformat()}" if as_of else "as they stood when rendered"
    said = (
        f"Plan figures (budgets, cost lines, the financial plan's plan column) are those of plan version "
        f"{version.name}, for its period {version.period}; execution data (actual expenditure, income and "
        f"contributions received, recruitments, staff, agreements) are {when}: nothing dated later is counted."
    )
    if unversioned:
        pages = ", ".join(unversioned)
        verb = "is" if len(unversioned) == 1 else "are"
        said += (
            f" {pages} {verb} not tied to the version: {'it shows' if len(unversioned) == 1 else 'they show'} "
            f"the execution data of every year recorded, to the as-of date, whatever the version's period."
        )
    return said


def _plotly_js() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("plotly")
    if spec is None or spec.origin is None:
        raise ItuPlanError("plotly is not installed; it provides plotly.min.js for the rendered pages")
    return Path(spec.origin).parent / "package_data" / "plotly.min.js"
