"""The bundle: the workspace as a folder of CSV files (or one XLSX workbook).

``import_bundle`` validates every file, collects every problem and writes all
or nothing; ``export_bundle`` writes the whole workspace back, canonically.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from itu_plan.bundle.load import FileResult, Importer
from itu_plan.bundle.read import read_bundle
from itu_plan.bundle.spec import BY_NAME, FILES, FileSpec
from itu_plan.errors import UsageError, ValidationError

if TYPE_CHECKING:
    from itu_plan.workspace import Workspace

__all__ = ["BY_NAME", "FILES", "FileResult", "FileSpec", "export_bundle", "import_bundle"]


def import_bundle(
    workspace: Workspace, path: str | Path, *, kind: str | None = None, progress: bool = False
) -> list[FileResult]:
    """Import a bundle folder, a workbook, or one file of ``kind``, in one transaction.

    Raises ``ValidationError`` listing every problem (nothing is written),
    ``PermissionDenied`` when the user may not write what the bundle holds.
    """
    from tqdm import tqdm

    from itu_plan.bundle.authorize import authorize_import

    files = read_bundle(Path(path), kind)
    total = sum(raw.size_hint for raw in files)
    with (
        tqdm(total=total, unit=" rows", unit_scale=True, desc="Importing", disable=not progress or total < 50_000,
             file=sys.stderr) as bar,
        workspace.transaction(check_references=False) as session,
    ):  # fmt: skip
        authorize_import(session, workspace.user, files)
        importer = Importer(session, workspace.user, progress=bar.update)
        with _without_cycle_collection():
            results = importer.run(files)
        if importer.problems:
            raise ValidationError(importer.problems)
    return results


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector: a million-row load allocates millions of
    containers, which trigger hundreds of useless collections (8 % of the time).
    The load makes no cycles worth collecting early; they are collected after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def export_bundle(workspace: Workspace, folder: str | Path, *, fmt: str = "csv") -> dict[str, int]:
    """Write the whole workspace into ``folder`` as a bundle with ``datapackage.json``."""
    from itu_plan.bundle.export import export_bundle as write

    if fmt not in ("csv", "xlsx"):
        raise UsageError(f"--format must be csv or xlsx, not {fmt!r}")
    with workspace.reading() as session:
        return write(session.connection(), Path(folder), fmt)
