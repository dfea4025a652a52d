"""The half of the JupyterHub deployment that runs inside JupyterHub and the single-user servers.

- :class:`WorkspaceAuthenticator`: PAM (the OS account's password); only the
  workspace's users may log in.
- :class:`WorkspaceSpawner`: each person's server as their own OS user, with the
  workspace's PostgreSQL in its environment; what it offers follows their role in
  the workspace's users table, read when the server starts:
  admins and planners get JupyterLab on their own copy of the notebooks;
  managers and reviewers get the Voilà apps and nothing else (the reviewer's apps
  are read-only because the role is, in itu_plan and in the database).
- :class:`AppsOnlyAuthorizer`: inside an apps-only server, lets through Voilà's
  own pages and the page's kernel websocket, and refuses every other API.

Imported by the configuration that ``itu-plan hub`` writes, and by the apps-only
servers (``--ServerApp.authorizer_class``); never by the rest of itu_plan.
"""

from __future__ import annotations

import asyncio
import pwd
import shutil
import sys
from pathlib import Path
from typing import Any

from jupyterhub.auth import PAMAuthenticator
from jupyterhub.singleuser.extension import JupyterHubAuthorizer
from jupyterhub.spawner import LocalProcessSpawner
from tornado import web

from itu_plan.apps import JUPYTER_DATA, LAB_CONFIG, UNUSED_EXTENSIONS, VOILA_TEMPLATE
from itu_plan.env import Env
from itu_plan.hub import APP_MESSAGE_TYPES, LAB_ROLES, HubSettings

#: Server extensions an apps-only server switches off (those installed with itu-plan and its
#: extras); Voilà's stays on, and so does JupyterHub's own, which does the login.
LOCKED_OUT_EXTENSIONS = (
    "jupyterlab",
    "notebook",
    "notebook_shim",
    "nbclassic",
    "jupyter_lsp",
    "jupyter_server_terminals",
    "jupyter_server_ydoc",
    "jupyter_collaboration",
    "jupyter_server_fileid",
)
#: Where a planner's own copy of the notebooks goes, in their home folder.
PERSONAL_NOTEBOOKS = "itu-plan-notebooks"


def workspace_role(url: str, username: str) -> str | None:
    """The role of ``username`` in the workspace's users table, None when they are not a user."""
    from itu_plan import users
    from itu_plan.workspace import Workspace

    with Workspace.open(url) as workspace, workspace.reading() as session:
        for user in users.list_users(session):
            if user.username == username:
                return user.role
    return None


class WorkspaceAuthenticator(PAMAuthenticator):
    """PAM passwords; a person who is not a user of the workspace is refused at login."""

    workspace_url = ""

    async def check_allowed(self, username: str, authentication: Any = None) -> bool:
        role = await asyncio.to_thread(workspace_role, self.workspace_url, username)
        if role is None:
            self.log.warning("%s logged in with PAM but is not a user of the workspace", username)
        return role is not None


class WorkspaceSpawner(LocalProcessSpawner):
    """A single-user server as the person's OS user, shaped by their workspace role."""

    settings: HubSettings | None = None

    async def start(self) -> Any:
        settings = self.settings
        assert settings is not None, "configure() sets the spawner's settings"
        name = self.user.name
        role = await asyncio.to_thread(workspace_role, settings.workspace_url, name)
        if role is None:
            raise web.HTTPError(403, f"{name} is not a user of this workspace; ask an admin to add them")
        try:
            home = Path(pwd.getpwnam(name).pw_dir)
        except KeyError:
            raise web.HTTPError(403, f"{name} has no OS account on this machine") from None
        self.environment = server_environment(settings, name)  # afresh: a role may have changed
        self.cmd = [settings.python, "-m", "jupyterhub.singleuser"]
        if role in LAB_ROLES:
            await asyncio.to_thread(personal_notebooks, Path(settings.apps), home, name)
            self.notebook_dir = str(home)
            self.default_url = f"/lab/tree/{PERSONAL_NOTEBOOKS}/index.ipynb"
            self.args = lab_arguments()
            self.environment[Env.JUPYTER_CONFIG_PATH] = str(LAB_CONFIG)
        else:
            self.notebook_dir = settings.apps
            self.default_url = "/voila/render/index.ipynb"
            self.args = apps_only_arguments()
        self.log.info("Starting the %s server of %s (%s)", "JupyterLab" if role in LAB_ROLES else "apps-only",
                      name, role)  # fmt: skip
        return await super().start()


def server_environment(settings: HubSettings, username: str) -> dict[str, str]:
    """The environment of a person's server and kernels: the workspace over the socket, the
    acting user (their own name), the apps' template first on ``JUPYTER_PATH``."""
    env = settings.database.environment()
    env[Env.USER] = username
    env[Env.NOTEBOOKS] = settings.apps
    env[Env.REFRESH_SECONDS] = str(settings.refresh_seconds)
    env[Env.JUPYTER_PATH] = str(JUPYTER_DATA)
    return env


