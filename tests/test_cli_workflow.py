"""The `version`, `users` and `audit` commands: output, exit codes, no tracebacks;
on SQLite and PostgreSQL demo workspaces."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from itu_plan import Workspace
from itu_plan.cli import main
from itu_plan.demo import build_demo_workspace

DRAFT = "2006-2007 draft"


@pytest.fixture(params=["sqlite", "postgresql"])
def demo_db(request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a private demo workspace on each backend."""
    if request.param == "sqlite":
        yield request.getfixturevalue("demo_copy")
        return
    url = request.getfixturevalue("postgres").new_database()
    with Workspace.open(url, user="tester") as ws:
        build_demo_workspace(ws, progress=False)
    yield url


class Cli:
    """Runs ``itu-plan --db URL --user USER ...`` in-process and keeps what it printed."""

    def __init__(self, url: str, capsys: pytest.CaptureFixture[str]) -> None:
        self.url, self.capsys = url, capsys
        self.out = self.err = ""

    def __call__(self, user: str, *args: str) -> int:
        code = main(["--db", self.url, "--user", user, *args])
        self.out, self.err = self.capsys.readouterr()
        assert "Traceback" not in self.err
        if code == 0:
            assert self.err == ""
        else:
            assert self.out == "" and self.err.startswith("itu-plan: ") and self.err.count("\n") == 1
        return code


def _columns(table: str) -> list[list[str]]:
    """The rows of an aligned table, split at the column starts of its header rule."""
    lines = table.splitlines()
    rule = lines[1]
    starts = [i for i, c in enumerate(rule) if c == "-" and (i == 0 or rule[i - 1] == " ")]
    bounds = [*starts[1:], None]
    return [[line[a:b].strip() for a, b in zip(starts, bounds, strict=True)] for line in [lines[0], *lines[2:]]]


