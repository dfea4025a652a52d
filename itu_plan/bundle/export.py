"""Writing the workspace as a bundle: one CSV per file (or one XLSX workbook) in
business-key terms, sorted by business key, with a ``datapackage.json``.

The CSV output is canonical and exact: exporting, importing into an empty
workspace and exporting again gives byte-identical files. The workbook is for
people: every text is a text cell, never a formula (:mod:`itu_plan.spreadsheet`).
Everything is written into a new folder beside the target and moved into place
whole, so that a failure half-way (a full disk) leaves nothing behind.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Select, select
from sqlalchemy.orm import aliased

from itu_plan import model as m
from itu_plan.bundle.spec import BY_NAME, FILES, REFERABLE, Field, FileSpec
from itu_plan.errors import ItuPlanError, UsageError
from itu_plan.money import format_scaled
from itu_plan.spreadsheet import cells

TABLE_SCHEMA_TYPES = {
    "text": "string", "enum": "string", "ref": "string", "refs": "string", "int": "integer",
    "year": "integer", "date": "date", "money": "number", "scaled": "number", "number": "number",
}  # fmt: skip


def _plain(value: int, scale: int) -> str:
    text = format_scaled(value, scale)
    return text.rstrip("0").rstrip(".") if "." in text else text


def formatter(f: Field) -> Callable[[Any], str]:
    """The canonical text of a value of field ``f``."""
    if f.kind == "money":
        return lambda v: format_scaled(v, 2)
    if f.kind == "scaled":
        return lambda v: _plain(v, f.scale)
    if f.kind == "number":
        return lambda v: str(int(v)) if float(v).is_integer() else repr(float(v))
    if f.kind == "date":
        return lambda v: v.isoformat()
    if f.kind == "refs":
        return lambda v: ",".join(v)
    return str


def typed(f: Field) -> Callable[[Any], Any]:
    """The value of field ``f`` as a spreadsheet cell (numbers as numbers, exact)."""
    if f.kind == "money":
        return lambda v: Decimal(v).scaleb(-2)
    if f.kind == "scaled":
        return lambda v: Decimal(v).scaleb(-f.scale)
    if f.kind == "refs":
        return lambda v: ",".join(v)
    return lambda v: v


def _query(spec: FileSpec) -> Select[Any]:
    """Select the fields of ``spec`` in business-key terms, ordered by the business key."""
    table = spec.table
    columns = []
    joins = []
    for f in spec.fields:
        if f.kind == "refs":
            columns.append(table.c.id.label(f.name))
        elif f.kind == "ref":
            assert f.ref is not None
            target = aliased(BY_NAME[f.ref].model, name=f"ref_{f.name}")
            joins.append((target, table.c[f.column] == target.id))  # type: ignore[attr-defined]
            columns.append(getattr(target, REFERABLE[f.ref]).label(f.name))
        else:
            columns.append(table.c[f.column].label(f.name))
    query = select(*columns).select_from(table)
    for target, on in joins:
        query = query.outerjoin(target, on)
    by_name = {c.name: c for c in columns}
    # NULLs first on both backends, so the order is the same everywhere
    order = []
    for k in spec.key:
        order += [by_name[k].is_not(None), by_name[k]]
    return query.order_by(*order)


def rows(connection: Connection, spec: FileSpec) -> Iterator[tuple[Any, ...]]:
    """The rows of ``spec`` in key order, values typed (refs as codes)."""
    units_of: dict[int, tuple[str, ...]] = {}
    if spec.name == "users":
        grouped: dict[int, list[str]] = defaultdict(list)
        for user_id, code in connection.execute(
            select(m.UserUnit.user_id, m.Unit.code).join(m.Unit, m.Unit.id == m.UserUnit.unit_id)
        ):
            grouped[user_id].append(code)
        units_of = {k: tuple(sorted(v)) for k, v in grouped.items()}
    refs_at = [i for i, f in enumerate(spec.fields) if f.kind == "refs"]
    result = connection.execution_options(yield_per=20_000).execute(_query(spec))
    for row in result:
        if refs_at:
            values = list(row)
            for i in refs_at:
                values[i] = units_of.get(values[i], ())
            yield tuple(values)
        else:
            yield tuple(row)


def write_csv(connection: Connection, spec: FileSpec, path: Path) -> int:
    formats = [formatter(f) for f in spec.fields]
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(spec.columns)
        for row in rows(connection, spec):
            writer.writerow(["" if v is None or v == () else fmt(v) for fmt, v in zip(formats, row, strict=True)])
            count += 1
    return count


def write_xlsx(connection: Connection, path: Path) -> dict[str, int]:
    """One workbook, a sheet per file; every text a text cell, never a formula.

    The workbook is made in memory (compressed, about a tenth of the CSV files)
    and written in one go: openpyxl left to write a file itself leaves a zip
    archive that fails again, with a traceback, when it is collected.
    """
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    counts = {}
    for spec in FILES:
        sheet = book.create_sheet(spec.name)
        sheet.append(cells(sheet, spec.columns))
        converters = [typed(f) for f in spec.fields]
        count = 0
        for row in rows(connection, spec):
            values = [None if v is None or v == () else c(v) for c, v in zip(converters, row, strict=True)]
            sheet.append(cells(sheet, values))
            count += 1
        counts[spec.filename] = count
    buffer = io.BytesIO()
    book.save(buffer)
    path.write_bytes(buffer.getbuffer())
    return counts


def table_schema(spec: FileSpec) -> dict[str, Any]:
    """The Frictionless Table Schema of one bundle file."""
    fields = []
    for f in spec.fields:
        entry: dict[str, Any] = {"name": f.name, "type": TABLE_SCHEMA_TYPES[f.kind]}
        constraints: dict[str, Any] = {}
        if f.required:
            constraints["required"] = True
        if f.kind == "enum":
            constraints["enum"] = list(f.values)
        if f.kind == "year":
            constraints.update(minimum=1900, maximum=2100)
        if constraints:
            entry["constraints"] = constraints
        if f.kind == "money":
            entry["description"] = "CHF, at most two decimals"
        fields.append(entry)
    schema: dict[str, Any] = {"fields": fields, "missingValues": [""]}
    if all(spec.field(k).required for k in spec.key):
        schema["primaryKey"] = list(spec.key)
    foreign = []
    for f in spec.fields:
        if f.kind == "ref":
            assert f.ref is not None
            resource = "" if f.ref == spec.name else f.ref
            foreign.append(
                {
                    "fields": [f.name],
                    "reference": {"resource": resource, "fields": [REFERABLE[f.ref]]},
                }
            )
    if foreign:
        schema["foreignKeys"] = foreign
    return schema


def datapackage(files: dict[str, int], *, fmt: str = "csv", workbook: str | None = None) -> dict[str, Any]:
    resources = []
    for spec in FILES:
        resource: dict[str, Any] = {
            "name": spec.name,
            "path": spec.filename if fmt == "csv" else workbook,
            "profile": "tabular-data-resource",
            "schema": table_schema(spec),
        }
        if fmt == "csv":
            resource.update(format="csv", mediatype="text/csv", encoding="utf-8")
        else:
            resource.update(format="xlsx", dialect={"sheet": spec.name})
        resources.append(resource)
    return {
        "name": "itu-plan-workspace",
        "title": "itu-plan workspace bundle",
        "profile": "tabular-data-package",
        "resources": resources,
    }


class ExportFailed(ItuPlanError):
    """The export could not be written (a full disk, no permission); nothing was left behind."""

    def __init__(self, folder: Path, exc: OSError) -> None:
        self.folder, self.reason = folder, exc.strerror or str(exc)
        super().__init__(f"could not write the export to {folder}: {self.reason}; nothing was written there")


def export_bundle(connection: Connection, folder: Path, fmt: str = "csv") -> dict[str, int]:
    """Write every bundle file into ``folder``; returns rows per file.

    The files are written into a new hidden folder beside ``folder`` and moved into
    place whole: ``folder``, when it does not exist or is empty, is that folder
    renamed (one step); else each file replaces its namesake. Any failure while
    writing (``ExportFailed``) removes what was written and leaves ``folder`` as it was.
    """
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{folder} is a file; give a folder to export into")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = folder.parent / f".{folder.name}.{secrets.token_hex(4)}.partial"
        staging.mkdir()
    except OSError as exc:
        raise ExportFailed(folder, exc) from None
    try:
        counts = _write_bundle(connection, staging, fmt)
        _move_into_place(staging, folder)
    except OSError as exc:
        raise ExportFailed(folder, exc) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return counts


def _write_bundle(connection: Connection, folder: Path, fmt: str) -> dict[str, int]:
    if fmt == "xlsx":
        counts = write_xlsx(connection, folder / "bundle.xlsx")
        package = datapackage(counts, fmt="xlsx", workbook="bundle.xlsx")
    else:
        counts = {spec.filename: write_csv(connection, spec, folder / spec.filename) for spec in FILES}
        package = datapackage(counts)
    (folder / "datapackage.json").write_text(json.dumps(package, indent=2) + "\n", encoding="utf-8")
    return counts


def _move_into_place(staging: Path, folder: Path) -> None:
    """Rename ``staging`` to ``folder`` (which may be an empty folder), else move its
    files one by one into ``folder`` (each rename replaces a file whole)."""
    try:
        os.rename(staging, folder)
        return
    except OSError:
        if not folder.is_dir():
            raise
    for child in sorted(staging.iterdir()):
        os.replace(child, folder / child.name)
