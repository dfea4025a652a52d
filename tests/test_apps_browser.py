"""The Voilà apps, served for real by `itu-plan serve` and opened in headless Chromium."""

from __future__ import annotations


def test_tree_lists_the_notebooks(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.goto(server + "/")
    page.wait_for_selector("text=index.ipynb", timeout=30_000)
    page.close()


def test_index_app_renders_the_workspace(server: str, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server + "/voila/render/index.ipynb")
    page.wait_for_selector("text=What is in the workspace", timeout=60_000)
    page.wait_for_selector("text=2007-06-30", timeout=60_000)
    body = page.inner_text("body")
    assert "activities" in body and "Traceback" not in body
    assert "import pandas" not in body, "sources must be stripped"
    assert errors == []
    page.close()


def _kernels_under(pid: int) -> int:
    """Running ipykernel processes below ``pid``."""
    import subprocess

    out = subprocess.run(["ps", "-eo", "pid,ppid,args"], capture_output=True, text=True, check=True).stdout
    children: dict[int, list[tuple[int, str]]] = {}
    for line in out.splitlines()[1:]:
        parts = line.split(None, 2)
        if len(parts) == 3:
            children.setdefault(int(parts[1]), []).append((int(parts[0]), parts[2]))
    count, stack = 0, [pid]
    while stack:
        for child, args in children.get(stack.pop(), []):
            count += "ipykernel" in args
            stack.append(child)
    return count


def test_idle_kernels_are_culled(demo_sqlite: str, browser, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Voilà keeps a kernel per visit after the page closes; serve culls them."""
    import time

    from tests.conftest import start_serve, wait_until_up

    log = tmp_path / "serve.log"
    process, base = start_serve(f"sqlite:///{demo_sqlite}", "reviewer", log, "--preheat", "0", "--cull-after", "4")
    try:
        wait_until_up(process, base, log)
        for _ in range(3):
            page = browser.new_page()
            page.goto(base + "/voila/render/index.ipynb")
            page.wait_for_selector("text=What is in the workspace", timeout=60_000)
            page.close()
        assert _kernels_under(process.pid) >= 1
        deadline = time.monotonic() + 30
        while _kernels_under(process.pid) and time.monotonic() < deadline:
            time.sleep(1)
        assert _kernels_under(process.pid) == 0, log.read_text()[-2000:]
    finally:
        process.terminate()
        process.wait(timeout=20)
