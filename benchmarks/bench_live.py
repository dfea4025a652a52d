"""How soon another person's watcher learns of a save on PostgreSQL (LISTEN/NOTIFY).

A throw-away PostgreSQL server; one workspace saves (adds a user: a service
function, its audit event, one transaction) ``--saves`` times, a second
workspace's ``ChangeWatcher`` waits in another thread. Each latency runs from the
moment the saving session starts its commit to the watcher waking (then the
app's event loop still reads ``last_change``, about a millisecond). For scale, the
same figure when polling every N seconds is N/2 on average, N at worst.

    python -m benchmarks.bench_live [--saves 50]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

from sqlalchemy import event

from itu_plan import Workspace, access, users
from tests.pg import PostgresServer


def measure(url: str, saves: int) -> list[float]:
    latencies: list[float] = []
    with Workspace.open(url, user="admin", create=True) as saver, Workspace.open(url, user="admin") as other:
        saver.init()
        with saver.transaction() as session:
            users.add_user(session, access.actor(session, "admin"), "admin", "admin")
        with other.watcher() as watcher:
            watcher.wait(5)  # connects
            for n in range(saves):
                committing: list[float] = []

                def save(n: int = n, committing: list[float] = committing) -> None:
                    time.sleep(0.02)  # the watcher is waiting by then
                    with saver.transaction() as session:
                        users.add_user(session, access.actor(session, "admin"), f"user{n}", "reviewer")
                        event.listen(session, "before_commit", lambda _s: committing.append(time.perf_counter()))

                thread = threading.Thread(target=save)
                thread.start()
                if not watcher.wait(10):
                    raise SystemExit(f"save {n}: the watcher was not told within 10 s")
                woke = time.perf_counter()
                thread.join()
                latencies.append(woke - committing[0])
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--saves", type=int, default=50)
    args = parser.parse_args()
    server = PostgresServer()
    server.start()
    try:
        latencies = sorted(measure(server.new_database(), args.saves))
    finally:
        server.stop()
    ms = [s * 1000 for s in latencies]
    p95 = ms[min(len(ms) - 1, round(0.95 * len(ms)) - 1)]
    print(f"{len(ms)} saves: p50 {statistics.median(ms):.2f} ms, p95 {p95:.2f} ms, max {ms[-1]:.2f} ms")


if __name__ == "__main__":
    main()
