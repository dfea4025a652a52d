"""The long fuzzing run of the importer: ``python -m benchmarks.fuzz_import --examples N``.

The strategies and checks of ``tests/test_fuzz_import.py`` (:mod:`tests.fuzzing`), run
for N cases on SQLite or PostgreSQL; one case in ``--process-every`` runs as a real
process (its stderr as a person sees it, its peak memory from GNU time). Failures do not
stop the run: each kind of failure keeps its smallest input in ``--out`` (its files, the
command, what it printed). Prints the cases run, the failures by kind, the time.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings

from tests.fuzzing import Case, Outcome, bench, cases, save


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fuzz_import", description=__doc__)
    parser.add_argument("--examples", type=int, default=10_000, help="cases to run (default 10,000)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--seed", type=int, default=13, help="the run's seed (default 13)")
    parser.add_argument("--process-every", type=int, default=25, metavar="K", help="one case in K as a process")
    parser.add_argument("--out", default="fuzz-failures", help="where failing inputs go (default ./fuzz-failures)")
    args = parser.parse_args(argv)

    out = Path(args.out)
    server = None
    if args.backend == "postgresql":
        from tests.pg import PostgresServer

        server = PostgresServer()
        server.start()
    outcomes: list[Outcome] = []
    smallest: dict[str, Outcome] = {}
    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="itu-plan-fuzz-"))
    if out.exists():
        shutil.rmtree(out)
    kinds: list[str] = []

    def folder(kind: str) -> Path:
        if kind not in kinds:
            kinds.append(kind)
        return out / f"{kinds.index(kind) + 1:03d}"

    try:
        with bench(root / "bench", server) as workspaces:

            @seed(args.seed)
            @settings(
                max_examples=args.examples, deadline=None, database=None, derandomize=False,
                suppress_health_check=list(HealthCheck),
            )  # fmt: skip
            @given(case=cases())
            def run(case: Case) -> None:
                outcome = workspaces.run(case, subprocess_run=len(outcomes) % args.process_every == 0)
                outcomes.append(outcome)
                if outcome.failures:
                    kind = outcome.signature()
                    if kind not in smallest or case.size() < smallest[kind].case.size():
                        smallest[kind] = outcome
                        save(outcome, folder(kind))  # as it goes: a long run can be looked at before its end
                    print(f"FAIL #{len(outcomes)}: {case.describe()[:200]}: {outcome.failures}", flush=True)
                if len(outcomes) % 500 == 0:
                    failed = sum(1 for o in outcomes if o.failures)
                    print(
                        f"{len(outcomes):,} cases, {failed} failures, {time.perf_counter() - started:.0f} s", flush=True
                    )

            run()
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
    seconds = time.perf_counter() - started
    failed = [o for o in outcomes if o.failures]
    for kind in kinds:
        print(f"{folder(kind)}: {kind} ({sum(1 for o in failed if o.signature() == kind)} cases)")
    processes = [o for o in outcomes if o.peak_mb is not None]
    peak = max((o.peak_mb or 0 for o in processes), default=0)
    codes = Counter(o.exit_code for o in outcomes)
    targets = Counter(o.case.target for o in outcomes)
    print(
        f"{args.backend}: {len(outcomes):,} cases in {seconds:.0f} s ({seconds / max(1, len(outcomes)) * 1000:.0f} ms "
        f"each), {len(failed)} failures of {len(smallest)} kinds; exit codes {dict(sorted(codes.items(), key=str))}; "
        f"targets {dict(targets)}; {len(processes)} as processes, peak {peak:.0f} MB"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
