"""Fault injection: kill -9 at random points of import, demo, edit, approve and render, on
SQLite and PostgreSQL; afterwards the workspace is as before or as after the command,
its audit trail verifies, and no process of the command is left 2 s later (see
:mod:`tests.faults`).

By default one point per command and backend (render aside: it takes half a minute a
run); ``pytest -m faults`` runs ten points of every command, render included;
``python -m benchmarks.fault_inject --points 50`` is the long run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults import REPO, TARGETS, Injector, alive, big_actuals, descendants, injector, tagged

SEED = 13


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def faults(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Injector]:
    server = request.getfixturevalue("postgres") if request.param == "postgresql" else None
    with injector(tmp_path_factory.mktemp(f"faults-{request.param}"), server) as made:
        yield made


def check_points(faults: Injector, name: str, count: int) -> None:
    points = list(faults.points(TARGETS[name], count, SEED))
    assert [p.failures for p in points] == [[]] * count, points
    assert all(p.state in ("before", "after") and p.verify == 0 for p in points)


@pytest.mark.parametrize("name", ["import", "demo", "edit", "approve"])
def test_a_kill_leaves_the_workspace_before_or_after(faults: Injector, name: str) -> None:
    check_points(faults, name, 1)


@pytest.mark.faults
@pytest.mark.slow
@pytest.mark.parametrize("name", list(TARGETS))
def test_many_kills(faults: Injector, name: str, request: pytest.FixtureRequest) -> None:
    if "faults" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("the long fault-injection run: pytest -m faults")
    check_points(faults, name, 10)


def test_the_checks_see_what_they_look_for(tmp_path: Path) -> None:
    """The process checks find a child left behind (a process that ignores its parent's
    death, carrying the tag), and the workspace check knows before from after."""
    script = "import os, subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); time.sleep(30)"
    env = {**os.environ, "ITU_PLAN_FAULT_TAG": "test-tag"}
    parent = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.monotonic() + 20
        while not (seen := descendants(parent.pid)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(seen) == 1
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert alive(seen) == seen and tagged("test-tag") == seen  # the orphan lives on: found both ways
    finally:
        for pid, _ in descendants(parent.pid) | tagged("test-tag"):
            os.kill(pid, signal.SIGKILL)
    with injector(tmp_path / "inj") as inj:
        url = inj.restore("handmade")
        before = inj.checksum(url)
        done = subprocess.run(
            [sys.executable, "-m", "itu_plan.cli", "--db", url, "--user", "boss", "import",
             str(REPO / "tests" / "data" / "handmade" / "income.csv"), "--kind", "income"],
            capture_output=True, text=True, env={**inj.env},
        )  # fmt: skip
        assert done.returncode == 0 and inj.checksum(url) == before  # a re-import changes nothing
        assert inj.restore("empty") and inj.checksum(inj._url("work")) != before


def test_the_read_ahead_helper_dies_with_the_import(tmp_path: Path) -> None:
    """The fault runs saw the import's read-ahead helper alive 2 s after the kill at 5 of 100
    points (before PR_SET_PDEATHSIG). Here it is stopped (SIGSTOP) before its parent is
    killed, so that nothing but the parent-death signal can end it in time."""
    with injector(tmp_path / "inj") as inj:
        url = inj.restore("handmade")
        command = TARGETS["import"].argv(url, inj.scratch())
        assert str(big_actuals(tmp_path / "inj" / "actuals.csv")) in command
        process = subprocess.Popen(command, env=inj.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        helpers: set[tuple[int, int]] = set()
        try:
            deadline = time.monotonic() + 60
            while not helpers and time.monotonic() < deadline and process.poll() is None:
                helpers = descendants(process.pid)
                time.sleep(0.01)
            assert helpers, "the import forked no read-ahead helper"
            for pid, _ in helpers:
                os.kill(pid, signal.SIGSTOP)
            process.send_signal(signal.SIGKILL)
            process.wait()
            time.sleep(2)
            left = alive(helpers)
        finally:
            for pid, _ in alive(helpers):
                os.kill(pid, signal.SIGKILL)
        assert left == set()
