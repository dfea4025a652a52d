"""Small hand-made bundles for the tests: write them, import them, read a report back."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from itu_plan import Workspace
from itu_plan.bundle import import_bundle
from itu_plan.cli import main


def write_bundle(folder: Path, files: dict[str, str]) -> Path:
    """The bundle folder ``folder`` holding ``files`` (file name -> CSV text)."""
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def load_bundle(workspace: Workspace, folder: Path, files: dict[str, str]) -> Workspace:
    """``workspace`` with the bundle ``files`` imported (written to ``folder`` first)."""
    import_bundle(workspace, write_bundle(folder, files))
    return workspace


def report_rows(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> list[list[str]]:
    """``itu-plan report ARGS --format csv`` on ``ws`` (exit 0), header row first."""
    assert main(["--db", ws.url, "report", *args, "--format", "csv"]) == 0
    return list(csv.reader(io.StringIO(capsys.readouterr().out)))
