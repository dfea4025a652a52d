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


def schema_differences(ws: Workspace, *, compare_type: bool = False) -> list[object]:
    """What the database's schema lacks or has beyond the models (Alembic's comparison),
    the guard's own tables aside (``itu_plan.guard.GUARD_TABLES``, PostgreSQL)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from itu_plan.guard import GUARD_TABLES
    from itu_plan.model import Base

    def modelled(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
        return not (type_ == "table" and name in GUARD_TABLES)

    options = {"compare_type": compare_type, "include_object": modelled}
    with ws.engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection, opts=options), Base.metadata))
