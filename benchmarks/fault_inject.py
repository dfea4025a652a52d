"""Fault injection, the long run: ``python -m benchmarks.fault_inject --points 50``.

For each command (import, demo, edit, approve, render) and backend, kill -9 at
``--points`` times drawn uniformly within the command's measured duration (fixed seed),
and check what it left (see :mod:`tests.faults`): the workspace's checksum is the one
before or the one after, ``itu-plan audit verify`` passes, and no process of the
command is alive 2 s later. Prints one line per point as it goes, then the counts per
command and backend; exit 1 if any point failed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from tests.faults import TARGETS, Point, injector


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fault_inject", description=__doc__)
    parser.add_argument("--points", type=int, default=50, help="kills per command and backend (default 50)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--commands", default=",".join(TARGETS), help=f"a comma-separated subset of {','.join(TARGETS)}"
    )
    parser.add_argument("--seed", type=int, default=13, help="the run's seed (default 13)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.commands.split(",") if n.strip()]
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        parser.error(f"unknown commands: {', '.join(unknown)}")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    points: list[Point] = []
    started = time.perf_counter()
    for backend in backends:
        server = None
        if backend == "postgresql":
            from tests.pg import PostgresServer

            server = PostgresServer()
            server.start()
        try:
            with injector(Path(tempfile.mkdtemp(prefix="itu-plan-faults-")), server) as inj:
                for name in names:
                    measured = inj.measure(TARGETS[name])
                    print(f"{backend} {name}: uninterrupted {measured.seconds:.1f} s", flush=True)
                    for n, point in enumerate(inj.points(TARGETS[name], args.points, args.seed), 1):
                        points.append(point)
                        how = "ended before the kill" if point.finished else f"killed at {point.at:.2f} s"
                        verdict = "; ".join(point.failures) or "ok"
                        print(f"  {backend} {name} #{n}: {how}: {point.state}, verify exit {point.verify}: {verdict}",
                              flush=True)  # fmt: skip
        finally:
            if server is not None:
                server.stop()
    print(f"\n{len(points)} points in {time.perf_counter() - started:.0f} s")
    print(f"{'backend':<11} {'command':<8} {'points':>6} {'before':>6} {'after':>6} {'other':>6} {'verify ok':>9} "
          f"{'left alive':>10} {'failed':>6}")  # fmt: skip
    for backend in backends:
        for name in names:
            mine = [p for p in points if p.backend == backend and p.target == name]
            states = Counter(p.state for p in mine)
            print(
                f"{backend:<11} {name:<8} {len(mine):>6} {states['before']:>6} {states['after']:>6} "
                f"{states['other']:>6} {sum(p.verify == 0 for p in mine):>9} {sum(bool(p.left) for p in mine):>10} "
                f"{sum(bool(p.failures) for p in mine):>6}"
            )
    return 1 if any(p.failures for p in points) else 0


if __name__ == "__main__":
    sys.exit(main())
