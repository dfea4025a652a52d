"""Reading bundle files: a folder of CSVs, one CSV, or one XLSX workbook.

Readers only split text into cells; they report what makes a file unreadable
(bad encoding, empty file, broken quoting) as problems. Typing, references and
rules are :mod:`itu_plan.bundle.load`'s job. CSV rows are read lazily, so a
million-row file is never held in memory whole.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from itu_plan.bundle.spec import BY_FILENAME, BY_NAME, FileSpec
from itu_plan.errors import Problem, UsageError, printable

#: Files an exported bundle carries besides the data; the importer ignores them.
IGNORED = {"datapackage.json", "README.md", "README.txt"}


class ReadError(Exception):
    """A file turned unreadable part-way (bad encoding, broken quoting)."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem

    def __reduce__(self) -> tuple[type[ReadError], tuple[Problem]]:
        return ReadError, (self.problem,)  # it crosses from a process reading ahead


#: Files at least this large are read with pandas' C parser when they are simple.
FAST_READ_BYTES = 4 << 20


@dataclass
class Columns:
    """A piece of a file already split into columns (every row complete).

    ``trimmed``: no cell starts or ends with whitespace, so cells need no stripping.
    """

    columns: list[list[str]]
    size: int
    trimmed: bool = False


@dataclass
class RawFile:
    """The header of one bundle file and a way to read its rows, before any typing.

    ``rows()`` yields the data rows (lists of cells) afresh on each call and
    raises :class:`ReadError` where the file turns unreadable.
    """

    spec: FileSpec | None
    filename: str
    header: list[str]
    problems: list[Problem] = field(default_factory=list)
    path: Path | None = None
    body: list[list[str]] | None = None  # rows held in memory
    size_hint: int = 0  # about how many data rows, for progress bars
    sheet: Sheet | None = None  # rows streamed from a workbook's sheet

    def pieces(self, size: int) -> Iterator[tuple[int, list[list[str]] | Columns]]:
        """(row number of the first row, the rows or their columns) for every ``size`` rows
        or fewer.

        A large file is read in blocks of whole lines. A simple block (see
        :func:`_simple_block`) is split by pandas' C parser, straight into columns
        (three times faster). From the first block that is not simple on, the csv
        module reads the rest, and reports every irregularity exactly.
        """
        if self.sheet is not None:  # pieces of at most ``size`` rows and as many cells
            yield from chunks(self.rows(), size, cells=size * max(len(self.header), 8))
            return
        if self.path is None or self.body is not None or self.path.stat().st_size < FAST_READ_BYTES:
            yield from chunks(self.rows(), size)
            return
        with self.path.open("rb") as handle:
            header = handle.readline()
            whole = header.count(b'"') % 2 == 0 and b"\r" not in header.removesuffix(b"\r\n")  # one line
            offset = len(header) if whole else 0
            row = 2  # of the block's first line
            carry = b""
            while offset > 0:  # a header that may span lines goes to the csv module
                block = handle.read(BLOCK_BYTES if row > 2 else BLOCK_BYTES // 8)  # a first piece soon
                data = carry + block
                cut = data.rfind(b"\n") + 1 if block else len(data)  # the last line may lack its newline
                lines, carry = data[:cut], data[cut:]
                if not lines:
                    if block:
                        continue
                    return
                simple = _simple_block(lines if lines.endswith(b"\n") else lines + b"\n", len(self.header))
                if simple is None:
                    break
                lines, trimmed = simple
                count = lines.count(b"\n")
                columns = _split_lines(lines, len(self.header))
                if len(columns[0]) != count:
                    break  # not expected; the csv module will say what is wrong
                for start in range(0, count, size):
                    part = [column[start : start + size] for column in columns]
                    yield row + start, Columns(part, min(size, count - start), trimmed)
                row += count
                offset += cut
                if not block:
                    return
        yield from chunks(self.rows(offset=offset, before=row - 1), size, first=row)

    def rows(self, *, offset: int = 0, before: int = 1) -> Iterator[list[str]]:
        """The data rows; from byte ``offset`` on, after ``before`` lines (the header's
        end by default, or a line boundary outside any quoted cell)."""
        if self.body is not None:
            yield from self.body
            return
        if self.sheet is not None:
            yield from self.sheet.rows(self.filename, self.header)
            return
        if self.path is None:
            return
        with self.path.open("rb") as binary:
            binary.seek(offset)
            handle = io.TextIOWrapper(binary, encoding="utf-8" if offset else "utf-8-sig", newline="")
            reader = csv.reader(handle, strict=True)
            try:
                if not offset:
                    next(reader, None)  # the header
                blank: list[list[str]] = []  # empty lines count only if a row follows them
                for row in reader:
                    if not row:
                        blank.append(row)
                        continue
                    yield from blank
                    blank.clear()
                    yield row
            except UnicodeDecodeError:
                raise ReadError(_decode_problem(self.filename, self.path.read_bytes())) from None
            except csv.Error as exc:
                line = reader.line_num + (before if offset else 0)
                raise ReadError(Problem(self.filename, line, "", f"the CSV is malformed: {exc}")) from None


#: Large files are read in blocks of about this many bytes (whole lines).
BLOCK_BYTES = 4 << 20


#: UTF-8 byte sequences that start a whitespace character other than ASCII's (U+0085,
#: U+00A0, U+1680, U+2000-U+205F, U+3000); a file holding any is trimmed cell by cell.
_WIDE_SPACE_PREFIXES = (b"\xc2\x85", b"\xc2\xa0", b"\xe1\x9a\x80", b"\xe2\x80", b"\xe2\x81", b"\xe3\x80\x80")


def simple_lines(lines: bytes, width: int) -> bool | None:
    """None if these whole lines (each ending with a newline) are not simple: UTF-8,
    without quotes or carriage returns, without empty lines, with ``width - 1`` commas
    on every line. Else whether no cell starts or ends with whitespace (trimmed).

    Checked with numpy, at memory speed.
    """
    import numpy as np

    if width < 1 or b'"' in lines or b"\r" in lines:
        return None
    if not lines.isascii():
        try:
            lines.decode("utf-8")  # whole lines: no character is cut in two
        except UnicodeDecodeError:
            return None
    raw = np.frombuffer(lines, dtype=np.uint8)
    ends = np.flatnonzero(raw == 10)
    commas = np.searchsorted(np.flatnonzero(raw == 44), ends)  # commas before each line's end
    per_line = np.diff(np.concatenate(([0], commas)))
    if not np.all(per_line == width - 1) or np.any(np.diff(np.concatenate(([-1], ends))) == 1):
        return None  # a line with another number of cells, or an empty line
    return _trimmed(raw, lines)


def _simple_block(lines: bytes, width: int) -> tuple[bytes, bool] | None:
    """(the lines as plain cells, whether trimmed) if these whole lines are simple, else
    None: UTF-8, no empty line, exactly ``width - 1`` separators on every line, no carriage
    return but in a Windows line end and no quote but around whole cells (both read as
    the csv module reads them)."""
    if b"\r" in lines:
        lines = lines.replace(b"\r\n", b"\n")  # any other carriage return stays, and is refused
    if b'"' in lines:
        unquoted = _unquoted(lines)
        if unquoted is None:
            return None
        lines = unquoted
    trimmed = simple_lines(lines, width)
    return None if trimmed is None else (lines, trimmed)


def _unquoted(lines: bytes) -> bytes | None:
    """``lines`` (whole lines, each ending with a newline) without the quotes around
    whole cells, as the csv module reads them: ``"abc"`` is ``abc``. None when a quote
    is anything else (inside a cell, or doubled to stand for itself) or a quoted cell
    holds a comma, a newline or a carriage return: then the csv module must read it."""
    import numpy as np

    raw = np.frombuffer(lines, dtype=np.uint8)
    quotes = np.flatnonzero(raw == 34)
    if len(quotes) % 2:
        return None
    opening, closing = quotes[0::2], quotes[1::2]
    before = np.where(opening > 0, raw[np.maximum(opening - 1, 0)], 10)  # a block starts a line
    after = raw[closing + 1]  # the last byte is a newline, never a quote
    if not (np.all((before == 44) | (before == 10)) and np.all((after == 44) | (after == 10))):
        return None  # a quote that does not open or close a whole cell
    separators = np.flatnonzero((raw == 44) | (raw == 10) | (raw == 13))
    if np.any(np.searchsorted(quotes, separators) % 2):
        return None  # a separator between an opening quote and its closing one
    return lines.replace(b'"', b"")


def _trimmed(raw: Any, lines: bytes) -> bool:
    """Whether no cell of these whole lines (``raw`` is their bytes as a numpy array)
    starts or ends with whitespace; any control character but the newline, or any
    wide whitespace, counts as doubt."""
    import numpy as np

    if np.count_nonzero(raw < 32) != lines.count(b"\n"):
        return False  # tabs, form feeds ...
    if np.count_nonzero(raw >= 128) and any(prefix in lines for prefix in _WIDE_SPACE_PREFIXES):
        return False
    spaces = np.flatnonzero(raw == 32)
    if not len(spaces):
        return True
    if spaces[0] == 0:
        return False  # a line starts with a space (blocks hold whole lines; the last byte is a newline)
    before, after = raw[spaces - 1], raw[spaces + 1]
    return not ((before == 44) | (before == 10) | (after == 44) | (after == 10)).any()


def _split_lines(lines: bytes, width: int) -> list[list[str]]:
    """The columns of simple lines (see :func:`simple_lines`), by pandas' C parser."""
    import pandas as pd

    frame = pd.read_csv(
        io.BytesIO(lines), sep=",", header=None, names=list(range(width)), dtype=str, keep_default_na=False,
        na_filter=False, quoting=3, engine="c", encoding="utf-8", index_col=False,
    )  # fmt: skip
    return [frame[i].tolist() for i in range(width)]


def _decode_problem(filename: str, data: bytes) -> Problem:
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start : exc.start + 1].hex().upper()
        message = f"the file is not UTF-8 text (byte 0x{byte} on line {line}); save it as UTF-8"
        return Problem(filename, line, "", message)
    raise AssertionError("the data decodes after all")


