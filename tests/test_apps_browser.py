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
