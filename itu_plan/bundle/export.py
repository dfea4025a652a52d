"""Writing the workspace as a bundle: one CSV per file (or one XLSX workbook) in
business-key terms, sorted by business key, with a ``datapackage.json``.

The output is canonical: exporting, importing into an empty workspace and
exporting again gives byte-identical files.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Select, select
from sqlalchemy.orm import aliased

from itu_plan import model as m
from itu_plan.bundle.spec import BY_NAME, FILES, REFERABLE, Field, FileSpec
from itu_plan.money import format_scaled

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
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    counts = {}
    for spec in FILES:
        sheet = book.create_sheet(spec.name)
        sheet.append(spec.columns)
        converters = [typed(f) for f in spec.fields]
        count = 0
        for row in rows(connection, spec):
            sheet.append([None if v is None or v == () else c(v) for c, v in zip(converters, row, strict=True)])
            count += 1
        counts[spec.filename] = count
    book.save(path)
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


def export_bundle(connection: Connection, folder: Path, fmt: str = "csv") -> dict[str, int]:
    """Write every bundle file into ``folder``; returns rows per file."""
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        counts = write_xlsx(connection, folder / "bundle.xlsx")
        package = datapackage(counts, fmt="xlsx", workbook="bundle.xlsx")
    else:
        counts = {spec.filename: write_csv(connection, spec, folder / spec.filename) for spec in FILES}
        package = datapackage(counts)
    (folder / "datapackage.json").write_text(json.dumps(package, indent=2) + "\n", encoding="utf-8")
    return counts
