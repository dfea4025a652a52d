"""Work ahead in a forked process: the items of a generator, computed on another core.

A large import spends about half its time reading, typing and checking cells
and half in the database's insert, which holds the GIL between rows, so a
thread cannot overlap them. A forked child inherits everything already looked
up (reference ids, rules' tables) and streams its results through a pipe; the
parent inserts chunk *n* while the child prepares chunk *n + 1*.

The child must not touch the parent's database connection: it gets none (see
:class:`NoDatabase`), closes its copies of the parent's files and sockets, and
leaves with ``os._exit``, so that no inherited connection is ever closed, rolled
back or kept alive from the child. It dies with its parent, even one killed by
SIGKILL (:mod:`itu_plan.lifeline`): the generator must be consumed by the thread
that started it (the signal fires when the thread that forked the child ends).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sys
import traceback
from collections.abc import Callable, Iterator
from typing import Any


def available() -> bool:
    """Whether working ahead is safe and can pay: on Linux (where fork is dependable),
    outside a daemonic process (which may not have children), with a second core."""
    import multiprocessing

    if not sys.platform.startswith("linux") or multiprocessing.current_process().daemon:
        return False
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    return len(cores) > 1


class NoDatabase:
    """Stands in for a database connection in a forked child: any use is a bug."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"a process working ahead may not use the database (it asked for .{name})")


#: Items a child may have pickled and not yet written (bounds its memory).
BACKLOG = 4


class AheadError(RuntimeError):
    """The process working ahead failed; carries its traceback."""


def ahead(produce: Callable[[], Iterator[Any]]) -> Iterator[Any]:
    """Yield the items of ``produce()``, which runs in a forked child process.

    Items must pickle. An exception raised by ``produce`` is re-raised here when
    it pickles, else an :class:`AheadError` carries its traceback. Leaving the
    loop early stops the child. The child works at most :data:`BACKLOG` items
    ahead, which bounds its memory.
    """
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_produce, args=(produce, receiver, sender, os.getpid()), daemon=True)
    child.start()
    sender.close()
    try:
        while True:
            try:
                kind, value = receiver.recv()
            except EOFError:
                child.join()
                raise AheadError(f"the process working ahead ended unexpectedly (exit code {child.exitcode})") from None
            if kind == "item":
                yield value
            elif kind == "done":
                return
            elif kind == "raise":
                raise value
            else:
                raise AheadError(f"the process working ahead failed:\n{value}")
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()
        child.join()


def _produce(produce: Callable[[], Iterator[Any]], receiver: Any, sender: Any, parent: int) -> None:
    """The child: pickle the items and hand them to a thread that writes them to the
    pipe, so that working out the next item never waits for the parent to read."""
    import fcntl
    import queue
    import threading

    from itu_plan import lifeline

    lifeline.die_with_parent(parent)  # a parent killed outright takes this process with it
    receiver.close()
    # Let go of every inherited file but the pipe and the standard streams: above all
    # the parent's database files and sockets, so that a parent that dies (even by
    # SIGKILL) takes its connection, its transaction and its locks with it at once.
    keep = sender.fileno()
    os.closerange(3, keep)
    os.closerange(keep + 1, _max_files())
    # Nothing is printed from here; in a Jupyter kernel the streams are the kernel's.
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the child's short life
    with contextlib.suppress(AttributeError, OSError):  # Linux: fewer, larger writes
        fcntl.fcntl(sender.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
    outbox: queue.Queue[bytes | None] = queue.Queue(maxsize=BACKLOG)
    failed: list[BaseException] = []

    def pump() -> None:
        try:
            while (data := outbox.get()) is not None:
                sender.send_bytes(data)
        except OSError as exc:  # the parent stopped listening (it failed, or was killed)
            failed.append(exc)

    def post(message: tuple[str, Any]) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        while not failed:
            with contextlib.suppress(queue.Full):
                outbox.put(data, timeout=0.2)
                return
        raise failed[0]

    writer = threading.Thread(target=pump, daemon=True)
    writer.start()
    try:
        for item in produce():
            post(("item", item))
        post(("done", None))
    except OSError:
        pass  # the pipe broke: nobody is left to tell
    except BaseException as exc:
        where = traceback.format_exc()
        message: tuple[str, Any] = ("crash", where)
        with contextlib.suppress(Exception):
            exc.add_note(f"(raised in the process working ahead)\n{where}")  # shown by --debug
            pickle.loads(pickle.dumps(exc))  # it must come back whole in the parent
            message = ("raise", exc)
        with contextlib.suppress(OSError):
            post(message)
    finally:
        with contextlib.suppress(queue.Full):
            outbox.put(None, timeout=5)
            writer.join(timeout=60)
        os._exit(0)  # no inherited connection may be closed from here


def _max_files() -> int:
    try:
        return min(os.sysconf("SC_OPEN_MAX"), 1 << 16)
    except (AttributeError, ValueError, OSError):
        return 1024
