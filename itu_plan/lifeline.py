"""Child processes that die with their parent, however the parent ends (even SIGKILL).

Linux's ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` asks the kernel to kill a process the
moment its parent goes away. Each child the product starts sets it first thing:
the render workers (:func:`die_with_parent` as the pool's initializer), the
import's read-ahead helper (right after its fork), and every Jupyter kernel of
``render`` and ``serve``: their command line runs through this file (as a script,
:func:`command`), which sets the signal and then ``exec``\\ s the kernel; the
signal survives ``exec``.

Two caveats, both handled here or by the callers:

- The signal fires when the *thread* that forked the child ends, not the whole
  process. Every child here is forked by a thread that lives as long as it is
  needed: the main thread (the render pool, Voilà's event loop, nbclient's loop in a
  render worker) or the thread that consumes the read-ahead generator.
- A parent that dies between the fork and the ``prctl`` is missed: the child then
  checks that its parent is still the one that started it, and leaves if not.

Elsewhere (macOS, Windows) these calls do nothing. This file is run as a script by
``python -I -S``: it imports the standard library only.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

#: ``PR_SET_PDEATHSIG`` of ``<linux/prctl.h>``.
PR_SET_PDEATHSIG = 1


def supported() -> bool:
    return sys.platform.startswith("linux")


def die_with_parent(parent: int | None = None) -> bool:
    """Have this process killed (SIGKILL) when its parent dies. ``parent``: the pid that
    started it; if that process is already gone, this process ends at once. Returns
    whether the signal is set (False where the system has no such thing)."""
    if not supported():
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if parent is not None and os.getppid() != parent:
        os._exit(1)  # the parent died before the signal was set: nobody is left to serve
    return True


def command(argv: list[str]) -> list[str]:
    """``argv`` run so that it dies with this process: through this file, which sets the
    signal (checking that this process is its parent) and then execs ``argv``."""
    if not supported():
        return list(argv)
    return [sys.executable, "-I", "-S", os.path.abspath(__file__), str(os.getpid()), "--", *argv]


def _main(args: list[str]) -> None:
    if len(args) < 3 or args[1] != "--":
        sys.exit("usage: lifeline.py PARENT_PID -- COMMAND [ARG ...]")
    die_with_parent(int(args[0]))
    os.execvp(args[2], args[2:])


if __name__ == "__main__":
    _main(sys.argv[1:])
