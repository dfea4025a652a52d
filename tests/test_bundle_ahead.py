"""Large files are checked by a forked process while this one inserts (``itu_plan.bundle.ahead``).

Whichever way a file goes (working ahead or not, pandas' parser or the csv module,
block by block), the workspace and the problem lines must come out the same.
The thresholds are lowered so that small files take every path.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from itu_plan import ValidationError, Workspace
from itu_plan.bundle import ahead, export_bundle, import_bundle, load, read
from itu_plan.model import ActualTotal

from .test_bundle import HANDMADE, files_of

ACTUALS_HEADER = "reference,date,unit_code,activity_code,objective_code,category,amount,funding_source_code\n"


@pytest.fixture
def paths(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], None]:
    """``choose(True)`` makes every file work ahead, ``choose(False)`` none; both read
    in 16 KB blocks (the first 2 KB) and check 700 rows at a time."""
    monkeypatch.setattr(read, "FAST_READ_BYTES", 1)
    monkeypatch.setattr(read, "BLOCK_BYTES", 16 << 10)
    monkeypatch.setattr(load, "CHUNK", 700)
    monkeypatch.setattr(ahead, "available", lambda: True)  # even on one core

    def choose(work_ahead: bool) -> None:
        monkeypatch.setattr(load, "AHEAD_BYTES", 1 if work_ahead else 1 << 60)

    return choose


def actual(n: int) -> str:
    if n % 7 == 0:  # no activity, an objective of its own
        return f"X-{n},2006-{n % 12 + 1:02d}-{n % 28 + 1:02d},GS,,S-01,other,{n}.{n % 100:02d},RB\n"
    objective = "D-1" if n % 5 == 0 else ""  # agreeing with the activity's
    return f"X-{n},2007-{n % 12 + 1:02d}-{n % 28 + 1:02d},BDT-AFR,A-{100 + n % 3000},{objective},travel,-{n}.5,VC\n"


def big_bundle(folder: Path) -> Path:
    """The hand-made bundle with 3,000 more activities, 6,000 cost lines, 6,000 actuals."""
    shutil.copytree(HANDMADE, folder)
    with (folder / "activities.csv").open("a") as out:
        for n in range(100, 3100):
            out.write(f"A-{n},Activity {n},D-1,BDT-AFR,2006-01-01,2006-12-31,ongoing,\n")
    with (folder / "cost_lines.csv").open("a") as out:
        for n in range(100, 3100):
            out.write(f"2006-2007 draft,A-{n},2006,travel,,,{n}.50,VC\n")
            out.write(f"2006-2007 draft,A-{n},2006,staff,P-3,{n % 12 + 1},,RB\n")
    with (folder / "actuals.csv").open("a") as out:
        out.writelines(actual(n) for n in range(6000))
    return folder


def totals(ws: Workspace) -> list[tuple[object, ...]]:
    with ws.reading() as s:
        rows = s.execute(
            select(ActualTotal.year, ActualTotal.unit_id, ActualTotal.objective_id, ActualTotal.category,
                   ActualTotal.amount_centimes, ActualTotal.count, ActualTotal.last_date)
        )  # fmt: skip
        return sorted(tuple(r) for r in rows)


def test_working_ahead_loads_the_same_workspace(
    workspace: Workspace, tmp_path: Path, paths: Callable[[bool], None]
) -> None:
    bundle = big_bundle(tmp_path / "bundle")
    paths(False)
    with Workspace.open(f"sqlite:///{tmp_path / 'serial.db'}", user="tester", create=True) as serial:
        serial.init()
        import_bundle(serial, bundle)
        export_bundle(serial, tmp_path / "serial")
        expected_totals = totals(serial)
    paths(True)
    results = {r.filename: r.added for r in import_bundle(workspace, bundle)}
    assert results["actuals.csv"] == 6004 and results["cost_lines.csv"] == 6004 and results["activities.csv"] == 3002
    export_bundle(workspace, tmp_path / "ahead")
    assert files_of(tmp_path / "ahead") == files_of(tmp_path / "serial")
    assert totals(workspace) == expected_totals
    # again, into tables that are no longer empty: rows come back to be compared
    workspace.user = "boss"
    checksum = workspace.checksum()
    again = {r.filename: (r.added, r.unchanged) for r in import_bundle(workspace, bundle)}
    assert again["actuals.csv"] == (0, 6004)
    assert workspace.checksum() == checksum


def problems(ws: Workspace, path: Path) -> list[str]:
    checksum = ws.checksum()
    with pytest.raises(ValidationError) as caught:
        import_bundle(ws, path)
    assert ws.checksum() == checksum  # nothing written
    return caught.value.lines()


def test_working_ahead_reports_the_same_problems(
    workspace: Workspace, tmp_path: Path, paths: Callable[[bool], None]
) -> None:
    paths(False)
    import_bundle(workspace, big_bundle(tmp_path / "bundle"))
    workspace.user = "boss"
    rows = [actual(n).replace("X-", "Y-") for n in range(6000)]
    rows[1000] = rows[1000].replace(",travel,", ",travels,")
    rows[2500] = rows[2500].replace(",BDT-AFR,", ",BDT-XX,")
    rows[3000] = rows[3000].replace("Y-3000,", '"Y-3000",')  # a quote: the csv module reads on from here
    rows[4000] = rows[4000].replace("Y-4000,", "Y-3999,")
    rows[5000] = "Y-5000,2006-01-01,GS\n"
    bad = tmp_path / "bad" / "actuals.csv"
    bad.parent.mkdir()
    bad.write_text(ACTUALS_HEADER + "".join(rows))
    expected = [
        "actuals.csv:1002:category: 'travels' is not one of: staff, travel, meetings, documents, contractual, "
        "equipment, other",
        "actuals.csv:2502:unit_code: unknown unit 'BDT-XX' (not in the workspace nor in units.csv)",
        "actuals.csv:4002:reference: duplicate key (reference=Y-3999); it is also on row 4001",
        "actuals.csv:5002:: the row has 3 cells; the header has 8",
    ]
    assert problems(workspace, bad) == expected
    paths(True)
    assert problems(workspace, bad) == expected
    # a file that turns out not to be UTF-8 half-way
    encoded = tmp_path / "latin" / "actuals.csv"
    encoded.parent.mkdir()
    clean = "".join(actual(n).replace("X-", "Z-") for n in range(3000))
    encoded.write_bytes((ACTUALS_HEADER + clean).encode() + b"Z-\xe9,2006-01-01,GS,,S-01,other,1,RB\n")
    line = ["actuals.csv:3002:: the file is not UTF-8 text (byte 0xE9 on line 3002); save it as UTF-8"]
    assert problems(workspace, encoded) == line
    paths(False)
    assert problems(workspace, encoded) == line
    # a row that comes back with other content (a file given with --kind is named as its kind)
    renamed = tmp_path / "2007 actuals.csv"
    renamed.write_text(ACTUALS_HEADER + "".join(actual(n) for n in range(3000)).replace(",-2999.5,", ",-2999.25,"))
    checksum = workspace.checksum()
    for work_ahead in (True, False):
        paths(work_ahead)
        with pytest.raises(ValidationError) as caught:
            import_bundle(workspace, renamed, kind="actuals")
        assert caught.value.lines() == [
            "actuals.csv:3001:amount: reference=X-2999 is already in the workspace with different content "
            "(amount is -2999.50 there, -2999.25 here); an import adds rows, it never overwrites them"
        ]
    assert workspace.checksum() == checksum


def test_a_failure_while_working_ahead_reaches_the_importer(
    workspace: Workspace, tmp_path: Path, paths: Callable[[bool], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    paths(True)
    import_bundle(workspace, HANDMADE)
    workspace.user = "boss"
    big = tmp_path / "actuals.csv"
    big.write_text(ACTUALS_HEADER + "".join(f"W-{n},2006-05-01,BDT-AFR,A-1,,travel,{n}.25,VC\n" for n in range(3000)))
    checksum = workspace.checksum()

    def broken(self: load.Importer, chunk: load.Chunk) -> None:
        raise ArithmeticError("a rule broke")

    with monkeypatch.context() as patched:
        patched.setattr(load.Importer, "_rules_actuals", broken)
        with pytest.raises(ArithmeticError, match="a rule broke"):
            import_bundle(workspace, big)
    # the process working ahead has no database: what it needs is looked up before
    with monkeypatch.context() as patched:
        patched.setattr(load.Importer, "_look_up", lambda self, spec: None)
        with pytest.raises(RuntimeError, match="may not use the database"):
            import_bundle(workspace, big)
    assert workspace.checksum() == checksum
    assert import_bundle(workspace, big)[0].added == 3000  # and the workspace is fine


def test_sqlite_skips_only_the_checks_the_importer_made(workspace: Workspace, tmp_path: Path) -> None:
    """A bulk load may skip CHECK constraints that only restrict a column to values the
    loader has checked itself; the constraints hold again for every later write."""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from itu_plan import bulk, model

    actuals, cost_lines = model.Actual.__table__, model.CostLine.__table__
    assert bulk._only_enum_checks(actuals, {"category": model.CATEGORIES})  # type: ignore[arg-type]
    assert not bulk._only_enum_checks(actuals, {"category": (*model.CATEGORIES, "gifts")})  # type: ignore[arg-type]
    assert not bulk._only_enum_checks(actuals, {})  # type: ignore[arg-type]
    assert not bulk._only_enum_checks(cost_lines, {"category": model.CATEGORIES})  # type: ignore[arg-type]
    import_bundle(workspace, HANDMADE)
    with pytest.raises(IntegrityError), workspace.engine.begin() as connection:
        connection.execute(text("UPDATE actuals SET category = 'gifts'"))
    with pytest.raises(IntegrityError), workspace.engine.begin() as connection:
        connection.execute(
            text("INSERT INTO actuals (reference, date, unit_id, category, amount_centimes, funding_source_id) "
                 "SELECT 'G-1', date, unit_id, 'gifts', 1, funding_source_id FROM actuals LIMIT 1")
        )  # fmt: skip


def read_cells(path: Path) -> tuple[list[list[str]], list[bool]]:
    """The rows of an actuals file as the importer's reader gives them, and for each
    piece whether the fast reader split it."""
    from itu_plan.bundle.spec import BY_NAME

    raw = read.read_csv(path, BY_NAME["actuals"], "actuals.csv")
    assert raw.header == ACTUALS_HEADER.strip().split(",")
    found: list[list[str]] = []
    fast: list[bool] = []
    for _first, piece in raw.pieces(700):
        fast.append(isinstance(piece, read.Columns))
        found.extend(map(list, zip(*piece.columns, strict=True)) if isinstance(piece, read.Columns) else piece)
    return found, fast


def test_windows_line_ends_take_the_fast_reader(
    workspace: Workspace, tmp_path: Path, paths: Callable[[bool], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files saved on Windows (CRLF) are split by the fast reader, cell for cell as with
    LF; a carriage return anywhere else hands the rest of the file to the csv module."""
    paths(True)
    rows = [actual(n) for n in range(3000)]
    unix, windows, odd = (tmp_path / name / "actuals.csv" for name in ("unix", "windows", "odd"))
    for path in (unix, windows, odd):
        path.parent.mkdir()
    unix.write_bytes((ACTUALS_HEADER + "".join(rows)).encode())
    windows.write_bytes(unix.read_bytes().replace(b"\n", b"\r\n"))
    odd_rows = list(rows)
    odd_rows[2000] = odd_rows[2000].replace(",travel,", ",tra\rvel,")
    odd.write_bytes((ACTUALS_HEADER + "".join(odd_rows)).encode().replace(b"\n", b"\r\n"))

    expected, fast = read_cells(unix)
    assert all(fast) and len(expected) == 3000
    assert read_cells(windows) == (expected, fast)
    import_bundle(workspace, HANDMADE)
    workspace.user = "boss"
    import_bundle(workspace, big_bundle(tmp_path / "bundle") / "activities.csv")
    assert import_bundle(workspace, windows)[0].added == 3000
    # a lone carriage return: the csv module reads on from its block, as it reads a whole file
    found, fast = read_cells(odd)
    assert fast[0] and not fast[-1] and found[:2000] == expected[:2000]
    lines = problems(workspace, odd)
    monkeypatch.setattr(read, "FAST_READ_BYTES", 1 << 60)
    slow, fast = read_cells(odd)
    assert slow == found and not any(fast)
    assert problems(workspace, odd) == lines


