"""Serving the notebooks: Voilà apps for managers, JupyterLab for planners.

The workspace URL and the acting user reach the kernels through the
environment (``ITU_PLAN_DB``, ``ITU_PLAN_USER``); a relative SQLite path is
made absolute first, since kernels run in the notebooks folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from itu_plan import store
from itu_plan.errors import UsageError
from itu_plan.workspace import resolve_user

#: Seconds an idle Voilà kernel lives before it is culled (each holds ~275 MB).
CULL_IDLE_SECONDS = 600


def notebooks_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """The notebooks folder: ``path``, else ``ITU_PLAN_NOTEBOOKS``, else ``notebooks/``
    of the source checkout, else ``./notebooks``."""
    candidates = [path, os.environ.get("ITU_PLAN_NOTEBOOKS")]
    candidates += [Path(__file__).resolve().parent.parent / "notebooks", Path.cwd() / "notebooks"]
    for candidate in candidates:
        if candidate and (Path(candidate) / "index.ipynb").exists():
            return Path(candidate).resolve()
    if path:
        raise UsageError(f"{path} holds no itu-plan notebooks (index.ipynb is missing)")
    raise UsageError("could not find the notebooks folder; name it with --notebooks DIR")


def kernel_environment(url: str | None, user: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["ITU_PLAN_DB"] = store.absolute_url(store.resolve_url(url))
    env["ITU_PLAN_USER"] = resolve_user(user)
    return env


def voila_command(folder: Path, *, port: int, open_browser: bool) -> list[str]:
    """The Voilà command line: tree mode over ``folder``, sources stripped,
    tracebacks hidden, idle kernels culled."""
    return [
        sys.executable, "-m", "voila", str(folder),
        f"--port={port}",
        "--strip_sources=True",
        "--show_tracebacks=False",
        "--Voila.ip=127.0.0.1",
        f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_SECONDS}",
        "--MappingKernelManager.cull_interval=60",
        "--MappingKernelManager.cull_connected=True",
        *([] if open_browser else ["--no-browser"]),
    ]  # fmt: skip


def lab_command(folder: Path, *, port: int | None, open_browser: bool) -> list[str]:
    command = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={folder}"]
    if port:
        command.append(f"--port={port}")
    if not open_browser:
        command.append("--no-browser")
    return command


def run(command: list[str], env: dict[str, str]) -> int:
    """Run a server in the foreground until it stops or Ctrl-C."""
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 0