def personal_notebooks(published: Path, home: Path, username: str) -> None:
    """Give a planner their own copy of the published notebooks in their home folder, once:
    notebooks they already have are theirs and are left alone."""
    target = home / PERSONAL_NOTEBOOKS
    account = pwd.getpwnam(username)
    if not target.exists():
        target.mkdir(mode=0o700)
        shutil.chown(target, account.pw_uid, account.pw_gid)
    for notebook in sorted(published.glob("*.ipynb")):
        copy = target / notebook.name
        if not copy.exists():
            shutil.copyfile(notebook, copy)
            copy.chmod(0o600)
            shutil.chown(copy, account.pw_uid, account.pw_gid)


def voila_arguments() -> list[str]:
    """The Voilà server extension set up as ``itu-plan serve`` sets up Voilà."""
    return [
        f"--VoilaConfiguration.template={VOILA_TEMPLATE}",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.show_tracebacks=False",
        *(f"--VoilaConfiguration.extension_denylist={name}" for name in UNUSED_EXTENSIONS),
        "--MappingKernelManager.cull_idle_timeout=600",
        "--MappingKernelManager.cull_interval=60",
        "--MappingKernelManager.cull_connected=True",
    ]


def lab_arguments() -> list[str]:
    """JupyterLab as ``itu-plan lab`` has it (no news fetched, no update looked for), and the apps."""
    return [
        *voila_arguments(),
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]


def apps_only_arguments() -> list[str]:
    """A server that shows the Voilà apps and nothing else: no Lab, no terminals, every API
    but the page's kernel websocket refused, and no kernel message that runs code."""
    extensions = {name: False for name in LOCKED_OUT_EXTENSIONS} | {"voila.server_extension": True}
    allowed = "[" + ",".join(f'"{name}"' for name in APP_MESSAGE_TYPES) + "]"
    return [
        *voila_arguments(),
        "--ServerApp.jpserver_extensions=" + _python_dict(extensions),
        "--ServerApp.terminals_enabled=False",
        f"--ServerApp.authorizer_class={AppsOnlyAuthorizer.__module__}.{AppsOnlyAuthorizer.__qualname__}",
        f"--MappingKernelManager.allowed_message_types={allowed}",
    ]


def _python_dict(values: dict[str, bool]) -> str:
    return "{" + ",".join(f'"{k}":{v}' for k, v in values.items()) + "}"


class AppsOnlyAuthorizer(JupyterHubAuthorizer):
    """Inside an apps-only server: Voilà's pages and its own handlers (render, tree,
    static files, kernel shutdown), and reading or executing over the kernel websocket of a
    page; contents, sessions, kernel specs, starting kernels and every other API: 403."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        if not super().is_authorized(handler, user, action, resource):
            return False
        if type(handler).__module__.split(".")[0] == "voila":
            return True
        allowed = resource == "kernels" and action in ("read", "execute")
        if not allowed:
            self.log.warning("apps-only server: refused %s on %s (%s)", action, resource, type(handler).__name__)
        return allowed


def configure(c: Any, settings: HubSettings) -> None:
    """Fill JupyterHub's configuration ``c`` for ``settings`` (the file ``itu-plan hub`` writes)."""
    state = Path(settings.state)
    c.JupyterHub.ip = settings.ip
    c.JupyterHub.port = settings.port
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = settings.hub_port
    c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
    c.JupyterHub.cleanup_servers = True
    c.JupyterHub.shutdown_on_logout = True
    if settings.ssl_cert:
        c.JupyterHub.ssl_cert = settings.ssl_cert
        c.JupyterHub.ssl_key = settings.ssl_key
    c.ConfigurableHTTPProxy.command = [settings.proxy]
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings.proxy_api_port}"
    c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")

    WorkspaceAuthenticator.workspace_url = settings.workspace_url
    c.JupyterHub.authenticator_class = WorkspaceAuthenticator
    c.PAMAuthenticator.open_sessions = False
    # nobody is a JupyterHub admin: a hub admin could open anyone's server, and act as them
    c.Authenticator.admin_users = set()

    WorkspaceSpawner.settings = settings
    c.JupyterHub.spawner_class = WorkspaceSpawner
    c.Spawner.disable_user_config = True  # no ~/.jupyter config can switch the lockdown off
    c.Spawner.env_keep = ["PATH", "PYTHONPATH", "LANG", "LC_ALL"]
    c.Spawner.start_timeout = 120
    c.Spawner.http_timeout = 120


if __name__ == "__main__":  # pragma: no cover
    sys.exit("itu_plan.hub_spawn is loaded by JupyterHub; run `itu-plan hub`")
