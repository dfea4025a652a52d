"""Fifty people on one PostgreSQL workspace at once, as themselves, for a minute.

A throw-away PostgreSQL server and the demo workspace. Fifty planners (``people``)
are added with ``users add`` (on PostgreSQL each gets a login role of their
name), two to each unit, and each pair shares three cost lines of the draft
version of their unit, so that they sometimes save the same line at the same
moment. Each person is a process of their own, connected as their own login
(row-level security on), that for ``--seconds`` does what a planner at the plan
grid does: read the lines of their unit, add CHF 1.00 to one of the shared lines
(an optimistic-locking save, refused as a conflict when the other person saved
it first), pause 0.5-1.5 s, read again. Five of them also keep a dashboard open
(a ``ChangeWatcher``, LISTEN/NOTIFY) and note when they learn of each save.

It reports: saves, conflicts, errors, **lost updates** (each line must end at its
start plus CHF 1.00 per successful save: anything else is an update lost), save
latency p50/p95 (from the start of the write transaction to its commit), and the
time from a save's commit to another person's open dashboard knowing of it; then
the same run with every person connected as the database superuser (row-level
security, grants and the database's workflow checks do not apply to a
superuser), in the same server, and the ratio.

    python -m benchmarks.bench_collab [--people 50] [--seconds 60] [--pause 0.5-1.5]

``--pause`` is the time a person takes between two actions (reading the grid, saving);
the load average printed says whether the machine, not the database, set the pace.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import text

from itu_plan import Workspace, access, editing
from itu_plan.catalog import cost_lines
from itu_plan.errors import ConflictError
from tests.pg import PostgresServer

DRAFT = "2006-2007 draft"
WATCHERS = 5


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))] if ordered else float("nan")


def setup(server: PostgresServer, people: int) -> tuple[str, dict[str, list[str]], dict[str, int]]:
    """The demo workspace with ``people`` planners; returns its URL, each person's three
    shared lines (keys) and every shared line's amount in centimes at the start."""
    from itu_plan.demo import build_demo_workspace

    url = server.new_database()
    with Workspace.open(url, user="admin") as ws:
        build_demo_workspace(ws, progress=False)
        with ws.reading() as session:
            units = [u for (u,) in session.execute(text(
                "SELECT u.code FROM units u WHERE NOT EXISTS (SELECT 1 FROM units c WHERE c.parent_id = u.id) "
                "ORDER BY u.code"
            ))]  # fmt: skip
        lines: dict[str, list[str]] = {}
        start: dict[str, int] = {}
        pairs = (people + 1) // 2
        chosen = [units[i % len(units)] for i in range(pairs)]
        for pair, unit in enumerate(chosen):
            rows = [r for r in cost_lines(ws, DRAFT, units=[unit]) if r.key.category != "staff"]
            shared = rows[(pair // len(units)) * 3 : (pair // len(units)) * 3 + 3]
            for member in (2 * pair, 2 * pair + 1):
                if member >= people:
                    break
                name = f"person{member + 1:02d}"
                with ws.transaction() as session:
                    from itu_plan import users

                    users.add_user(session, access.actor(session, "admin"), name, "planner", [unit])
                lines[name] = [str(r.key) for r in shared]
            for row in shared:
                start[str(row.key)] = int(row.amount * 100)
    return url, lines, start


def person(
    url: str, name: str, keys: list[str], seconds: float, watch: bool, out: str, seed: int, pause: tuple[float, float]
) -> None:
    """One person at the plan grid for ``seconds``; writes what happened to ``out``."""
    from itu_plan.editing import CostLineKey

    rng = random.Random(seed)
    record: dict[str, Any] = {"saves": [], "conflicts": 0, "errors": [], "woke": []}
    with Workspace.open(url, user=name) as ws:
        watcher = ws.watcher() if watch else None
        stop = time.monotonic() + seconds
        if watcher is not None:
            import threading

            def listen() -> None:
                while time.monotonic() < stop:
                    if watcher.wait(0.5):
                        record["woke"].append((time.time(), ws.last_change()))

            thread = threading.Thread(target=listen, daemon=True)
            thread.start()
        unit_keys = [CostLineKey.parse(k) for k in keys]
        while time.monotonic() < stop:
            key = rng.choice(unit_keys)
            try:
                rows = {str(r.key): r for r in cost_lines(ws, DRAFT, units=[ws_unit(ws, name)])}
                row = rows[str(key)]
                began = time.perf_counter()
                with ws.transaction() as session:
                    who = access.actor(session, ws.user)
                    editing.update_cost_line(session, who, key, row.row_version, {"amount": row.amount + 1})
                    event = session.execute(text("SELECT max(id) FROM audit_events WHERE txid = txid_current()"))
                    event_id = event.scalar()
                    committing = time.time()
                record["saves"].append((str(key), time.perf_counter() - began, committing, event_id))
            except ConflictError:
                record["conflicts"] += 1
            except Exception as exc:  # a benchmark counts errors, it does not stop at them
                record["errors"].append(f"{type(exc).__name__}: {exc}")
            time.sleep(rng.uniform(*pause))
        if watcher is not None:
            thread.join(timeout=2)
            watcher.close()
    Path(out).write_text(json.dumps(record))


_UNITS: dict[str, str] = {}


def ws_unit(ws: Workspace, name: str) -> str:
    if name not in _UNITS:
        with ws.reading() as session:
            _UNITS[name] = access.actor(session, name).unit_codes[0]
    return _UNITS[name]


def run(
    server: PostgresServer,
    people: int,
    seconds: float,
    *,
    as_superuser: bool,
    folder: Path,
    pause: tuple[float, float] = (0.5, 1.5),
) -> dict[str, Any]:
    url, lines, start = setup(server, people)
    folder.mkdir(parents=True, exist_ok=True)
    context = mp.get_context("spawn")
    processes = []
    for index, name in enumerate(sorted(lines)):
        login_url = url if as_superuser else url.replace("postgres@", f"{name}@")
        out = str(folder / f"{name}.json")
        process = context.Process(
            target=person, args=(login_url, name, lines[name], seconds, index < WATCHERS, out, index, pause)
        )
        processes.append((process, out))
    for process, _ in processes:
        process.start()
    load = []
    for process, _ in processes:
        process.join(seconds + 120)
        load.append(os.getloadavg()[0])
    records = [json.loads(Path(out).read_text()) for _, out in processes if Path(out).exists()]
    saves = [s for r in records for s in r["saves"]]
    per_line = Counter(key for key, *_ in saves)
    with Workspace.open(url, user="admin") as ws:
        end = {str(r.key): int(r.amount * 100) for r in cost_lines(ws, DRAFT)}
        chain = ws.verify_audit()
    lost = sum(abs(end[key] - start[key] - 100 * per_line.get(key, 0)) // 100 for key in start)
    notified = []
    for woke in (r["woke"] for r in records if r["woke"]):
        for _key, _latency, committed, event_id in saves:
            seen = next((t for t, change in woke if change >= event_id), None)
            if seen is not None:
                notified.append(max(0.0, seen - committed))
    latencies = [latency for _key, latency, *_ in saves]
    return {
        "people": len(records),
        "saves": len(saves),
        "conflicts": sum(r["conflicts"] for r in records),
        "errors": [e for r in records for e in r["errors"]],
        "lost": lost,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else float("nan"),
        "p95_ms": 1000 * _percentile(latencies, 0.95),
        "notify_p50_ms": 1000 * statistics.median(notified) if notified else float("nan"),
        "notify_p95_ms": 1000 * _percentile(notified, 0.95),
        "chain_whole": chain.whole,
        "load": max(load) if load else float("nan"),
    }


def _line(label: str, r: dict[str, Any]) -> str:
    return (
        f"{label}: {r['people']} people, {r['saves']} saves, {r['conflicts']} conflicts, {len(r['errors'])} errors, "
        f"{r['lost']} lost updates; save p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms; "
        f"save to another's dashboard p50 {r['notify_p50_ms']:.1f} ms, p95 {r['notify_p95_ms']:.1f} ms; "
        f"audit chain {'whole' if r['chain_whole'] else 'BROKEN'}; load average {r['load']:.1f} on {os.cpu_count()} cores"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--pause", default="0.5-1.5", help="seconds between two actions of a person, MIN-MAX")
    args = parser.parse_args()
    low, _, high = args.pause.partition("-")
    pause = (float(low), float(high or low))
    server = PostgresServer()
    server.start()
    import tempfile

    try:
        with tempfile.TemporaryDirectory(prefix="itu-plan-collab-") as scratch:
            own = run(server, args.people, args.seconds, as_superuser=False, folder=Path(scratch, "own"), pause=pause)
            print(_line("as themselves, row-level security on", own), flush=True)
            for error in Counter(own["errors"]).most_common(5):
                print("  error:", *error)
            bare = run(server, args.people, args.seconds, as_superuser=True, folder=Path(scratch, "bare"), pause=pause)
            print(_line("as the superuser, no row-level security", bare))
            for error in Counter(bare["errors"]).most_common(5):
                print("  error:", *error)
            print(
                f"ratio (own/superuser): save p50 {own['p50_ms'] / bare['p50_ms']:.2f}x, "
                f"p95 {own['p95_ms'] / bare['p95_ms']:.2f}x"
            )
            ok = own["lost"] == 0 and bare["lost"] == 0 and not own["errors"] and own["chain_whole"]
            raise SystemExit(0 if ok else 1)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
