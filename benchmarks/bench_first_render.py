"""First render of the budget monitoring app in a real browser, against a bare
one-button Voilà notebook served the same way in the same run; and how long a
filter change takes to reach the chart.

    python -m benchmarks.bench_first_render [--scale 1] [--repeat 5] [--preheat N] [--detail]
                                            [--screenshots DIR] [--json FILE] [--notebooks DIR]

Both notebooks are served by one ``itu-plan serve`` (the notebooks and the bare
notebook copied to a temporary folder; the user's default options unless
``--preheat`` says otherwise) and opened in headless Chromium (``/usr/bin/chromium``).

What is timed, in the page (``performance.now()``: from the start of the navigation):

* bare: until its button is visible;
* budget_monitoring: until every widget is visible: the filter bar's four
  dropdowns, the five KPI cards each with its figure, the chart drawn (its bars
  are in the page), the warnings list (its table or its "no warning" note) and
  the budget-against-actual table with its rows.

"Visible" is ``Element.checkVisibility()`` with a non-empty box (not necessarily
scrolled into view). Every visit is a fresh page in one browser context, so the
browser cache is warm for both notebooks (a first visit of each is not counted);
the visitor's page is closed as a user closes a tab (Voilà then shuts its kernel
down), and with preheating the next visit waits until the server is idle again
(its kernel pool refilled). Visits alternate between the two notebooks; the
figures are medians.

The filter change: choosing the unit BDT in the filter bar, until the chart's
bars are those of BDT's divisions (timed in the page, median of ``--repeat``).

``--detail`` says where the time went: when the page's HTML was all there (the
notebook executed: Voilà streams the page as the cells run), when each part was
visible, the main thread's long tasks and the JavaScript fetched.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from benchmarks.common import demo_workspace, itu
from tests.conftest import free_port, wait_until_up
from tests.widgets_support import descendants

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("ITU_PLAN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
GOALS = {1: 1.3, 100: 1.6}  # first render, as a multiple of the bare notebook, per demo scale
FILTER_GOAL = 0.300  # seconds, at scale 100
USER = "manager.bdt"
APPS = ("index", "operational_plan", "financial_plan", "budget_monitoring", "cost_recovery", "funding",
        "human_resources", "council_report", "agreements")  # fmt: skip

#: Helpers put in every page before its scripts run: when the page became ready, timed in the page.
INIT_SCRIPT = r"""
(() => {
  const visible = (el) => {
    if (!el || !el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) return false;
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  };
  const all = (selector) => [...document.querySelectorAll(selector)];
  /* the bars of a chart: a plotly chart's traces, or the marks of an SVG chart drawn by the kernel */
  const bars = (chart) => all(`${chart} .js-plotly-plot svg.main-svg .trace .point, ${chart} svg .itu-mark`)
    .filter(visible);
  /* each part of a page, visible (the page is ready when all are) */
  const parts = {
    bare: {button: () => visible(document.querySelector('.widget-button'))},
    budget_monitoring: {
      filters: () => {
        const selects = all('.itu-filter-bar select');
        return selects.length === 4 && selects.every(visible);
      },
      cards: () => {
        const cards = all('.itu-kpi-cards .itu-kpi[data-figure]');
        return cards.length === 5 && cards.every((c) => visible(c) && c.querySelector('.itu-kpi-value').textContent.trim() !== '');
      },
      chart: () => bars('.itu-report-chart').length > 0,
      warnings: () => all('.itu-warnings-list table, .itu-warnings-list p.itu-note').some(visible),
      table: () => all('.itu-report-table table[data-report="budget-vs-actual"] tbody tr').some(visible),
    },
  };
  const seen = {};
  const checks = Object.fromEntries(Object.entries(parts).map(([page, checks]) => [page, () => {
    let ready = true;
    for (const [part, check] of Object.entries(checks)) {
      if (seen[part] === undefined && check()) seen[part] = performance.now();
      ready = ready && seen[part] !== undefined;
    }
    return ready;
  }]));
  /* a widget the page could not draw ("Error displaying widget: model not found") */
  const broken = () => all('.jp-OutputArea-output').some((e) => e.firstChild && e.firstChild.nodeType === Node.TEXT_NODE
    && e.firstChild.data.startsWith('Error displaying widget'));
  /* long tasks: the main thread busy (script evaluation, layout) for more than 50 ms */
  const busy = [];
  try {
    new PerformanceObserver((list) => list.getEntries().forEach((e) => busy.push([e.startTime, e.duration])))
      .observe({type: 'longtask', buffered: true});
  } catch (e) { /* not supported */ }
  window.__itu = {visible, all, bars, checks, broken, seen, busy, readyAt: null};
  /* the check of this notebook (/voila/render/NAME.ipynb), run on every animation frame */
  const name = location.pathname.split('/').pop().replace(/\.ipynb$/, '');
  const check = checks[name];
  if (!check) return;
  const loop = () => {
    if (check()) window.__itu.readyAt = performance.now();
    else if (broken()) window.__itu.brokenAt = performance.now();
    else requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
})();
"""

#: Where the time of a visit went: when the page's HTML (the notebook, executed) was all there,
#: when each part was visible, the main thread's long tasks and the scripts fetched.
DETAIL = """
() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const scripts = performance.getEntriesByType('resource').filter((r) => r.initiatorType === 'script');
  const ready = window.__itu.readyAt;
  const plotly = scripts.filter((r) => r.name.includes('jupyterlab-plotly'));
  return {
    first_byte: nav.responseStart, html: nav.responseEnd, dom: nav.domContentLoadedEventEnd, ...window.__itu.seen,
    busy: window.__itu.busy.filter(([start]) => start < ready).reduce((sum, [, d]) => sum + d, 0),
    busy_after_html: window.__itu.busy.filter(([start]) => start >= nav.responseEnd && start < ready)
      .reduce((sum, [, d]) => sum + d, 0),
    scripts: scripts.length, script_kb: scripts.reduce((sum, r) => sum + r.decodedBodySize, 0) / 1024,
    plotly_kb: plotly.reduce((sum, r) => sum + r.decodedBodySize, 0) / 1024,
    plotly_loaded: plotly.length ? Math.max(...plotly.map((r) => r.responseEnd)) : null,
  };
}
"""

#: Choose unit ``unit`` in the filter bar; resolve with the milliseconds until the chart shows its bars.
FILTER_CHANGE = """
async (unit) => {
  const select = [...document.querySelectorAll('.itu-filter-bar select')][2];
  const index = [...select.options].findIndex((o) => o.text.split(/\\s+/)[0] === unit);
  const labels = () => {
    const plot = document.querySelector('.itu-report-chart .js-plotly-plot');
    if (plot && plot.data) return plot.data[0].x;
    const svg = document.querySelector('.itu-report-chart svg[data-x]');
    return svg ? JSON.parse(svg.dataset.x) : [];
  };
  const start = performance.now();
  select.selectedIndex = index;
  select.dispatchEvent(new Event('change', {bubbles: true}));
  return await new Promise((resolve) => {
    const loop = () => {
      const x = labels();
      if (x.length > 0 && x.every((u) => u.startsWith(unit))) resolve(performance.now() - start);
      else requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
  });
}
"""


def bare_notebook(path: Path) -> None:
    import nbformat

    bare = nbformat.v4.new_notebook()
    bare.cells = [nbformat.v4.new_code_cell("import ipywidgets\nipywidgets.Button(description='Go')")]
    bare.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(bare, path)


# -- the server and its processes ------------------------------------------------------------------


def cpu_seconds(pid: int) -> dict[int, float]:
    """User + system CPU seconds of ``pid`` and of each process below it."""
    seconds = {}
    for process in [pid, *descendants(pid)]:
        with suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
            seconds[process] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


def wait_quiet(pid: int, *, window: float = 1.0, busy: float = 0.05, timeout: float = 300) -> None:
    """Wait until the server and its kernels used under ``busy`` of a core for ``window``
    seconds: preheated kernels have run their notebooks, closed pages' kernels are gone.
    (A process that ended in the window counts for nothing, one that started for all it used.)"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(window)
        after = cpu_seconds(pid)
        if sum(seconds - before.get(process, 0.0) for process, seconds in after.items()) < busy * window:
            return
    print(f"  (the server was still busy after {timeout:.0f} s)", file=sys.stderr)


@contextmanager
def serving(db: Path, folder: Path, log: Path, extra: list[str]) -> Iterator[tuple[str, int]]:
    """``itu-plan serve`` of ``folder`` (it becomes Voilà); yields the base URL and its pid."""
    port = free_port()
    command = itu("--db", f"sqlite:///{db}", "--user", USER, "serve", "--no-browser", "--no-token", "--port", str(port),
                  "--notebooks", str(folder), *extra)  # fmt: skip
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, base, log, timeout=120)
        yield base, process.pid
    finally:
        kernels = descendants(process.pid)
        process.send_signal(signal.SIGTERM)  # Voilà shuts its kernels down
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for pid in kernels:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# -- the visits ------------------------------------------------------------------------------------