def test_the_version_workflow(demo_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    cli = Cli(demo_db, capsys)
    assert cli("reviewer", "version", "list") == 0
    rows = _columns(cli.out)
    assert rows[0] == [
        "version", "period", "status", "based on", "cost lines", "cost (CHF)", "budget lines", "budget (CHF)"
    ]  # fmt: skip
    assert {r[0]: (r[1], r[2], r[3]) for r in rows[1:]} == {
        "2004-2005 approved": ("2004-2005", "approved", ""),
        "2006-2007 approved": ("2006-2007", "approved", "2006-2007 proposed"),
        "2006-2007 draft": ("2006-2007", "draft", "2006-2007 approved"),
        "2006-2007 proposed": ("2006-2007", "superseded", "2004-2005 approved"),
    }
    assert all(r[4].replace(",", "").isdigit() and r[5].replace(",", "").replace(".", "").isdigit() for r in rows[1:])

    assert cli("planner.bdt", "version", "copy", "2006-2007 approved", "2006-2007 revision") == 0
    assert cli.out == (
        "Copied 2006-2007 approved into the new draft 2006-2007 revision: 1,241 cost lines and 514 budget lines.\n"
    )
    assert cli("planner.bdt", "version", "submit", DRAFT) == 3
    assert cli.err == (
        "itu-plan: planner.bdt may not submit 2006-2007 draft: it needs a manager or an admin and they are a planner\n"
    )
    assert cli("manager.bdt", "version", "submit", DRAFT) == 0
    assert cli.out == "Submitted 2006-2007 draft for approval; it is locked until it is approved.\n"
    assert cli("manager.br", "version", "approve", DRAFT) == 3
    assert "manager.br may not approve 2006-2007 draft: its changes touch BDT-" in cli.err
    assert "outside their units (BR)" in cli.err
    # issue 11, point 10: the manager who submitted the draft approved it and raised the total by CHF 25,000
    assert cli("manager.bdt", "version", "approve", DRAFT) == 3
    assert cli.err == (
        "itu-plan: manager.bdt may not approve 2006-2007 draft: manager.bdt submitted it, and approval takes "
        "a second person: another manager for its units or an admin must approve it\n"
    )
    assert cli("admin", "users", "add", "manager.bdt2", "--role", "manager", "--units", "BDT", "--limit", "500000") == 0
    assert cli("manager.bdt2", "version", "approve", DRAFT) == 3
    assert cli.err.startswith(
        "itu-plan: manager.bdt2 may not approve 2006-2007 draft: it raises the budget total by CHF 25,000.00 "
        "above 2006-2007 approved's (a manager approves only transfers within the approved envelope); "
        "it needs an admin (budget total CHF "
    )
    assert "in 2006-2007 approved and CHF " in cli.err and " in 2006-2007 draft; change against " in cli.err
    assert "2006-2007 approved CHF 50,000.00, the sum of the absolute differences of its budget, cost" in cli.err
    assert cli.err.endswith("; delegation limit CHF 500,000.00)\n")
    assert cli("admin", "version", "approve", DRAFT) == 0
    assert cli.out.startswith("Approved 2006-2007 draft: a change of CHF 50,000.00 against 2006-2007 approved (BDT-")
    assert "; budget total CHF " in cli.out and " in 2006-2007 approved); 2006-2007 approved is now" in cli.out
    assert cli.out.endswith("; 2006-2007 approved is now superseded.\n")

    assert cli("auditor", "version", "list") == 0
    statuses = {r[0]: r[2] for r in _columns(cli.out)[1:]}
    assert statuses == {
        "2004-2005 approved": "approved",
        "2006-2007 approved": "superseded",
        DRAFT: "approved",
        "2006-2007 proposed": "superseded",
        "2006-2007 revision": "draft",
    }

    assert cli("auditor", "audit", "--table", "plan_versions") == 0
    events = _columns(cli.out)
    assert events[0] == ["at (UTC)", "user", "action", "table", "key", "change"]
    assert [(e[1], e[2], e[4]) for e in events[1:]] == [
        ("planner.bdt", "copy", "2006-2007 revision"),
        ("manager.bdt", "submit", DRAFT),
        ("admin", "approve", DRAFT),
        ("admin", "supersede", "2006-2007 approved"),
    ]
    assert events[2][5] == "status: draft -> submitted; submitted_by=manager.bdt"
    assert "status: submitted -> approved; based_on=2006-2007 approved; submitted_by=manager.bdt" in events[3][5]
    assert "change=50000.00; budget_change=25000.00; cost_change=25000.00; income_change=0.00" in events[3][5]
    assert cli("auditor", "audit", "--key", "2006-2007 approved") == 0
    assert [e[2] for e in _columns(cli.out)[1:]] == ["supersede"]
    assert cli("auditor", "audit", "--table", "cost_lines") == 0
    assert cli.out == "No audit events match.\n"


@pytest.mark.parametrize(
    ("user", "args", "code", "message"),
    [
        ("admin", ["version", "approve", "2099 nothing"], 2, "there is no plan version '2099 nothing'"),
        (
            "admin",
            ["version", "approve", DRAFT],
            2,
            "it is draft; only a submitted version can be approved; submit it first",
        ),
        ("admin", ["version", "submit", "2006-2007 approved"], 2, "it is approved; only a draft can be submitted"),
        ("admin", ["version", "copy", "2006-2007 approved", DRAFT], 2, "there is already a plan version"),
        ("reviewer", ["version", "copy", "2006-2007 approved", "mine"], 3, "reviewer may not create plan version mine"),
        ("stranger", ["version", "list"], 3, "stranger may not use this workspace"),
        ("stranger", ["audit"], 3, "stranger may not use this workspace"),
        ("stranger", ["users", "list"], 3, "stranger may not use this workspace"),
    ],
)
def test_version_refusals(
    demo_copy: str, capsys: pytest.CaptureFixture[str], user: str, args: list[str], code: int, message: str
) -> None:
    with Workspace.open(demo_copy) as ws:
        before = ws.checksum()
    cli = Cli(demo_copy, capsys)
    assert cli(user, *args) == code
    assert message in cli.err
    with Workspace.open(demo_copy) as ws:
        assert ws.checksum() == before


def test_users_add_and_list(demo_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    cli = Cli(demo_db, capsys)
    assert (
        cli(
            "admin", "users", "add", "manager.tsb", "--role", "manager", "--units", "TSB,TSB-SGD", "--limit", "100000.5"
        )
        == 0
    )
    assert cli.out == "Added manager.tsb as a manager for TSB, TSB-SGD with a delegation limit of CHF 100,000.50.\n"
    assert cli("admin", "users", "add", "ann", "--role", "reviewer") == 0
    assert cli.out == "Added ann as a reviewer.\n"
    assert cli("reviewer", "users", "list") == 0
    rows = _columns(cli.out)
    assert rows[0] == ["user", "role", "units", "delegation limit (CHF)"]
    assert {r[0]: r[1:] for r in rows[1:]}["manager.tsb"] == ["manager", "TSB, TSB-SGD", "100,000.50"]
    assert {r[0]: r[1:] for r in rows[1:]}["manager.bdt"] == ["manager", "BDT", "500,000.00"]
    assert [r[0] for r in rows[1:]] == sorted(r[0] for r in rows[1:])
    assert cli("manager.tsb", "audit", "--table", "users") == 0
    event = _columns(cli.out)[1]
    assert event[1:5] == ["admin", "create", "users", "manager.tsb"]
    assert event[5] == "username=manager.tsb; role=manager; units=TSB, TSB-SGD; delegation_limit=100000.50"


@pytest.mark.parametrize(
    ("user", "args", "code", "message"),
    [
        ("manager.bdt", ["bob", "--role", "planner", "--units", "BDT"], 3,
         "manager.bdt may not add the user bob: it needs the admin role and they are manager"),
        ("admin", ["bob", "--role", "manager", "--units", "BDT", "--limit", "12.345"], 2,
         "the delegation limit 12.345 is not an amount in CHF with at most two decimals"),
        ("admin", ["bob", "--role", "manager", "--units", "BDT", "--limit", "-1"], 2, "the delegation limit -1 is negative"),
        ("admin", ["bob", "--role", "manager", "--units", "BDT", "--limit", "1,000"], 2, "is not an amount in CHF"),
        ("admin", ["bob", "--role", "planner", "--units", "BDT", "--limit", "100"], 2,
         "a delegation limit applies to managers only"),
        ("admin", ["bob", "--role", "planner"], 2, "a planner acts for units: name them with --units"),
        ("admin", ["bob", "--role", "planner", "--units", "BDT,XYZ,ABC"], 2, "there is no units XYZ, ABC"),
        ("admin", ["manager.bdt", "--role", "reviewer"], 2, "there is already a user manager.bdt (manager)"),
        ("admin", ["bob smith", "--role", "reviewer"], 2, "'bob smith' is not a valid username"),
    ],
)  # fmt: skip
def test_users_add_refusals(
    demo_copy: str, capsys: pytest.CaptureFixture[str], user: str, args: list[str], code: int, message: str
) -> None:
    with Workspace.open(demo_copy) as ws:
        before = ws.checksum()
    cli = Cli(demo_copy, capsys)
    assert cli(user, "users", "add", *args) == code
    assert message in cli.err
    with Workspace.open(demo_copy) as ws:
        assert ws.checksum() == before


def test_the_first_user_must_be_an_admin(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    cli = Cli(workspace.url, capsys)
    assert cli("local", "users", "list") == 0
    assert cli.out == "The workspace has no users: it is single-user and everyone is admin.\n"
    assert cli("local", "audit") == 0 and cli.out == "The audit trail is empty.\n"
    assert cli("local", "version", "list") == 0 and cli.out == "The workspace has no plan versions yet.\n"
    assert cli("local", "users", "add", "bob", "--role", "reviewer") == 2
    assert "the first user of a workspace must be an admin, not a reviewer" in cli.err
    assert cli("local", "users", "add", "boss", "--role", "admin") == 0
    assert cli.out == "Added boss as an admin.\n"
    assert cli("local", "users", "list") == 3  # now that users exist, 'local' is nobody
    assert cli("boss", "users", "list") == 0 and "boss" in cli.out
    assert cli("boss", "audit") == 0
    assert [(r[1], r[2], r[4]) for r in _columns(cli.out)[1:]] == [("local", "create", "boss")]


def test_bad_usage_is_exit_2(demo_copy: str, capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["version"], ["version", "copy", "only-one"], ["users", "add", "x", "--role", "boss"], ["users"]):
        try:
            code = main(["--db", demo_copy, *args])
        except SystemExit as exited:  # argparse's own exit, when main lets it through
            code = int(exited.code or 0)
        assert code == 2
        assert "usage:" in capsys.readouterr().err


def test_the_real_entry_point_prints_sentences_not_tracebacks(demo_copy: str) -> None:
    def itu(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "itu_plan.cli", "--db", demo_copy, *args], capture_output=True, text=True
        )

    refused = itu("--user", "planner.tsb", "version", "approve", DRAFT)
    assert refused.returncode == 3 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith("itu-plan: planner.tsb may not approve 2006-2007 draft")
    listed = itu("--user", "admin", "users", "list", "--db", demo_copy)
    assert listed.returncode == 0 and "manager.bdt" in listed.stdout
    helped = itu("version", "--help")
    assert helped.returncode == 0
    assert all(action in helped.stdout for action in ("list", "copy", "submit", "approve", "delegation"))
