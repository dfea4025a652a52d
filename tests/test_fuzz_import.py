"""Fuzzing the importer: valid bundles mutated (bytes, cells, rows, encodings, workbook
structure) must import with exit 0 or 2, never 1, never a traceback, never a
half-written workspace, never more than 500 MB (see :mod:`tests.fuzzing`).

The runs here are bounded and deterministic (``derandomize``): a few hundred cases on
SQLite, fewer on PostgreSQL and as real processes. ``python -m benchmarks.fuzz_import
--examples N`` is the long run. Below them, the failures the fuzzer found, each as a
plain regression test.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from itu_plan import Workspace
from itu_plan.bundle import import_bundle
from itu_plan.cli import main
from tests.fuzzing import HANDMADE, ORIGINAL, Bench, Case, Outcome, bench, cases, workbook


def fine(workspaces: Bench, outcome: Outcome) -> bool:
    return not outcome.failures


def report(outcome: Outcome) -> str:
    return (
        f"{outcome.case.describe()}\nexit {outcome.exit_code}; failures: {outcome.failures}\n"
        f"stdout: {outcome.stdout[-2000:]}\nstderr: {outcome.stderr[-4000:]}"
    )


FUZZ = settings(
    deadline=None, database=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)  # fmt: skip


@pytest.fixture(scope="module")
def sqlite_bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    with bench(tmp_path_factory.mktemp("fuzz-sqlite")) as made:
        yield made


@pytest.fixture(scope="module")
def postgresql_bench(postgres: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    with bench(tmp_path_factory.mktemp("fuzz-pg"), postgres) as made:
        yield made


@settings(FUZZ, max_examples=200)
@given(case=cases())
def test_fuzzed_imports_on_sqlite(sqlite_bench: Bench, case: Case) -> None:
    outcome = sqlite_bench.run(case)
    assert fine(sqlite_bench, outcome), report(outcome)


@pytest.mark.postgres
@settings(FUZZ, max_examples=40)
@given(case=cases())
def test_fuzzed_imports_on_postgresql(postgresql_bench: Bench, case: Case) -> None:
    outcome = postgresql_bench.run(case)
    assert fine(postgresql_bench, outcome), report(outcome)


@pytest.mark.slow
@settings(FUZZ, max_examples=12)
@given(case=cases())
def test_fuzzed_imports_as_processes(sqlite_bench: Bench, case: Case) -> None:
    """The real process: its stderr as a person sees it, its peak memory (GNU time)."""
    outcome = sqlite_bench.run(case, subprocess_run=True)
    assert fine(sqlite_bench, outcome), report(outcome)
    assert outcome.peak_mb is not None and outcome.peak_mb < 500


def test_the_checks_catch_what_they_look_for(sqlite_bench: Bench) -> None:
    """A harness that cannot fail is no harness: a crash, a traceback, a change on exit 2."""
    case = Case("file", "handmade", {"actuals.csv": ORIGINAL["actuals.csv"]}, "actuals.csv", None, ["none"])
    fine = sqlite_bench.run(case)
    assert fine.exit_code == 0 and fine.failures == []
    broken = Outcome(case, 1, "", "Traceback (most recent call last):\nboom\n", 0.1)
    from tests.fuzzing import check

    url = sqlite_bench.url(case)
    with Workspace.open(url, user="boss") as ws:
        import_bundle(ws, HANDMADE / "actuals.csv")
        ws.user = "boss"
        extra = sqlite_bench.root / "extra.csv"
        extra.write_text("reference,date,funding_source_code,amount\nX-1,2006-01-01,VC,5\n")
        import_bundle(ws, extra, kind="income")  # the workspace changes ...
    check(broken, url, sqlite_bench.before["handmade"])  # ... under an exit 1 that printed a traceback
    sqlite_bench.dirty.add("handmade")
    assert "exit 1" in broken.failures and "traceback printed" in broken.failures
    assert "exit 2 without a message" not in broken.failures
    moved = Outcome(case, 2, "", "income.csv:2:amount: bad\n", 0.1)
    check(moved, url, sqlite_bench.before["handmade"])
    assert any(f.startswith("changed on exit 2") for f in moved.failures)


# -- what the fuzzer found ------------------------------------------------------------------------


def test_a_header_without_a_required_column_is_a_problem_not_a_crash(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by fuzzing: versions.csv whose header row was lost (its first data row read as
    the header) crashed the period rule on the missing name (exit 1, TypeError)."""
    with Workspace.open(db_url, user="tester", create=True) as ws:
        ws.init()
        import_bundle(ws, HANDMADE)
        before = ws.checksum()
    path = tmp_path / "versions.csv"
    path.write_text("2006-2007 approved,approved,,,\n2006-2007 approved,approved,,,\n")
    assert main(["--db", db_url, "--user", "boss", "import", str(path)]) == 2
    err = capsys.readouterr().err
    assert "versions.csv:1:name: required column is missing from the header" in err
    assert "versions.csv:1:status: required column is missing from the header" in err
    assert "unexpected" not in err
    with Workspace.open(db_url, user="boss") as ws:
        assert ws.checksum() == before


