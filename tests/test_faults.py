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

from tests.faults import REPO, TARGETS, Injector, alive, descendants, injector, tagged

SEED = 13


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def faults(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Injector]:
    server = request.getfixturevalue("postgres") if request.param == "postgresql" else None
    with injector(tmp_path_factory.mktemp(f"faults-{request.param}"), server) as made:
        yield made


def check_points(faults: Injector, name: str, count: int) -> None:
    points = list(faults.points(TARGETS[name], count, SEED))
    assert [p.failures for p in points] == [[]] * count, points
    assert all(p.state in ("before", "after") and p.verify == 0 and not p.left for p in points)


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
