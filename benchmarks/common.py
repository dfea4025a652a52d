"""Helpers shared by the benchmarks: whole-process timing with peak memory,
and a demo workspace built once per scale."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("ITU_PLAN_BENCH_CACHE", "/tmp/itu-plan-bench"))


@dataclass
class Run:
    seconds: float
    peak_mb: float
    stdout: str


def timed(command: list[str], *, repeat: int = 3, env: dict[str, str] | None = None) -> Run:
    """Best of ``repeat`` whole-process runs; peak RSS from GNU time."""
    best: Run | None = None
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%M", *command], capture_output=True, text=True, env=env, check=False
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
        peak = int(done.stderr.strip().splitlines()[-1]) / 1024
        run = Run(seconds, peak, done.stdout)
        if best is None or run.seconds < best.seconds:
            best = run
    assert best is not None
    return best


def itu(*args: str) -> list[str]:
    return [sys.executable, "-m", "itu_plan.cli", *args]


def demo_workspace(scale: int) -> Path:
    """A SQLite demo workspace at ``scale``, and its exported bundle, cached between runs."""
    CACHE.mkdir(parents=True, exist_ok=True)
    db = CACHE / f"demo-{scale}.db"
    bundle = CACHE / f"bundle-{scale}"
    if not db.exists():
        subprocess.run(itu("--db", f"sqlite:///{db}", "demo", "--scale", str(scale), "--quiet"), check=True)
    if not (bundle / "actuals.csv").exists():
        subprocess.run(itu("--db", f"sqlite:///{db}", "--user", "admin", "export", str(bundle)), check=True)
    return db


def have(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True
