"""Time `itu-plan render` of the demo workspace against, in the same run, running
`jupyter nbconvert --execute --to html` on each notebook one after another.

    python -m benchmarks.bench_render [--scale 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import demo_workspace, itu, timed

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args()
    db = demo_workspace(args.scale)
    notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
    env = {**os.environ, "ITU_PLAN_DB": f"sqlite:///{db}", "ITU_PLAN_USER": "admin"}
    with tempfile.TemporaryDirectory() as tmp:
        ours = timed(itu("--db", f"sqlite:///{db}", "--user", "admin", "render", f"{tmp}/site", "--quiet"), repeat=1)
        started = time.perf_counter()
        peak = 0.0
        for path in notebooks:
            run = timed(
                [sys.executable, "-m", "jupyter", "nbconvert", "--execute", "--to", "html",
                 "--output-dir", f"{tmp}/nbconvert", str(path)],
                repeat=1, env=env,
            )  # fmt: skip
            peak = max(peak, run.peak_mb)
        sequential = time.perf_counter() - started
    print(f"{len(notebooks)} notebooks on demo --scale {args.scale}, {os.cpu_count()} cores:")
    print(f"  itu-plan render (parallel, static site)    {ours.seconds:6.1f} s  peak {ours.peak_mb:5.0f} MB")
    print(f"  nbconvert --execute --to html, one by one  {sequential:6.1f} s  peak {peak:5.0f} MB (per notebook)")
    print(f"  render / sequential                         {ours.seconds / sequential:5.2f}x (goal <= 0.6)")


if __name__ == "__main__":
    main()
