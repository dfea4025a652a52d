"""No process outlives the command that started it (issue 13, finding 6): `render`,
`import` and `serve` killed outright (SIGKILL, which no handler sees) take their
workers, kernels and read-ahead helper with them (``itu_plan.lifeline``).

Each test starts the command for real, waits until its children are at work, finds
them through /proc, kills the command with SIGKILL and looks again 2 s later.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

from itu_plan import lifeline
from itu_plan.bundle import export_bundle
from itu_plan.workspace import Workspace
from tests.conftest import free_port, wait_until_up
from tests.widgets_support import _alive, descendants

pytestmark = pytest.mark.skipif(not lifeline.supported(), reason="PR_SET_PDEATHSIG is Linux's")


def cli(*args: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("w") as out:
        return subprocess.Popen([sys.executable, "-m", "itu_plan.cli", *args], stdout=out, stderr=subprocess.STDOUT)


def is_kernel(pid: int) -> bool:
    try:
        return b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def wait_for(
    process: subprocess.Popen[bytes], found: Callable[[list[int]], bool], log: Path, timeout: float
) -> list[int]:
    """The descendants of ``process`` once ``found(descendants)`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        children = [p for p in descendants(process.pid) if _alive(p)]
        if found(children):
            return children
        assert process.poll() is None, f"the command ended first:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"no such children after {timeout} s:\n{log.read_text()[-3000:]}"
        time.sleep(0.1)


def kill_and_look(process: subprocess.Popen[bytes], children: list[int]) -> list[int]:
    """SIGKILL ``process``; the children of the list still running 2 s later."""
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    time.sleep(2)
    left = [p for p in children if _alive(p)]
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    return left


def test_render_killed_takes_its_workers_and_kernels(demo_sqlite: str, tmp_path: Path) -> None:
    log = tmp_path / "render.log"
    process = cli("--db", f"sqlite:///{demo_sqlite}", "--user", "admin", "render", str(tmp_path / "site"),
                  "--jobs", "2", "--quiet", log=log)  # fmt: skip
    children = wait_for(process, lambda found: sum(map(is_kernel, found)) >= 2, log, timeout=120)
    assert len(children) >= 4  # two workers, a kernel each
    assert kill_and_look(process, children) == []


def test_import_killed_takes_its_read_ahead_helper(demo_copy: str, tmp_path: Path) -> None:
    """A bundle with a 20 MB actuals.csv: checked ahead by a forked helper while the
    import inserts."""
    bundle = tmp_path / "bundle"
    with Workspace.open(demo_copy, user="admin") as workspace:
        export_bundle(workspace, tmp_path / "export")
    bundle.mkdir()
    with (tmp_path / "export" / "actuals.csv").open(encoding="utf-8") as source:
        rows = list(csv.DictReader(source))
    with (bundle / "actuals.csv").open("w", encoding="utf-8", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=list(rows[0]))
        writer.writeheader()
        for copy in range(30):
            for number, row in enumerate(rows):
                writer.writerow(row | {"reference": f"KILL-{copy:02d}-{number:07d}"})
    assert (bundle / "actuals.csv").stat().st_size > 16 << 20
    log = tmp_path / "import.log"
    process = cli("--db", demo_copy, "--user", "admin", "import", str(bundle), "--quiet", log=log)
    helper = wait_for(process, lambda found: len(found) >= 1, log, timeout=120)
    assert kill_and_look(process, helper) == []


def test_serve_killed_takes_its_kernels(demo_sqlite: str, tmp_path: Path) -> None:
    """A preheated kernel and one serving a page."""
    folder = tmp_path / "apps"
    folder.mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("1 + 1")]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, folder / "index.ipynb")
    log = tmp_path / "serve.log"
    port = free_port()
    process = cli("--db", f"sqlite:///{demo_sqlite}", "--user", "reviewer", "serve", "--no-browser", "--no-token",
                  "--port", str(port), "--notebooks", str(folder), "--preheat", "1", log=log)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_until_up(process, base, log)
    with urllib.request.urlopen(f"{base}/voila/render/index.ipynb?fresh=1", timeout=120) as page:
        assert page.status == 200
    kernels = wait_for(process, lambda found: sum(map(is_kernel, found)) >= 2, log, timeout=120)
    assert kill_and_look(process, kernels) == []
