"""Bundles that import: the hand-made one, round trips, workbooks, single files, re-imports."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from itu_plan import PermissionDenied, ValidationError, Workspace
from itu_plan.bundle import export_bundle, import_bundle
from itu_plan.cli import main
from itu_plan.model import Actual, AuditEvent, CostLine, Unit
from tests.bundles import schema_differences

HANDMADE = Path(__file__).parent / "data" / "handmade"


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_handmade_bundle_imports_cleanly(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", workspace.url, "import", str(HANDMADE), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "units.csv: 3 rows added" in out and "income.csv: 1 row added" in out
    with workspace.reading() as s:
        lines = {(c.grade, c.amount_centimes) for c in s.scalars(select(CostLine))}
        # 6 months of P-3 at CHF 184,000; 1.5 months of G-5 at CHF 117,000.50 (14,625.0625 -> .06)
        assert ("P-3", 92_000_00) in lines and ("G-5", 14_625_06) in lines
        bdt_afr = s.scalars(select(Unit).where(Unit.code == "BDT-AFR")).one()
        assert bdt_afr.parent is not None and bdt_afr.parent.code == "BDT"  # child listed before parent
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "import")).all()
        assert {e.record_key for e in events} >= {"units.csv", "actuals.csv", "users.csv"}


def test_reimport_is_a_no_op(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    import_bundle(workspace, HANDMADE)
    workspace.user = "boss"  # the bundle defines users; boss is its admin
    checksum = workspace.checksum()
    assert main(["--db", workspace.url, "--user", "boss", "import", str(HANDMADE), "--quiet"]) == 0
    assert "units.csv: 0 rows added (3 already there)" in capsys.readouterr().out
    assert workspace.checksum() == checksum


def test_round_trip_is_byte_identical(db_url: str, demo_sqlite: str, tmp_path: Path) -> None:
    with Workspace.open(f"sqlite:///{demo_sqlite}", user="admin") as demo:
        export_bundle(demo, tmp_path / "first")
    with Workspace.open(db_url, user="admin", create=True) as target:
        target.init()
        import_bundle(target, tmp_path / "first")
        export_bundle(target, tmp_path / "second")
        assert target.as_of == dt.date(2007, 6, 30), "settings.csv carries the as-of date"
    assert files_of(tmp_path / "first") == files_of(tmp_path / "second")


def test_exported_package_is_valid_frictionless(workspace: Workspace, tmp_path: Path) -> None:
    frictionless = pytest.importorskip("frictionless")
    import_bundle(workspace, HANDMADE)
    export_bundle(workspace, tmp_path / "out")
    descriptor = json.loads((tmp_path / "out" / "datapackage.json").read_text())
    assert {r["name"] for r in descriptor["resources"]} >= {"actuals", "cost_lines", "users"}
    actuals = next(r for r in descriptor["resources"] if r["name"] == "actuals")
    assert actuals["schema"]["primaryKey"] == ["reference"]
    assert {"fields": ["unit_code"], "reference": {"resource": "units", "fields": ["code"]}} in actuals["schema"][
        "foreignKeys"
    ]
    report = frictionless.validate(str(tmp_path / "out" / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])


def test_xlsx_round_trip(workspace: Workspace, tmp_path: Path) -> None:
    import_bundle(workspace, HANDMADE)
    export_bundle(workspace, tmp_path / "csv")
    assert main(["--db", workspace.url, "--user", "boss", "export", str(tmp_path / "xlsx"), "--format", "xlsx"]) == 0
    with Workspace.open(f"sqlite:///{tmp_path / 'again.db'}", user="x", create=True) as again:
        again.init()
        import_bundle(again, tmp_path / "xlsx" / "bundle.xlsx")
        export_bundle(again, tmp_path / "csv2")
    assert files_of(tmp_path / "csv") == files_of(tmp_path / "csv2")


def test_one_file_with_kind(workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import_bundle(workspace, HANDMADE)
    extra = tmp_path / "march.csv"
    extra.write_text(
        "reference,date,unit_code,activity_code,objective_code,category,amount,funding_source_code\n"
        "M-1,2006-03-31,GS,A-2,,documents,120.50,RB\n"
    )
    assert main(["--db", workspace.url, "--user", "boss", "import", str(extra), "--kind", "actuals"]) == 0
    assert "actuals.csv: 1 row added" in capsys.readouterr().out
    assert main(["--db", workspace.url, "--user", "boss", "import", str(extra)]) == 2
    assert "give --kind" in capsys.readouterr().err
    assert main(["--db", workspace.url, "--user", "boss", "import", str(extra), "--kind", "bogus"]) == 2


def test_import_needs_a_user_who_may_write(workspace: Workspace) -> None:
    import_bundle(workspace, HANDMADE)
    workspace.user = "pl"  # a planner
    with pytest.raises(PermissionDenied, match="pl may not import"):
        import_bundle(workspace, HANDMADE / "actuals.csv")
    workspace.user = "nobody"
    with pytest.raises(PermissionDenied, match="not one of its users"):
        import_bundle(workspace, HANDMADE / "actuals.csv")


def test_sigkill_half_way_leaves_the_workspace_as_before(db_url: str, tmp_path: Path) -> None:
    with Workspace.open(db_url, user="admin", create=True) as ws:
        ws.init()
        import_bundle(ws, HANDMADE)
        before_counts, before = ws.table_counts(), ws.checksum()
    big = tmp_path / "actuals.csv"
    with big.open("w") as out:
        out.write("reference,date,unit_code,activity_code,objective_code,category,amount,funding_source_code\n")
        for n in range(400_000):
            out.write(f"K-{n},2006-05-01,GS,,S-01,travel,{n % 997}.25,RB\n")
    env = {**os.environ, "ITU_PLAN_USER": "boss"}
    process = subprocess.Popen(
        [sys.executable, "-m", "itu_plan.cli", "--db", db_url, "import", str(big)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    # wait until the progress bar shows rows being loaded, then kill
    assert process.stderr is not None
    seen = ""
    deadline = time.monotonic() + 60
    while "Importing" not in seen and time.monotonic() < deadline:
        seen += process.stderr.read(1)
    time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    with Workspace.open(db_url, user="boss") as ws:
        assert ws.table_counts() == before_counts
        assert ws.checksum() == before
        assert schema_differences(ws) == []  # on PostgreSQL the set-aside foreign keys are back
        import_bundle(ws, HANDMADE / "actuals.csv")  # and it is still usable


def test_large_loads_set_foreign_keys_aside_and_restore_them(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a large load drops the table's foreign keys and adds them back,
    validated, in the same transaction; on SQLite nothing changes."""
    from itu_plan import bulk

    monkeypatch.setattr(bulk, "SET_ASIDE_ROWS", 1)
    dropped: list[str] = []
    original = bulk.set_aside_foreign_keys

    def spy(connection, table, rows):  # type: ignore[no-untyped-def]
        keys = original(connection, table, rows)
        dropped.extend(str(key.name) for key in keys)
        return keys

    monkeypatch.setattr(bulk, "set_aside_foreign_keys", spy)
    import_bundle(workspace, HANDMADE)
    postgres = workspace.engine.dialect.name == "postgresql"
    assert ("fk_actuals_unit_id_units" in dropped) is postgres
    assert schema_differences(workspace) == []
    if postgres:
        with workspace.engine.connect() as connection:
            unvalidated = connection.execute(text("SELECT conname FROM pg_constraint WHERE NOT convalidated"))
            assert unvalidated.all() == []
    with pytest.raises(IntegrityError), workspace.engine.begin() as connection:  # the restored keys hold
        connection.execute(text("UPDATE actuals SET unit_id = 999999"))


