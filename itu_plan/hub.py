"""The JupyterHub deployment: one workspace on PostgreSQL for the people of an organisation.

``itu-plan hub`` (run as root) writes a JupyterHub configuration and becomes
JupyterHub, which starts configurable-http-proxy. Each person logs in with their
OS account (PAM) and gets a single-user server running as their own OS user; its
environment points at the workspace's PostgreSQL through the Unix socket
(``PGHOST``, ``PGPORT``, ``PGDATABASE``, ``ITU_PLAN_DB`` with no user name), so
itu-plan connects by peer authentication as the PostgreSQL role of the same name.
What the server offers follows the person's role in the workspace's users table
(see :mod:`itu_plan.hub_spawn`, the half that runs inside JupyterHub).

This module never imports JupyterHub: ``itu-plan --help`` works without it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import make_url

from itu_plan.env import Env
from itu_plan.errors import UsageError

#: The folder of the source checkout: its ``package.json`` names configurable-http-proxy.
SOURCE = Path(__file__).resolve().parent.parent
#: Roles that get JupyterLab; the others get the Voilà apps only.
LAB_ROLES = ("admin", "planner")
#: The kernel messages an apps-only server passes on: what widgets need, and nothing that runs code.
APP_MESSAGE_TYPES = (
    "comm_open",
    "comm_close",
    "comm_msg",
    "comm_info_request",
    "kernel_info_request",
    "shutdown_request",
)
#: The PostgreSQL socket folder when the URL names none (Debian's).
DEFAULT_SOCKET_DIR = "/var/run/postgresql"


@dataclass(frozen=True)
class Database:
    """Where the single-user servers find the workspace: a Unix socket folder, a port, a database."""

    socket_dir: str
    port: int
    name: str

    def environment(self) -> dict[str, str]:
        """``PGHOST``, ``PGPORT``, ``PGDATABASE`` and ``ITU_PLAN_DB``: no user name and no
        password, so libpq logs in as the OS user (peer authentication)."""
        url = f"postgresql+psycopg:///{quote(self.name)}?host={quote(self.socket_dir)}&port={self.port}"
        return {
            Env.PGHOST: self.socket_dir,
            Env.PGPORT: str(self.port),
            Env.PGDATABASE: self.name,
            Env.DB: url,
        }


def database_of(url: str) -> Database:
    """The socket folder, port and database of a workspace URL; only PostgreSQL over a Unix
    socket will do, since peer authentication is what tells the database who is acting."""
    try:
        parsed = make_url(url)
    except Exception:
        raise UsageError(f"{url!r} is not a database URL") from None
    if parsed.get_backend_name() != "postgresql":
        raise UsageError(
            "itu-plan hub serves a workspace on PostgreSQL (a SQLite workspace is for one person: "
            "anyone who can write its file can do anything); give --db postgresql+psycopg:///DATABASE?host=SOCKET_DIR"
        )
    host = parsed.query.get("host") or parsed.host or DEFAULT_SOCKET_DIR
    if isinstance(host, tuple):
        host = host[0]
    if not str(host).startswith("/"):
        raise UsageError(
            f"the workspace's PostgreSQL must be reached over its Unix socket, not {host}: people are "
            "told apart by peer authentication; name the socket folder, e.g. ?host=/var/run/postgresql"
        )
    if not parsed.database:
        raise UsageError(f"the URL {parsed.render_as_string(hide_password=True)} names no database")
    port = parsed.query.get("port") or parsed.port or 5432
    if isinstance(port, tuple):
        port = port[0]
    return Database(str(host), int(port), parsed.database)


@dataclass(frozen=True)
class HubSettings:
    """What :func:`itu_plan.hub_spawn.configure` needs; written as JSON beside the config."""

    workspace_url: str  #: the URL the hub itself reads the users table with
    database: Database
    ip: str
    port: int
    hub_port: int
    proxy_api_port: int
    state: str  #: the hub's own folder (its SQLite state, cookie secret), root only
    apps: str  #: the published notebooks, root-owned and read-only to everyone else
    proxy: str  #: the configurable-http-proxy executable
    python: str  #: the interpreter of the single-user servers
    refresh_seconds: float
    ssl_cert: str | None = None
    ssl_key: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> HubSettings:
        data = json.loads(text)
        data["database"] = Database(**data["database"])
        return cls(**data)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def closed_folders(path: Path) -> list[Path]:
    """The folders on the way to ``path`` (itself included) that other OS users cannot
    pass through (no ``o+x``)."""
    blocked = []
    for folder in [*reversed(path.resolve().parents), path.resolve()]:
        if folder.is_dir() and not folder.stat().st_mode & stat.S_IXOTH:
            blocked.append(folder)
    return blocked


def require_reachable(what: str, path: Path) -> None:
    """Refuse (exit 2) when the spawned users could not reach ``path``."""
    blocked = closed_folders(path)
    if blocked:
        raise UsageError(
            f"{what} ({path}) is out of reach of the people's servers, which run as their own OS users: "
            f"{', '.join(map(str, blocked))} {'is' if len(blocked) == 1 else 'are'} closed to other users. "
            f"Install itu-plan where everyone can read it (a virtual environment built from /usr/bin/python3, "
            f"e.g. under /opt), or open the way with chmod o+x"
        )


def find_proxy(install: bool = True) -> Path:
    """configurable-http-proxy: the one ``npm install`` put in the checkout's ``node_modules``
    (run it now when ``install`` and npm are there), else one on the PATH."""
    local = SOURCE / "node_modules" / ".bin" / "configurable-http-proxy"
    if not local.exists() and install and (SOURCE / "package.json").exists() and shutil.which("npm"):
        print(f"Installing configurable-http-proxy in {SOURCE} (npm install) ...", file=sys.stderr)
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=SOURCE,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise UsageError(f"npm install failed in {SOURCE}: {done.stderr.strip()[-500:]}")
    if local.exists():
        return local
    found = shutil.which("configurable-http-proxy")
    if found:
        return Path(found)
    raise UsageError(
        "configurable-http-proxy is missing: run `make proxy` (npm install) in the itu-plan checkout, "
        "or install it with npm"
    )


def publish_notebooks(source: Path, target: Path) -> list[str]:
    """Copy the notebooks of ``source`` into ``target``: owned by the user running the hub
    (root), read-only to everyone else; notebooks no longer in ``source`` are removed.
    The names copied."""
    target.mkdir(parents=True, exist_ok=True)
    target.chmod(0o755)
    names = sorted(p.name for p in source.glob("*.ipynb"))
    for stale in target.glob("*.ipynb"):
        if stale.name not in names:
            stale.unlink()
    for name in names:
        copy = target / name
        shutil.copyfile(source / name, copy)
        copy.chmod(0o644)
    return names


CONFIG_TEMPLATE = '''"""JupyterHub configuration written by `itu-plan hub`; rewritten at each start."""
from pathlib import Path

from itu_plan.hub import HubSettings
from itu_plan.hub_spawn import configure

configure(c, HubSettings.from_json(Path({settings!r}).read_text()))  # noqa: F821 - `c` is JupyterHub's
'''


def write_config(settings: HubSettings) -> Path:
    """Write ``settings.json`` and ``jupyterhub_config.py`` into the state folder (mode 0700)."""
    state = Path(settings.state)
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o700)
    (state / "settings.json").write_text(settings.to_json())
    config = state / "jupyterhub_config.py"
    config.write_text(CONFIG_TEMPLATE.format(settings=str(state / "settings.json")))
    return config


def hub_command(config: Path, python: str) -> list[str]:
    return [python, "-m", "jupyterhub", "-f", str(config)]


def check_workspace(url: str) -> list[tuple[str, str]]:
    """The workspace's users and roles, read with the hub's own connection; refuses a
    workspace without schema or without users (nobody could log in)."""
    from itu_plan import users
    from itu_plan.workspace import Workspace

    with Workspace.open(url) as workspace:
        workspace.require_schema()
        with workspace.reading() as session:
            listed = [(u.username, u.role) for u in users.list_users(session)]
    if not listed:
        raise UsageError(
            "the workspace has no users, so nobody could log in: add them first "
            "(itu-plan users add NAME --role ROLE), one per OS account"
        )
    return listed


def os_account(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def require_root() -> None:
    if os.geteuid() != 0:
        raise UsageError(
            "itu-plan hub runs as root: it checks passwords with PAM and starts each person's "
            "server as their own OS user"
        )


def postgres_bin() -> Path:
    """The PostgreSQL server programs: ``ITU_PLAN_PG_BIN``, else Debian's newest
    ``/usr/lib/postgresql/N/bin``, else the folder of ``pg_ctl`` on the PATH."""
    configured = os.environ.get(Env.PG_BIN)
    candidates = [Path(configured)] if configured else []
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    candidates += debian
    on_path = shutil.which("pg_ctl")
    candidates += [Path(on_path).parent] if on_path else []
    for folder in candidates:
        if (folder / "pg_ctl").exists():
            return folder
    raise UsageError("pg_ctl was not found: install PostgreSQL (apt-get install postgresql), or set ITU_PLAN_PG_BIN")


def bring_up_postgres(data: Path, database: Database) -> bool:
    """Start the PostgreSQL cluster in ``data`` as the OS user who owns it, with its socket in
    the workspace URL's socket folder and port, unless it runs already. True when started.

    The cluster is the administrator's (``initdb``, with ``local all all peer`` in its
    ``pg_hba.conf``); this only brings it up, and it stays up when the hub stops."""
    import pwd

    if not (data / "PG_VERSION").exists():
        raise UsageError(
            f"{data} holds no PostgreSQL cluster: create one first, e.g. "
            f"runuser -u postgres -- initdb -D {data} --auth-local=peer --auth-host=scram-sha-256"
        )
    owner = pwd.getpwuid(data.stat().st_uid).pw_name
    if owner == "root":
        raise UsageError(f"{data} belongs to root, and PostgreSQL does not run as root: chown it to postgres")
    pg_ctl = str(postgres_bin() / "pg_ctl")

    def as_owner(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["runuser", "-u", owner, "--", pg_ctl, *args], capture_output=True, text=True)

    if as_owner("status", "-D", str(data)).returncode == 0:
        return False
    socket_dir = Path(database.socket_dir)
    if not socket_dir.exists():
        socket_dir.mkdir(parents=True, mode=0o755)
        shutil.chown(socket_dir, owner)
    log = data / "itu-plan-hub-postgres.log"
    options = f"-k {database.socket_dir} -p {database.port}"
    started = as_owner("start", "-D", str(data), "-w", "-t", "60", "-l", str(log), "-o", options)
    if started.returncode != 0:
        raise UsageError(
            f"PostgreSQL in {data} did not start: {(started.stderr or started.stdout).strip()[-300:]} (see {log})"
        )
    return True
