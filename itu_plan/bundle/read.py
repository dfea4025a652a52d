"""Reading bundle files: a folder of CSVs, one CSV, or one XLSX workbook.

Readers only split text into cells; they report what makes a file unreadable
(bad encoding, empty file, duplicated header) as problems. Typing, references
and rules are :mod:`itu_plan.bundle.load`'s job.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from itu_plan.bundle.spec import BY_FILENAME, BY_NAME, FileSpec
from itu_plan.errors import Problem, UsageError

#: Files an exported bundle carries besides the data; the importer ignores them.
IGNORED = {"datapackage.json", "README.md", "README.txt"}


@dataclass
class RawFile:
    """The header and cells of one bundle file, before any typing."""

    spec: FileSpec | None
    filename: str
    header: list[str]
    rows: list[list[str]]
    problems: list[Problem] = field(default_factory=list)


def _decode(filename: str, data: bytes) -> tuple[str | None, list[Problem]]:
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start : exc.start + 1].hex().upper()
        message = f"the file is not UTF-8 text (byte 0x{byte} on line {line}); save it as UTF-8"
        return None, [Problem(filename, line, "", message)]


def parse_csv_text(filename: str, spec: FileSpec | None, text: str) -> RawFile:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    raw = RawFile(spec, filename, [], [])
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raw.problems.append(Problem(filename, 1, "", "the file is empty: it needs a header row"))
            return raw
        raw.header = [h.strip() for h in header]
        raw.rows = list(reader)
    except csv.Error as exc:
        raw.problems.append(Problem(filename, reader.line_num, "", f"the CSV is malformed: {exc}"))
    return raw


def read_csv(path: Path, spec: FileSpec | None, filename: str | None = None) -> RawFile:
    name = filename or path.name
    text, problems = _decode(name, path.read_bytes())
    if text is None:
        return RawFile(spec, name, [], [], problems)
    return parse_csv_text(name, spec, text)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value)


def read_xlsx(path: Path) -> list[RawFile]:
    """One RawFile per sheet; a sheet is named like its file (``actuals`` or ``actuals.csv``)."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise UsageError(f"{path} is not a readable .xlsx workbook: {exc}") from None
    files = []
    try:
        for sheet in book.worksheets:
            filename = sheet.title if sheet.title.endswith(".csv") else f"{sheet.title}.csv"
            spec = BY_FILENAME.get(filename)
            rows = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
            while rows and not any(rows[-1]):
                rows.pop()  # Excel keeps formatted but empty rows
            if not rows or not any(h.strip() for h in rows[0]):
                files.append(RawFile(spec, filename, [], [], [Problem(filename, 1, "", "the sheet is empty")]))
                continue
            header = rows[0]
            while header and not header[-1]:
                header.pop()
            width = len(header)
            # a sheet has no ragged rows: trailing empty cells are simply not stored
            body = [(row + [""] * (width - len(row)))[:width] if not any(row[width:]) else row for row in rows[1:]]
            files.append(RawFile(spec, filename, [h.strip() for h in header], body))
    finally:
        book.close()
    return files


def read_bundle(path: Path, kind: str | None = None) -> list[RawFile]:
    """Read a folder, a single CSV file (its kind from ``kind`` or its name) or a workbook."""
    if not path.exists():
        raise UsageError(f"{path} does not exist")
    if kind is not None:
        spec = BY_NAME.get(kind.removesuffix(".csv"))
        if spec is None:
            raise UsageError(f"--kind {kind!r} is not a bundle file; choose one of {', '.join(BY_NAME)}")
        if path.is_dir():
            raise UsageError("--kind names the kind of one file; give a file, not a folder")
        if path.suffix.lower() == ".xlsx":
            sheets = read_xlsx(path)
            if len(sheets) != 1:
                raise UsageError(f"{path} has {len(sheets)} sheets; --kind needs a workbook of one sheet")
            sheet = sheets[0]
            sheet.spec, sheet.filename = spec, spec.filename
            return [sheet]
        return [read_csv(path, spec, spec.filename)]
    if path.is_dir():
        files = []
        for child in sorted(path.iterdir()):
            if child.name.startswith(".") or child.name in IGNORED or child.is_dir():
                continue
            spec = BY_FILENAME.get(child.name)
            if spec is None:
                message = "unknown file: a bundle holds only " + ", ".join(BY_FILENAME)
                files.append(RawFile(None, child.name, [], [], [Problem(child.name, 1, "", message)]))
                continue
            files.append(read_csv(child, spec))
        if not files:
            raise UsageError(f"{path} holds no bundle files (units.csv, activities.csv ...)")
        return files
    if path.suffix.lower() == ".xlsx":
        files = read_xlsx(path)
        for raw in files:
            if raw.spec is None and not raw.problems:
                message = "unknown sheet: a workbook holds only sheets named " + ", ".join(BY_NAME)
                raw.problems.append(Problem(raw.filename, 1, "", message))
        return files
    spec = BY_FILENAME.get(path.name)
    if spec is None:
        raise UsageError(f"cannot tell what {path.name} holds; name it like a bundle file or give --kind")
    return [read_csv(path, spec)]


def chunks(rows: list[list[str]], size: int) -> Iterator[tuple[int, list[list[str]]]]:
    """(row number of the first row, rows) pieces; the header is row 1."""
    for start in range(0, len(rows), size):
        yield start + 2, rows[start : start + size]
