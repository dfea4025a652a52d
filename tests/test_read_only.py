"""A SQLite workspace the user may not write opens read-only (issue 13, finding 7):
reports and `version list` work, a change is refused with one sentence (exit 3), and
nothing is left beside the file.

Permission bits do not stop root, and CI runs as root: the commands then run as the
unprivileged user ``nobody`` (``runuser``), on files in a folder it may enter.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from itu_plan import ReadOnlyWorkspace, Workspace, store

REPO = Path(__file__).resolve().parent.parent
AS_ROOT = os.geteuid() == 0


def run(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`itu-plan --db DB --user admin ARGS` as a user other than the file's owner when root."""
    command = [sys.executable, "-m", "itu_plan.cli", "--db", f"sqlite:///{db}", "--user", "admin", *args]
    if AS_ROOT:
        command = ["runuser", "-u", "nobody", "--", "env", f"PYTHONPATH={REPO}", *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd="/")


@pytest.fixture
def shelf(demo_sqlite: str) -> Iterator[Path]:
    """A folder anyone may enter (tmp_path is root's alone), holding a copy of the demo."""
    if AS_ROOT and not shutil.which("runuser"):
        pytest.skip("runuser is needed to test permissions as root")
    folder = Path(tempfile.mkdtemp(prefix="itu-ro-"))
    folder.chmod(0o755)
    shutil.copyfile(demo_sqlite, folder / "plan.db")
    try:
        yield folder
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)


def owner_report(db: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "itu_plan.cli", "--db", f"sqlite:///{db}", "--user", "admin", "report", "agreements",
         "--format", "csv"], capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout


@pytest.mark.parametrize("case", ["file 0444", "folder 0555", "file 0444, folder writable"])
def test_a_workspace_the_user_cannot_write_is_read_and_refuses_changes(shelf: Path, case: str) -> None:
    db = shelf / "plan.db"
    expected = owner_report(db)
    if AS_ROOT and case == "folder 0555":
        shutil.chown(db, "nobody")  # their own file, in a folder they may not write
    if case != "folder 0555":
        db.chmod(0o444)
    if case == "folder 0555":
        shelf.chmod(0o555)
    elif case == "file 0444, folder writable":
        shelf.chmod(0o777)
    listed = run(db, "version", "list")
    assert listed.returncode == 0, listed.stderr
    assert "2006-2007 approved" in listed.stdout
    report = run(db, "report", "agreements", "--format", "csv")
    assert report.returncode == 0, report.stderr
    assert report.stdout == expected
    for change in (["version", "copy", "2006-2007 approved", "mine"], ["init"], ["import", str(shelf)]):
        refused = run(db, *change)
        assert refused.returncode == 3, (change, refused.stderr)
        assert refused.stderr.startswith(f"itu-plan: the workspace at {db} is read-only for you: "), refused.stderr
        assert "Traceback" not in refused.stderr and refused.stdout == ""
    if case != "file 0444, folder writable":
        assert sorted(p.name for p in shelf.iterdir()) == ["plan.db"]  # no journal left behind


def test_a_writable_workspace_is_not_read_only(demo_copy: str) -> None:
    with Workspace.open(demo_copy, user="admin") as workspace:
        assert not workspace.read_only
        workspace.require_writable()


def test_read_only_workspaces_refuse_in_python_and_in_the_apps(demo_copy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Seen as a user who may not write the file (root's permission bits aside)."""
    path = Path(demo_copy.removeprefix("sqlite:///"))
    real_access = os.access
    monkeypatch.setattr(store.os, "access", lambda p, mode: False if Path(p) == path and mode & os.W_OK else real_access(p, mode))  # fmt: skip
    import widgets

    app = widgets.App.open(demo_copy, user="planner.bdt")
    assert app.workspace.read_only
    assert app.workspace.report("agreements").shape[0] > 0
    with pytest.raises(ReadOnlyWorkspace, match="is read-only for you"), app.workspace.transaction():
        pass
    assert not app.user.can_write and not app.user.can_approve
    header = widgets.AppHeader(app, "Plan")
    assert "the workspace is read-only for you" in header.html.value
    bar = widgets.FilterBar(app, unit="BDT", year=2006, prefer_draft=True)
    grid = widgets.PlanGrid(app, bar)
    assert grid.read_only and grid.editor not in grid.children and "read-only for you" in grid.status.value
    app.close()
    assert stat.S_IMODE(path.stat().st_mode)  # the file is untouched