@pytest.mark.parametrize("fast", [True, False], ids=["pandas-reader", "csv-reader"])
def test_large_files_read_the_same_either_way(
    fast: bool, workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Big simple files go through pandas' C parser; any irregularity falls back to the
    csv module, so problems are reported exactly as for small files."""
    from itu_plan.bundle import read

    monkeypatch.setattr(read, "FAST_READ_BYTES", 1 if fast else 1 << 40)
    import_bundle(workspace, HANDMADE)
    workspace.user = "boss"
    header = "reference,date,unit_code,activity_code,objective_code,category,amount,funding_source_code\n"
    rows = [f"B-{n},2006-05-01,GS,,S-01,travel,{n}.{n % 100:02d},RB\n" for n in range(3000)]
    good = tmp_path / "actuals.csv"
    good.write_text(header + "".join(rows))
    assert read.simple_lines(good.read_bytes().partition(b"\n")[2], 8) is True
    import_bundle(workspace, good)
    with workspace.reading() as s:
        total = s.scalar(select(func.sum(Actual.amount_centimes)).where(Actual.reference.like("B-%")))
    assert total == sum(n * 100 + n % 100 for n in range(3000))
    # cells with spaces around them are trimmed, whichever reader reads them
    spaced = tmp_path / "spaced" / "actuals.csv"
    spaced.parent.mkdir()
    lines = [r.replace("B-", "S-") for r in rows]
    lines[7] = "S-7 ,2006-05-01,GS,, S-01,travel,  7.07,RB\n"
    lines[8] = "S-8,2006-05-01,GS,,S-01,travel,8.08,RB\u00a0\n"
    spaced.write_text(header + "".join(lines))
    assert read.simple_lines(spaced.read_bytes().partition(b"\n")[2], 8) is False  # simple, not trimmed
    import_bundle(workspace, spaced)
    with workspace.reading() as s:
        query = select(Actual.reference, Actual.amount_centimes).where(Actual.reference.like("S-%"))
        added = {reference: amount for reference, amount in s.execute(query)}
    assert len(added) == 3000 and added["S-7"] == 707 and added["S-8"] == 808
    bad = tmp_path / "more" / "actuals.csv"
    bad.parent.mkdir()
    rows = [r.replace("B-", "C-") for r in rows]
    rows[1500] = "C-1500,2006-05-01,GS\n"  # a short row in the middle
    rows[2000] = " C-2000,2006-05-01,GS,,S-01,travel,1.005,RB\n"
    bad.write_text(header + "".join(rows))
    assert read.simple_lines(bad.read_bytes().partition(b"\n")[2], 8) is None
    with pytest.raises(ValidationError) as caught:
        import_bundle(workspace, bad)
    assert caught.value.lines() == [
        "actuals.csv:1502:: the row has 3 cells; the header has 8",
        "actuals.csv:2002:amount: '1.005' has more than two decimals",
    ]


def test_blank_lines_at_the_end_are_not_rows(workspace: Workspace, tmp_path: Path) -> None:
    path = tmp_path / "income.csv"
    path.write_text("reference,date,funding_source_code,amount\nI-1,2006-01-01,VC,5\n\n\n")
    import_bundle(workspace, HANDMADE / "funding_sources.csv")
    assert import_bundle(workspace, path)[0].added == 1


TRICKY_NUMBERS = [
    "1", "-1", "0", "-0", "007", "1.5", "1.50", "-0.05", "1.505", "1.500", "1.", ".5", "-.5", "-", "--1", "1-2",
    "1.2.3", "1e5", "+1", "1_000", "\u0661", "nan", "inf", "Infinity", "0x10", "1,5", "9999999999999.99",
    "99999999999999.99", "999999999999999", "9999999999999999", "12345678901234.5",
]  # fmt: skip


@pytest.mark.parametrize("kind", ["money", "int", "scaled"])
def test_the_fast_column_path_agrees_with_the_cell_parsers(kind: str) -> None:
    """Whole columns typed at once give the cell parsers' values, or decline (None) and
    leave the cell-by-cell path to explain; clean columns are never declined."""
    from itu_plan.bundle import load
    from itu_plan.bundle.spec import BY_NAME, Field

    spec = BY_NAME["actuals"]
    f = Field("x", kind, scale=4 if kind == "scaled" else 0)
    parse = load.parser_for(spec, f)
    for number in TRICKY_NUMBERS:
        try:
            wanted: object = parse(number)
        except ValueError:
            wanted = None
        fast = load.fast_column(spec, f, [number, "1"], trimmed=True)
        if wanted is None:
            assert fast is None, number
        elif fast is not None:
            assert fast == [wanted, parse("1")], number
    clean = ["12", "-3", "0", "4"] if kind == "int" else ["12.5", "-3.25", "0", "4.1"]
    assert load.fast_column(spec, f, clean, trimmed=True) == [parse(t) for t in clean]
    assert load.fast_column(spec, f, ["", *clean], trimmed=True) == [None, *(parse(t) for t in clean)]
