"""Serving the notebooks: Voilà apps for managers, JupyterLab for planners.

The workspace URL and the acting user reach the kernels through the
environment (``ITU_PLAN_DB``, ``ITU_PLAN_USER``); a relative SQLite path is
made absolute first, since kernels run in the notebooks folder.
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
from pathlib import Path

from itu_plan import store
from itu_plan.errors import UsageError
from itu_plan.workspace import resolve_user

#: Seconds an idle Voilà kernel lives before it is culled (each holds ~275 MB).
CULL_IDLE_SECONDS = 600
#: Seconds an idle kernel that no page is connected to lives: a request without a browser
#: (its page never connects), or a page gone without saying goodbye.
UNCONNECTED_CULL_SECONDS = 60
#: Memory one app's kernel takes, about (MB): what the default limit on kernels is made of.
KERNEL_MEGABYTES = 275
#: What a page says when every kernel a server may run serves a page already.
TOO_MANY_APPS = (
    "Too many apps are open on this server just now. Close the tab of an app you no longer need, "
    "or wait a minute, then reload this page."
)
#: Seconds between two looks of an open app for what others saved (0: never); the kernels
#: read it from :data:`REFRESH_ENV`.
REFRESH_SECONDS = 5.0
REFRESH_ENV = "ITU_PLAN_REFRESH_SECONDS"
#: The Voilà template of the apps (``data/voila/templates/itu-plan``): the lab template with
#: nothing fetched from a CDN, and a kernel shut down when its page closes.
VOILA_TEMPLATE = "itu-plan"
#: The Jupyter data folder that holds it, put first on ``JUPYTER_PATH`` so Voilà finds it.
JUPYTER_DATA = Path(__file__).parent / "data"
#: Lab extensions installed with the apps' dependencies that no app uses, kept out of their
#: pages: plotly's renderer (4.7 MB of JavaScript in every page; the apps' charts are drawn by
#: the kernel, see widgets.svg_chart) and anywidget.
UNUSED_EXTENSIONS = ("jupyterlab-plotly", "anywidget")
#: ``serve`` and ``lab`` are for one person on their own machine: they listen here only
#: (several people use the JupyterHub deployment).
LOCAL_IP = "127.0.0.1"
#: The names a browser on this machine reaches them by; ``serve`` answers no other Host.
LOCAL_NAMES = ("localhost", "127.0.0.1", "[::1]")
#: How ``itu-plan serve`` hands the token it made to its server, which takes it out of its
#: environment at once (a command line can be read by every user of the machine).
SERVE_TOKEN_ENV = "ITU_PLAN_SERVE_TOKEN"
#: The Jupyter config folder of ``lab``, put first on ``JUPYTER_CONFIG_PATH``: its
#: ``labconfig/page_config.json`` turns off the plugin that greets a planner with the
#: "official Jupyter news" prompt (and fetches news and updates from a website).
LAB_CONFIG = JUPYTER_DATA / "lab_config"


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


def new_token() -> str:
    """A token for ``serve``: 256 random bits, URL-safe (Jupyter's has 192)."""
    return secrets.token_urlsafe(32)


def serve_url(port: int, token: str | None) -> str:
    """The address of the apps served on ``port``, with ``token`` when one is required."""
    return f"http://{LOCAL_IP}:{port}/" + (f"?token={token}" if token else "")


def local_hosts(port: int) -> frozenset[str]:
    """The Host headers that name a server of this machine listening on ``port``."""
    hosts = {f"{name}:{port}" for name in LOCAL_NAMES}
    return frozenset(hosts | set(LOCAL_NAMES) if port == 80 else hosts)


def require_free_port(port: int) -> None:
    """Refuse a port another program holds on 127.0.0.1, before the URL is printed."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind((LOCAL_IP, port))
        except OSError as exc:
            raise UsageError(
                f"cannot listen on {LOCAL_IP} port {port} ({exc.strerror}); choose another with --port"
            ) from None


def default_max_kernels() -> int:
    """How many kernels ``serve`` lets pages run at once unless told: about one per GB of
    the machine's memory (each takes :data:`KERNEL_MEGABYTES`, the preheated ones and
    everything else need the rest), at least 2, at most 8."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            total_kb = next(int(line.split()[1]) for line in meminfo if line.startswith("MemTotal:"))
    except (OSError, StopIteration, ValueError, IndexError):
        return 8
    return max(2, min(8, total_kb // (1024 * 1024)))


def kernel_environment(
    url: str | None, user: str | None, *, refresh: float | None = None, token: str | None = None
) -> dict[str, str]:
    """The environment of the server and its kernels: the workspace, the acting user,
    how often apps look for others' changes (``refresh`` seconds, if given), the token
    ``serve`` requires (if any; its server takes it out before a kernel starts), and the
    package's Jupyter data folder (the Voilà template) first on ``JUPYTER_PATH``."""
    env = dict(os.environ)
    env["ITU_PLAN_DB"] = store.absolute_url(store.resolve_url(url))
    env["ITU_PLAN_USER"] = resolve_user(user)
    if refresh is not None:
        env[REFRESH_ENV] = str(refresh)
    env.pop(SERVE_TOKEN_ENV, None)
    if token:
        env[SERVE_TOKEN_ENV] = token
    env["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(JUPYTER_DATA), env.get("JUPYTER_PATH")]))
    return env


def voila_command(
    folder: Path,
    *,
    port: int,
    open_browser: bool,
    pool_size: int = 1,
    cull_after: int = CULL_IDLE_SECONDS,
    max_kernels: int | None = None,
    cull_unconnected: int = UNCONNECTED_CULL_SECONDS,
) -> list[str]:
    """The Voilà command line: tree mode over ``folder`` with the package's template
    (it needs the environment of ``kernel_environment``), sources stripped, tracebacks
    hidden, ``pool_size`` preheated kernels per notebook (0: none), kernels idle for
    ``cull_after`` seconds culled, at most ``max_kernels`` kernels serving pages (default
    :func:`default_max_kernels`), :data:`UNUSED_EXTENSIONS` left out. It runs
    :mod:`itu_plan.local_voila`: on 127.0.0.1 and ``port`` only (no other port tried),
    for requests addressed to it, with the token of the environment.

    A page's kernel is shut down when the page closes; culling takes the kernels of
    pages that never said goodbye (a crashed browser, a lost connection), each about
    275 MB: after ``cull_unconnected`` seconds when no page is connected to it (a
    request without a browser), else after ``cull_after``. Pooled (preheated) kernels
    are never culled.
    """
    interval = max(1, min(15, cull_unconnected // 4 if cull_unconnected > 0 else 15, cull_after // 2))
    return [
        sys.executable, "-m", "itu_plan.local_voila", str(folder),
        f"--port={port}",
        "--Voila.port_retries=0",
        f"--Voila.ip={LOCAL_IP}",
        f"--template={VOILA_TEMPLATE}",
        "--strip_sources=True",
        "--show_tracebacks=False",
        f"--preheat_kernel={pool_size > 0}",
        f"--pool_size={max(pool_size, 0)}",
        f"--MappingKernelManager.cull_idle_timeout={cull_after}",
        f"--MappingKernelManager.cull_interval={interval}",
        "--MappingKernelManager.cull_connected=True",
        f"--LocalKernelManager.max_kernels={default_max_kernels() if max_kernels is None else max_kernels}",
        f"--LocalKernelManager.cull_unconnected_timeout={cull_unconnected}",
        *(f"--VoilaConfiguration.extension_denylist={name}" for name in UNUSED_EXTENSIONS),
        *([] if open_browser else ["--no-browser"]),
    ]  # fmt: skip


def lab_environment(url: str | None, user: str | None) -> dict[str, str]:
    """The environment of ``lab``: :func:`kernel_environment` with :data:`LAB_CONFIG`."""
    env = kernel_environment(url, user)
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(filter(None, [str(LAB_CONFIG), env.get("JUPYTER_CONFIG_PATH")]))
    return env


def lab_command(folder: Path, *, port: int | None, open_browser: bool, as_root: bool = False) -> list[str]:
    """The JupyterLab command line (it needs the environment of :func:`lab_environment`):
    on 127.0.0.1 with Jupyter's own token (in the URL it prints), no news fetched, no
    update looked for, as root only with ``as_root``."""
    command = [
        sys.executable, "-m", "jupyterlab", f"--notebook-dir={folder}",
        f"--ServerApp.ip={LOCAL_IP}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if port:
        command.append(f"--port={port}")
    if not open_browser:
        command.append("--no-browser")
    if as_root:
        command.append("--allow-root")
    return command


def run(command: list[str], env: dict[str, str]) -> int:
    """Become the server: this process is replaced, so signals (Ctrl-C, SIGTERM from a
    supervisor) reach Voilà or JupyterLab directly and they shut their kernels down."""
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, env)
    return 0  # pragma: no cover - execve does not return