def _quoted_all(row: str) -> str:
    return ",".join(f'"{cell}"' for cell in row.rstrip("\n").split(",")) + "\n"


def _quoted_text(row: str) -> str:  # as pandas' QUOTE_NONNUMERIC or R's write.csv: text quoted, numbers not
    cells = row.rstrip("\n").split(",")
    return ",".join(cell if cell.lstrip("-").replace(".", "").isdigit() else f'"{cell}"' for cell in cells) + "\n"


ODD_QUOTES: dict[str, Callable[[str], str]] = {  # each changes the first cell of a row
    "a comma inside a quoted cell": lambda row: row.replace('"X-2000"', '"X-2000,b"', 1),
    "an escaped quote": lambda row: row.replace('"X-2000"', '"X-2000 ""b"""', 1),
    "a quote inside a cell": lambda row: row.replace('"X-2000"', 'X-2000"b"', 1),
    "a quoted comma that hides a missing cell": lambda row: row.replace('"X-2000","', '"X-2000,', 1),
    "a newline inside quotes": lambda row: row.replace('"X-2000"', '"X-2000\nb"', 1),
}


@pytest.mark.parametrize("quoting", [_quoted_all, _quoted_text], ids=["all-quoted", "text-quoted"])
@pytest.mark.parametrize("odd", [None, *ODD_QUOTES], ids=["clean", *ODD_QUOTES])
def test_quoted_cells_read_as_the_csv_module_reads_them(
    tmp_path: Path, paths: Callable[[bool], None], monkeypatch: pytest.MonkeyPatch,
    quoting: Callable[[str], str], odd: str | None,
) -> None:  # fmt: skip
    """Quotes around whole cells are read by the fast reader; any other use of quotes hands
    the rest of the file to the csv module. Either way the cells are the csv module's."""
    paths(True)
    rows = [quoting(actual(n)) for n in range(3000)]
    if odd is not None:
        changed = ODD_QUOTES[odd](rows[2000])
        assert changed != rows[2000]
        rows[2000] = changed
    path = tmp_path / "actuals.csv"
    path.write_text(_quoted_all(ACTUALS_HEADER) + "".join(rows))

    found, fast = read_cells(path)
    monkeypatch.setattr(read, "FAST_READ_BYTES", 1 << 60)
    expected, slow = read_cells(path)
    assert not any(slow) and found == expected
    assert fast[0] and all(fast) == (odd is None)  # the fast reader took what it could
    if odd is None:
        assert found == [actual(n).rstrip("\n").split(",") for n in range(3000)]


def test_the_bad_input_corpus_reads_the_same_through_the_fast_reader(
    tmp_path: Path, paths: Callable[[bool], None]
) -> None:
    """Every case of the bad-input corpus, read block by block and checked by a process
    working ahead, gives exactly the problem lines the csv module gives."""
    from .test_bundle_bad_input import CASES, write_bundle

    paths(True)
    with Workspace.open(f"sqlite:///{tmp_path / 'w.db'}", user="tester", create=True) as ws:
        ws.init()
        import_bundle(ws, HANDMADE)
        ws.user = "boss"
        for n, (case, (files, expected)) in enumerate(CASES.items()):
            assert problems(ws, write_bundle(tmp_path / f"case-{n}", files)) == expected, case