def _count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            lines += block.count(b"\n")
    return lines


def read_csv(path: Path, spec: FileSpec | None, filename: str | None = None) -> RawFile:
    """Read the header of a CSV file now; its rows later, as they are needed."""
    name = filename or path.name
    raw = RawFile(spec, name, [], path=path, size_hint=max(0, _count_lines(path) - 1))
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle, strict=True), None)
    except UnicodeDecodeError:
        raw.problems.append(_decode_problem(name, path.read_bytes()))
        return raw
    except csv.Error as exc:
        raw.problems.append(Problem(name, 1, "", f"the CSV is malformed: {exc}"))
        return raw
    if header is None or not any(h.strip() for h in header):
        raw.problems.append(Problem(name, 1, "", "the file is empty: it needs a header row"))
        return raw
    raw.header = [h.strip() for h in header]
    return raw


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


#: Limits of a workbook: Excel's own where it has one. The sizes are checked in the
#: zip directory before anything is unpacked (openpyxl reads the shared strings
#: whole before the first row); rows, cells and time as the sheet is streamed.
XLSX_MAX_ROWS = 1_048_576  # rows of a sheet, header included (Excel's limit)
XLSX_MAX_CELL = 32_767  # characters of a cell (Excel's limit)
XLSX_MAX_SHARED_STRINGS = 64 << 20  # unpacked bytes of xl/sharedStrings.xml
XLSX_MAX_PART = 512 << 20  # unpacked bytes of one part (a sheet's XML ...)
XLSX_MAX_TOTAL = 1 << 30  # unpacked bytes of the whole workbook
XLSX_MAX_RATIO = 100  # unpacked / packed size of a part over 1 MB (sheets are about 10)
XLSX_MAX_PARTS = 1_000
XLSX_MAX_SECONDS = 120.0  # reading one sheet once


