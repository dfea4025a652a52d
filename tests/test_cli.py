"""The command line: exit codes, plain-sentence errors, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from itu_plan import Workspace
from itu_plan.cli import main


def itu(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a new process."""
    return subprocess.run([sys.executable, "-m", "itu_plan.cli", *args], capture_output=True, text=True, env=env)


def test_init_twice_then_demo_then_refusal(db_url: str) -> None:
    first = itu("--db", db_url, "init")
    assert first.returncode == 0, first.stderr
    assert "Created the workspace schema" in first.stdout
    second = itu("--db", db_url, "init")
    assert second.returncode == 0 and "up to date" in second.stdout
    demo = itu("--db", db_url, "--user", "alice", "demo", "--quiet")
    assert demo.returncode == 0, demo.stderr
    assert "actuals" in demo.stdout
    with Workspace.open(db_url) as ws:
        before = ws.checksum()
    again = itu("--db", db_url, "demo")
    assert again.returncode == 2
    assert "already holds data" in again.stderr and "nothing was changed" in again.stderr
    assert "Traceback" not in again.stderr
    with Workspace.open(db_url) as ws:
        assert ws.checksum() == before


def test_demo_force_needs_an_admin(demo_copy: str) -> None:
    assert main(["--db", demo_copy, "--user", "reviewer", "demo", "--force", "--quiet"]) == 3
    assert main(["--db", demo_copy, "--user", "stranger", "demo", "--force", "--quiet"]) == 3
    assert main(["--db", demo_copy, "--user", "admin", "demo", "--force", "--quiet"]) == 0


def test_permission_message_names_who_what_why(demo_copy: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["--db", demo_copy, "--user", "reviewer", "demo", "--force", "--quiet"])
    err = capsys.readouterr().err
    assert err.startswith("itu-plan: reviewer may not replace the workspace content")
    assert "needs the admin role and they are reviewer" in err


def test_global_options_work_after_the_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'w.db'}"
    assert main(["init", "--db", url]) == 0
    assert (tmp_path / "w.db").exists()


def test_environment_names_the_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ITU_PLAN_DB", f"sqlite:///{tmp_path / 'env.db'}")
    assert main(["init"]) == 0
    assert (tmp_path / "env.db").exists()


def test_default_database_is_in_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ITU_PLAN_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    assert (tmp_path / "itu_plan.db").exists()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--db", "mysql://x@y/z", "init"], 2, "must be SQLite or PostgreSQL"),
        (["--db", "not a url", "init"], 2, "is not a database URL"),
        (["demo", "--scale", "0"], 2, "--scale must be 1 or more"),
        (["bogus"], 2, "invalid choice"),
        (["--db", "postgresql+psycopg://nobody@/nowhere?host=/nonexistent", "init"], 1, "database"),
    ],
)
def test_errors_are_sentences_not_tracebacks(args: list[str], code: int, message: str, tmp_path: Path) -> None:
    result = itu(*args) if "--db" in args else itu("--db", f"sqlite:///{tmp_path / 'w.db'}", *args)
    assert result.returncode == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_sqlite_workspace_is_named(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="there is no workspace at"):
        Workspace.open(f"sqlite:///{tmp_path / 'nope.db'}")
    assert not (tmp_path / "nope.db").exists()


def test_help_lists_every_command() -> None:
    result = itu("--help")
    assert result.returncode == 0
    for command in ("init", "demo", "serve", "lab"):
        assert command in result.stdout


def test_an_undefined_user_is_refused_once_users_exist(demo_copy: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", demo_copy, "--user", "stranger", "report", "agreements"]) == 3
    assert "stranger may not use this workspace" in capsys.readouterr().err
    assert main(["--db", demo_copy, "--user", "auditor", "report", "agreements", "--format", "csv"]) == 0


def test_report_names_the_year_and_says_when_it_is_outside_the_versions_period(
    demo_copy: str, capsys: pytest.CaptureFixture[str]
) -> None:
    said = "2005 is outside the period of version 2006-2007 approved (2006-2007)"
    assert main(["--db", demo_copy, "--user", "auditor", "report", "plan-costs", "--year", "2005"]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines()[0] == "plan-costs: version 2006-2007 approved (2006-2007), year 2005, as of 2007-06-30"
    assert f"(no rows: {said}" in out.out and out.err == ""
    for fmt, empty in (("csv", "year,unit_code,objective_code,category,amount\n"), ("json", "[]\n")):
        assert (
            main(["--db", demo_copy, "--user", "auditor", "report", "plan-costs", "--year", "2005", "--format", fmt])
            == 0
        )
        out = capsys.readouterr()
        assert out.out == empty and said in out.err  # the output keeps to the contract's columns
    assert (
        main(["--db", demo_copy, "--user", "auditor", "report", "plan-costs", "--year", "2006", "--format", "csv"]) == 0
    )
    assert capsys.readouterr().err == ""  # a year of the period: nothing to say
    assert (
        main(["--db", demo_copy, "--user", "auditor", "report", "cost-recovery", "--year", "2005"]) == 0
    )  # no report of a version
    out = capsys.readouterr()
    assert out.out.startswith("cost-recovery: year 2005, as of 2007-06-30\n") and "outside" not in out.out + out.err


def test_report_prints_the_scenario_as_drivers_not_python(demo_copy: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", demo_copy, "--user", "auditor", "report", "financial-plan", "--set", "inflation=0.05"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "scenario: inflation=0.05" and "{" not in out
    assert (
        main(
            [
                "--db",
                demo_copy,
                "--user",
                "auditor",
                "report",
                "financial-plan",
                "--set",
                "inflation=0.05",
                "--format",
                "csv",
            ]
        )
        == 0
    )
    out = capsys.readouterr()
    assert out.out.splitlines()[0] == "year,line,plan,actual" and "scenario" not in out.out
    assert "inflation=0.05" in out.err