class Visits:
    def __init__(self, context: Any, base: str, server_pid: int, preheat: int) -> None:
        self.context = context
        self.base = base
        self.server_pid = server_pid
        self.preheat = preheat
        self.broken: dict[str, int] = {}
        self.details: dict[str, list[dict[str, Any]]] = {}

    def settle(self) -> None:
        """Let the server finish what the last visit started (a pool refill, a kernel shutdown)."""
        time.sleep(1.5 if self.preheat else 0.5)  # Voilà refills a pool a second after it was used
        wait_quiet(self.server_pid)

    def open(self, name: str, *, timed: bool = False) -> tuple[Any, float]:
        """A fresh page on ``name``; returns it and the seconds until it was ready.

        A page where a widget could not be drawn (the front end's "Error displaying
        widget: model not found", an intermittent race in Voilà's widget manager) is
        counted in ``broken`` and visited again."""
        for _attempt in range(5):
            page = self.context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc, errors=errors: errors.append(str(exc)))
            page.goto(f"{self.base}/voila/render/{name}.ipynb", wait_until="commit")
            try:
                page.wait_for_function(
                    "() => window.__itu && (window.__itu.readyAt !== null || window.__itu.brokenAt !== undefined)",
                    timeout=120_000,
                    polling=100,
                )
            except Exception as exc:  # a page that never gets ready: say what it shows
                body = page.inner_text("body") if page.locator("body").count() else ""
                problems = sorted({line for line in body.splitlines() if "rror" in line or "Traceback" in line})
                raise SystemExit(
                    f"{name} was not ready after 120 s ({exc.__class__.__name__}): {problems} {errors}"
                ) from None
            if errors:
                raise SystemExit(f"{name}: page errors {errors}")
            ready = page.evaluate("window.__itu.readyAt")
            if ready is not None:
                if timed:
                    self.details.setdefault(name, []).append({**page.evaluate(DETAIL), "ready": ready})
                return page, ready / 1000
            self.broken[name] = self.broken.get(name, 0) + 1
            page.close(run_before_unload=True)
            self.settle()
        raise SystemExit(f"{name}: a widget could not be drawn on five visits in a row")

    def visit(self, name: str, *, timed: bool = True) -> float:
        page, seconds = self.open(name, timed=timed)
        page.close(run_before_unload=True)
        self.settle()
        return seconds

    def filter_change(self) -> float:
        page, _seconds = self.open("budget_monitoring")
        time.sleep(0.5)
        milliseconds = page.evaluate(FILTER_CHANGE, "BDT")
        page.close(run_before_unload=True)
        self.settle()
        return float(milliseconds) / 1000


