"""Hostile input and faults (issue 13): amounts the editor refuses are not imported,
control characters never reach a terminal, spreadsheets never hold a formula that
came from data, workbooks cannot exhaust the machine, a flood of problems is
summarised, and an export that fails half-way leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest

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
