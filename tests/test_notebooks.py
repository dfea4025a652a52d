"""Every notebook runs top to bottom on the demo workspace without error output."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_clean(path: Path, demo_copy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITU_PLAN_DB", demo_copy)
    notebook = nbformat.read(path, as_version=4)
    assert any("parameters" in c.metadata.get("tags", []) for c in notebook.cells)
    NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    errors = [
        output
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if output.output_type == "error" or output.get("name") == "stderr"
    ]
    assert errors == []