def _xlsx_problem(path: Path) -> str | None:
    """Why the workbook at ``path`` is refused before it is opened (a zip bomb), or None."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
            if (reason := _sizes_problem(parts)) is not None:
                return reason
            for part in parts:
                if part.filename.lower().endswith(".xml"):
                    rows = _rows_in_part(archive, part)
                    if rows > XLSX_MAX_ROWS:
                        return (
                            f"has a sheet ({part.filename}) of {rows:,} rows; a sheet has at most "
                            f"{XLSX_MAX_ROWS:,} (Excel's limit): import CSV files"
                        )
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, zlib.error) as exc:
        return f"is not a readable .xlsx workbook ({exc})"
    return None


#: A row element of a sheet's XML (any namespace prefix) and its attributes.
_ROW = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row\b([^>]*)>")
_ROW_NUMBER = re.compile(rb'\br="([0-9]{1,12})"')


def _rows_in_part(archive: Any, part: Any) -> int:
    """How many rows a part's XML makes (the count of its row elements, or the number
    of its last row when that is larger: the rows between are made empty), read as a
    stream, without parsing."""
    count, last = 0, 0
    carry = b""
    with archive.open(part) as stream:
        while block := stream.read(1 << 20):
            data = carry + block
            cut = data.rfind(b"<")
            data, carry = (data[:cut], data[cut:]) if cut > 0 and len(data) - cut < 4096 else (data, b"")
            found = _ROW.findall(data)
            count += len(found)
            for attributes in reversed(found):
                if number := _ROW_NUMBER.search(attributes):
                    last = max(last, int(number.group(1)))
                    break
    if carry and (found := _ROW.findall(carry)):
        count += len(found)
        if number := _ROW_NUMBER.search(found[-1]):
            last = max(last, int(number.group(1)))
    return max(count, last)


def _sizes_problem(parts: list[Any]) -> str | None:
    """Why a workbook with these zip entries would unpack to too much, or None."""
    if len(parts) > XLSX_MAX_PARTS:
        return f"holds {len(parts):,} parts; a workbook has at most {XLSX_MAX_PARTS:,}"
    total = sum(part.file_size for part in parts)
    if total > XLSX_MAX_TOTAL:
        return f"unpacks to {total:,} bytes; a workbook may unpack to at most {XLSX_MAX_TOTAL:,} (import CSV files)"
    for part in parts:
        limit = XLSX_MAX_SHARED_STRINGS if part.filename.lower().endswith("sharedstrings.xml") else XLSX_MAX_PART
        if part.file_size > limit:
            return f"{part.filename} unpacks to {part.file_size:,} bytes; at most {limit:,} (import CSV files)"
        if part.file_size > 1 << 20 and part.file_size > XLSX_MAX_RATIO * max(part.compress_size, 1):
            return (
                f"{part.filename} unpacks {part.file_size // max(part.compress_size, 1):,} times larger than "
                f"it is packed (at most {XLSX_MAX_RATIO}): a workbook this repetitive is refused"
            )
    return None


@dataclass
class Sheet:
    """One sheet of a workbook, read afresh (streamed, read-only) on each pass."""

    path: Path
    title: str

    def rows(self, filename: str, header: list[str]) -> Iterator[list[str]]:
        """The data rows as lists of text, each as long as the header (longer if a cell
        beyond it holds something); trailing empty rows dropped, as Excel keeps formatted
        ones. Past a limit (rows, cell size, time) a :class:`ReadError` names where."""
        import time

        width = len(header)
        book = load_workbook_read_only(self.path)
        try:
            sheet = book[self.title]
            sheet.reset_dimensions()  # never pad rows to what the file claims
            started = time.monotonic()
            blank = 0  # empty rows count only if a row follows them
            for number, values in enumerate(_guarded(sheet.iter_rows(values_only=True), filename), start=1):
                if number == 1:
                    continue  # the header
                if number > XLSX_MAX_ROWS:
                    message = f"the sheet has more than {XLSX_MAX_ROWS:,} rows (Excel's limit); import a CSV file"
                    raise ReadError(Problem(filename, number, "", message))
                if number % 1024 == 0 and time.monotonic() - started > XLSX_MAX_SECONDS:
                    message = f"reading the sheet took more than {XLSX_MAX_SECONDS:.0f} s; import a CSV file"
                    raise ReadError(Problem(filename, number, "", message))
                row = _sheet_row(values, filename, number, header)
                if not any(row):
                    blank += 1
                    continue
                for _ in range(blank):
                    yield [""] * width
                blank = 0
                if len(row) < width:
                    row += [""] * (width - len(row))
                elif len(row) > width and not any(row[width:]):
                    del row[width:]
                yield row
        finally:
            book.close()


def _guarded(rows: Iterator[tuple[Any, ...]], filename: str) -> Iterator[tuple[Any, ...]]:
    """``rows`` of a sheet as openpyxl reads them; whatever it raises on a damaged sheet
    (a cell whose value does not fit its type, XML cut short ...) is a :class:`ReadError`
    naming the row after the last one read."""
    number = 0
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        except ReadError:
            raise
        except Exception as exc:  # openpyxl raises ValueError, IndexError, TypeError, ParseError ...
            message = f"the sheet cannot be read from here on: {_first_line(exc)}"
            raise ReadError(Problem(filename, number + 1, "", message)) from None
        number += 1
        yield values


def _first_line(exc: BaseException) -> str:
    """A library's message in one line (openpyxl's run over several)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return printable(lines[0]) if lines else type(exc).__name__