def screenshots(visits: Visits, folder: Path) -> None:
    """A full-page screenshot of every app, once it is rendered and its charts drawn."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in APPS:
        page = visits.context.new_page()
        page.goto(f"{visits.base}/voila/render/{name}.ipynb", wait_until="commit")
        page.wait_for_selector("#rendered_cells", state="visible", timeout=180_000)
        page.wait_for_selector(".itu-app", timeout=120_000)
        page.wait_for_load_state("networkidle", timeout=120_000)
        time.sleep(1.0)
        # the app scrolls inside Voilà's panel, not the window: make the window as tall as the app
        height = page.evaluate("() => { const r = document.getElementById('rendered_cells'); "
                               "return r.getBoundingClientRect().top + r.scrollHeight; }")  # fmt: skip
        page.set_viewport_size({"width": 1280, "height": min(int(height) + 40, 16_000)})
        time.sleep(0.5)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
        page.close(run_before_unload=True)
        visits.settle()
        print(f"  screenshot {folder / f'{name}.png'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--preheat", type=int, help="kernels preheated per notebook (default: serve's default)")
    parser.add_argument("--screenshots", type=Path, metavar="DIR", help="save a screenshot of each app here")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    parser.add_argument(
        "--notebooks", type=Path, default=REPO / "notebooks", help="the notebooks (default: notebooks/)"
    )
    parser.add_argument("--detail", action="store_true", help="also print where the time of a visit went")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    db = demo_workspace(args.scale)
    extra = [] if args.preheat is None else ["--preheat", str(args.preheat)]
    preheat = 1 if args.preheat is None else args.preheat
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "notebooks"
        shutil.copytree(args.notebooks, folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        bare_notebook(folder / "bare.ipynb")
        with serving(db, folder, Path(tmp) / "serve.log", extra) as (base, pid), sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
            context = browser.new_context(viewport={"width": 1280, "height": 1000})
            context.add_init_script(INIT_SCRIPT)
            visits = Visits(context, base, pid, preheat)
            wait_quiet(pid)  # preheated kernels have run their notebooks
            times: dict[str, list[float]] = {"bare": [], "budget_monitoring": []}
            for name in times:  # the browser caches the front end: not counted
                visits.visit(name, timed=False)
            for i in range(args.repeat):
                for name in list(times) if i % 2 == 0 else reversed(list(times)):
                    times[name].append(visits.visit(name))
                print(f"  visit {i + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()), flush=True)
            filters = [visits.filter_change() for _ in range(args.repeat)]
            if args.screenshots:
                screenshots(visits, args.screenshots)
            browser.close()
    bare, app = (statistics.median(times[k]) for k in ("bare", "budget_monitoring"))
    change = statistics.median(filters)
    goal = GOALS.get(args.scale, GOALS[100] if args.scale > 1 else GOALS[1])
    print(f"First render on demo --scale {args.scale}, itu-plan serve --preheat {preheat}, "
          f"median of {args.repeat} ({os.cpu_count()} cores):")  # fmt: skip
    print(f"  bare one-button notebook  {bare:6.2f} s   (all: {', '.join(f'{t:.2f}' for t in times['bare'])})")
    print(f"  budget_monitoring         {app:6.2f} s   "
          f"(all: {', '.join(f'{t:.2f}' for t in times['budget_monitoring'])})")  # fmt: skip
    print(
        f"  ratio                     {app / bare:6.2f}x  (goal <= {goal}x: {'met' if app / bare <= goal else 'NOT met'})"
    )
    print(f"  filter change (unit BDT)  {change * 1000:6.0f} ms  (all: {', '.join(f'{t * 1000:.0f}' for t in filters)};"
          f" goal < {FILTER_GOAL * 1000:.0f} ms at scale 100: {'met' if change < FILTER_GOAL else 'NOT met'})")  # fmt: skip
    if args.detail:
        print("  where the time went (median ms from the start of the navigation):")
        for name, rows in visits.details.items():
            keys = [k for k in rows[0] if all(isinstance(r.get(k), int | float) for r in rows)]
            print(f"    {name:18} " + "  ".join(f"{k} {statistics.median(r[k] for r in rows):.0f}" for k in keys))
    if visits.broken:
        print(f"  pages with a widget not drawn (visited again): {visits.broken}")
    if args.json:
        figures = {"scale": args.scale, "preheat": preheat, "bare": times["bare"], "app": times["budget_monitoring"],
                   "filter_change": filters, "ratio": app / bare}  # fmt: skip
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
