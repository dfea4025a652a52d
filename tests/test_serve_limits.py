"""`itu-plan serve` bounds what requests can cost (issue 13, findings 5 and 9): at most
`--max-kernels` kernels serve pages, one more page gets a plain "too many apps open"
page (503) and starts nothing; a kernel whose page never connected is shut down
within a minute or so, not ten; a template path that names nothing is a 404, with no
traceback in the log.
"""

from __future__ import annotations

import http.client
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from itu_plan import apps
from tests.conftest import free_port, wait_until_up
from tests.widgets_support import _alive, descendants, served


def is_kernel(pid: int) -> bool:
    try:
        return b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def kernels_of(base: str, log: Path) -> list[int]:
    """The kernels of the server at ``base`` (found from the port in the log's command line)."""
    port = base.rsplit(":", 1)[1]
    servers = [
        int(pid)
        for pid in (p.name for p in Path("/proc").iterdir() if p.name.isdigit())
        if f"--port={port}".encode() in _cmdline(int(pid))
    ]
    return [k for s in servers for k in descendants(s) if is_kernel(k) and _alive(k)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def get(base: str, path: str) -> tuple[int, str]:
    port = int(base.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request("GET", path, headers={"Host": f"127.0.0.1:{port}"})
    response = connection.getresponse()
    body = response.read().decode("utf-8", "replace")
    connection.close()
    return response.status, body


@pytest.fixture(scope="module")
def slow_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One app that takes two seconds to draw: pages asked for at once overlap."""
    folder = tmp_path_factory.mktemp("slow")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("import time\ntime.sleep(2)\n'drawn'")]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, folder / "index.ipynb")
    return folder


@pytest.fixture(scope="module")
def two_kernels(demo_sqlite: str, slow_app: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:  # fmt: skip
    log = tmp_path_factory.mktemp("serve-limits") / "serve.log"
    extra = ("--notebooks", str(slow_app), "--preheat", "0", "--max-kernels", "2")
    with served(f"sqlite:///{demo_sqlite}", "reviewer", log, *extra) as base:
        yield base, log


def test_more_pages_than_max_kernels_get_a_plain_refusal_and_start_nothing(two_kernels: tuple[str, Path]) -> None:
    base, log = two_kernels
    with ThreadPoolExecutor(5) as pool:
        answers = list(pool.map(lambda _: get(base, "/voila/render/index.ipynb"), range(5)))
    statuses = sorted(status for status, _body in answers)
    assert statuses == [200, 200, 503, 503, 503], statuses
    refused = next(body for status, body in answers if status == 503)
    assert apps.TOO_MANY_APPS in refused
    for word in ("kernel", "Traceback", "voila", "Voilà"):
        assert word not in refused
    assert len(kernels_of(base, log)) == 2
    assert get(base, "/voila/tree")[0] == 200  # the list of apps still answers
    assert "Traceback" not in log.read_text()


@pytest.mark.parametrize(
    "path",
    ["/voila/templates/x", "/voila/templates/", "/voila/templates/lab/x/y", "/voila/templates/nosuch/static/a.js",
     "/voila/templates/lab/static/", "/voila/templates/lab/static/../../../../etc/passwd",
     "/voila/templates/lab/static/%2e%2e/%2e%2e/x", "/voila/templates/lab/static/nosuch.js"],
)  # fmt: skip
def test_a_template_path_that_names_nothing_is_a_404_without_a_traceback(
    two_kernels: tuple[str, Path], path: str
) -> None:
    base, log = two_kernels
    status, _body = get(base, path)
    assert status == 404, (path, status)
    assert "Traceback" not in log.read_text()
    assert get(base, "/voila/templates/lab/static/voila.js")[0] == 200  # a real one still serves


def test_a_kernel_no_page_connects_to_is_shut_down_soon(demo_sqlite: str, slow_app: Path, tmp_path: Path) -> None:
    """A GET without a browser: its page never connects to the kernel. Here the server
    is told to wait 3 s (the default is a minute, against ten for an idle page)."""
    port = free_port()
    command = apps.voila_command(slow_app, port=port, open_browser=False, pool_size=0, cull_unconnected=3)
    env = apps.kernel_environment(f"sqlite:///{demo_sqlite}", "reviewer")
    log = tmp_path / "voila.log"
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(process, base, log)
        started = time.monotonic()
        assert get(base, "/voila/render/index.ipynb")[0] == 200
        assert len(kernels_of(base, log)) == 1
        while kernels_of(base, log):
            assert time.monotonic() - started < 30, log.read_text()[-2000:]
            time.sleep(0.5)
        assert "never connected" in log.read_text()
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_default_limit_follows_the_memory() -> None:
    limit = apps.default_max_kernels()
    assert 2 <= limit <= 8
    command = apps.voila_command(Path("."), port=1, open_browser=False)
    assert f"--LocalKernelManager.max_kernels={limit}" in command
    assert "--LocalKernelManager.max_kernels=3" in apps.voila_command(
        Path("."), port=1, open_browser=False, max_kernels=3
    )