def _sheet_row(values: tuple[Any, ...], filename: str, number: int, header: list[str]) -> list[str]:
    """A sheet's row as text, trailing empty cells dropped; a cell over :data:`XLSX_MAX_CELL`
    characters is a :class:`ReadError`."""
    row = [_cell(v) for v in values]
    while row and not row[-1]:
        row.pop()
    for i, text in enumerate(row):
        if len(text) > XLSX_MAX_CELL:
            column = header[i] if i < len(header) else ""
            message = f"the cell holds {len(text):,} characters; a cell holds at most {XLSX_MAX_CELL:,} (Excel's limit)"
            raise ReadError(Problem(filename, number, column, message))
    return row


def read_xlsx(path: Path) -> list[RawFile]:
    """One RawFile per sheet; a sheet is named like its file (``actuals`` or ``actuals.csv``).

    Only the headers are read now; rows are streamed as they are needed. A workbook
    beyond the limits above is one problem, before it is opened."""
    if (reason := _xlsx_problem(path)) is not None:
        if reason.startswith("is not a readable"):
            raise UsageError(f"{path} {reason}")
        return [RawFile(None, path.name, [], [Problem(path.name, 1, "", f"the workbook {reason}")])]
    try:
        book = load_workbook_read_only(path)
        worksheets = list(book.worksheets)
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise UsageError(f"{path} is not a readable .xlsx workbook: {_first_line(exc)}") from None
    files = []
    try:
        for sheet in worksheets:
            filename = sheet.title if sheet.title.endswith(".csv") else f"{sheet.title}.csv"
            spec = BY_FILENAME.get(filename)
            claimed = sheet.max_row or 0  # from the file, for the progress bar only
            sheet.reset_dimensions()
            try:
                first = next(_guarded(sheet.iter_rows(max_row=1, values_only=True), filename), ())
                header = _sheet_row(first, filename, 1, [])
            except ReadError as exc:
                files.append(RawFile(spec, filename, [], [exc.problem]))
                continue
            if not any(h.strip() for h in header):
                files.append(RawFile(spec, filename, [], [Problem(filename, 1, "", "the sheet is empty")]))
                continue
            raw = RawFile(
                spec, filename, [h.strip() for h in header], size_hint=max(0, min(claimed, XLSX_MAX_ROWS) - 1)
            )
            raw.sheet = Sheet(path, sheet.title)
            files.append(raw)
    finally:
        book.close()
    return files


def load_workbook_read_only(path: Path) -> Any:
    """The workbook at ``path`` opened for streaming (openpyxl's read-only mode), values only."""
    import warnings

    from openpyxl import load_workbook

    with warnings.catch_warnings():  # what openpyxl warns of on a damaged file is not for the terminal
        warnings.simplefilter("ignore")
        return load_workbook(path, read_only=True, data_only=True)


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
                files.append(RawFile(None, child.name, [], [Problem(child.name, 1, "", message)]))
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


def chunks(
    rows: Iterable[list[str]], size: int, *, first: int = 2, cells: int | None = None
) -> Iterator[tuple[int, list[list[str]]]]:
    """(row number of the first row, rows) pieces of at most ``size`` rows (and, given
    ``cells``, about that many cells at most); the header is row 1."""
    iterator = iter(rows)
    if cells is None:
        while piece := list(islice(iterator, size)):
            yield first, piece
            first += len(piece)
        return
    piece, held = [], 0
    for row in iterator:
        piece.append(row)
        held += len(row)
        if len(piece) >= size or held >= cells:
            yield first, piece
            first += len(piece)
            piece, held = [], 0
    if piece:
        yield first, piece