def test_a_date_back_with_different_content_is_a_problem_not_a_crash(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by fuzzing: an actual already in the workspace, back with another date, crashed
    the message that says so (exit 1, AttributeError: 'str' object has no attribute 'isoformat')."""
    with Workspace.open(db_url, user="tester", create=True) as ws:
        ws.init()
        import_bundle(ws, HANDMADE)
        before = ws.checksum()
    path = tmp_path / "actuals.csv"
    path.write_text(ORIGINAL["actuals.csv"].decode().replace("F-1,2006-03-01", "F-1,2006-03-02"))
    assert main(["--db", db_url, "--user", "boss", "import", str(path)]) == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        "actuals.csv:2:date: reference=F-1 is already in the workspace with different content "
        "(date is 2006-03-01 there, 2006-03-02 here); an import adds rows, it never overwrites them"
    )
    with Workspace.open(db_url, user="boss") as ws:
        assert ws.checksum() == before


def test_a_header_with_a_newline_or_an_escape_stays_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Found by fuzzing: a header cell holding a newline (quoted) or an escape sequence was
    printed raw in its problem line: the line broke in two, the escape reached the terminal."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with Workspace.open(url, user="tester", create=True) as ws:
        ws.init()
    path = tmp_path / "income.csv"
    path.write_text('reference,date,funding_source_code,amount,"no\nte\x1b[31m\u202e"\nI-9,2006-01-01,VC,5,x\n')
    assert main(["--db", url, "import", str(path), "--kind", "income"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[0] == (
        "income.csv:1:no\\nte\\x1b[31m\\u202e: unknown column; income.csv has: reference, date, "
        "funding_source_code, amount"
    )
    assert "\x1b" not in err and len(err.splitlines()) == 3


def _one_sheet_with_a_cell(tmp_path: Path, cell: str) -> Path:
    """units.xlsx: the hand-made units, its B2 cell's XML replaced by ``cell``."""
    rows = [line.split(",") for line in ORIGINAL["units.csv"].decode().splitlines()]
    data = workbook({"units": rows})  # type: ignore[dict-item]
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    if cell == "<c":  # the sheet's XML cut short in its second row
        sheet = sheet[: sheet.index('<c r="B2"') + 2]
    parts["xl/worksheets/sheet1.xml"] = re.sub(r'<c r="B2"[^>]*>.*?</c>', cell, sheet, count=1).encode()
    path = tmp_path / "units.xlsx"
    with zipfile.ZipFile(path, "w") as target:
        for name, content in parts.items():
            target.writestr(name, content)
    return path


@pytest.mark.parametrize(
    "cell",
    ['<c r="B2" t="d"><v>1</v></c>', '<c r="B2" t="b"><v>abc</v></c>', '<c r="B2" t="s"><v>abc</v></c>', "<c"],
    ids=["date-of-1", "bool-of-abc", "string-number-abc", "cut-short"],
)
def test_a_cell_that_does_not_fit_its_type_is_a_problem(
    cell: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with Workspace.open(url, user="tester", create=True) as ws:
        ws.init()
        import_bundle(ws, HANDMADE)
        before = ws.checksum()
    path = _one_sheet_with_a_cell(tmp_path, cell)
    code = main(["--db", url, "--user", "boss", "import", str(path), "--kind", "units"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "unexpected" not in err
    with Workspace.open(url, user="boss") as ws:
        assert ws.checksum() == before
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_a_damaged_workbook_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Found by fuzzing: one byte gone from the workbook's properties (a date of 206-01-01)."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with Workspace.open(url, user="tester", create=True) as ws:
        ws.init()
    rows = [line.split(",") for line in ORIGINAL["units.csv"].decode().splitlines()]
    with zipfile.ZipFile(io.BytesIO(workbook({"units": rows}))) as source:  # type: ignore[dict-item]
        parts = {info.filename: source.read(info) for info in source.infolist()}
    parts["docProps/core.xml"] = parts["docProps/core.xml"].replace(b">2006-01-01T", b">206-01-01T", 1)
    path = tmp_path / "units.xlsx"
    with zipfile.ZipFile(path, "w") as target:
        for name, content in parts.items():
            target.writestr(name, content)
    assert main(["--db", url, "import", str(path), "--kind", "units"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"itu-plan: {path} is not a readable .xlsx workbook")
    assert len(err.splitlines()) == 1, err


def test_openpyxl_warnings_stay_off_the_terminal(tmp_path: Path) -> None:
    """Found by the long fuzzing run (one bit flipped in xl/workbook.xml), as a real process."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    with Workspace.open(url, user="tester", create=True) as ws:
        ws.init()
    rows = [line.split(",") for line in ORIGINAL["units.csv"].decode().splitlines()]
    with zipfile.ZipFile(io.BytesIO(workbook({"units": rows}))) as source:  # type: ignore[dict-item]
        parts = {info.filename: source.read(info) for info in source.infolist()}
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
        b'xmlns:r="http://schemas.', b'xmlns:r="http://skhemas.'
    )
    path = tmp_path / "units.xlsx"
    with zipfile.ZipFile(path, "w") as target:
        for name, content in parts.items():
            target.writestr(name, content)
    done = subprocess.run(
        [sys.executable, "-m", "itu_plan.cli", "--db", url, "import", str(path), "--kind", "units"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(HANDMADE.parent.parent.parent)},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert all(line.startswith(("itu-plan: ", "units.csv:")) for line in done.stderr.splitlines()), done.stderr
